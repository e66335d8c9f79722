import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Ajv, { type ValidateFunction } from 'ajv';

/** A response the service sent, with the route template Express matched it to. */
export interface SeenResponse {
  method: string;
  /** e.g. /v1/tenants/{name}; undefined when no route of Express matched */
  path: string | undefined;
  /** the request's path without its query: the route of an answer Express did not give (TenantReadFastPath's) is found from it */
  url: string;
  status: number;
  contentType: string;
  body: string;
}

/**
 * Records every response of a server: its route (read from Express after routing), status, type and
 * body. Installed on the HTTP server itself, ahead of Express, so that it sees what clients see.
 */
export function recordResponses(server: Server, seen: SeenResponse[] = []): SeenResponse[] {
  server.prependListener('request', (req: IncomingMessage & { route?: { path?: unknown } }, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const keep = (chunk: unknown) => {
      if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
      else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return write(chunk, ...rest);
    }) as ServerResponse['write'];
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') keep(chunk);
      return end(chunk, ...rest);
    }) as ServerResponse['end'];
    res.on('finish', () => {
      const template = typeof req.route?.path === 'string' ? req.route.path.replace(/:(\w+)/g, '{$1}') : undefined;
      seen.push({
        method: (req.method ?? 'GET').toLowerCase(),
        path: template,
        url: (req.url ?? '').split('?')[0],
        status: res.statusCode,
        contentType: String(res.getHeader('content-type') ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
      });
    });
  });
  return seen;
}

type Schema = Record<string, unknown>;
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }>>;
  components?: { schemas?: Record<string, Schema> };
}

/**
 * OpenAPI 3.0 schema → JSON Schema for ajv: `nullable: true` becomes a union with null, and
 * `#/components/…` references point into the document registered under the id "openapi".
 */
function toJsonSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonSchema);
  if (typeof value !== 'object' || value === null) return value;
  const out: Schema = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '$ref' && typeof item === 'string') out.$ref = item.replace(/^#/, 'openapi#');
    else if (key !== 'nullable' && key !== 'example') out[key] = toJsonSchema(item);
  }
  return (value as Schema).nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

export interface ResponseCheck {
  validated: number;
  /** responses whose route and status the document declares no JSON schema for (204s, text, no route) */
  undocumented: number;
  mismatches: string[];
}

/** Validates every recorded JSON response against the schema the document declares for its route and status. */
export function checkResponses(doc: OpenApiDocument, seen: SeenResponse[]): ResponseCheck {
  // Formats (uuid, date-time) are documentation here; the shapes and types are what clients rely on.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'openapi', components: toJsonSchema(doc.components ?? {}) });
  const validators = new Map<Schema, ValidateFunction>();
  const result: ResponseCheck = { validated: 0, undocumented: 0, mismatches: [] };
  for (const response of seen) {
    const path = response.path ?? templateOf(doc, response.url, response.status);
    const operation = path === undefined ? undefined : doc.paths[path]?.[response.method];
    // A declared status first; otherwise the operation's default (its errors, as problem+json).
    const mediaType = response.contentType.split(';')[0].trim();
    const declared = operation?.responses?.[String(response.status)] ?? operation?.responses?.default;
    const schema = declared?.content?.[mediaType]?.schema;
    if (schema === undefined || !/json/.test(mediaType)) {
      result.undocumented += 1;
      continue;
    }
    let validate = validators.get(schema);
    if (validate === undefined) {
      validate = ajv.compile(toJsonSchema(schema) as Schema);
      validators.set(schema, validate);
    }
    result.validated += 1;
    if (!validate(JSON.parse(response.body) as unknown)) {
      const where = `${response.method.toUpperCase()} ${path} ${response.status}`;
      result.mismatches.push(`${where}: ${ajv.errorsText(validate.errors)} in ${response.body.slice(0, 300)}`);
    }
  }
  return result;
}

/**
 * The document's path template of a URL answered without Express's router (the GET fast path's 200s), so
 * that those answers are checked too; a 404 with no route stays unmatched, as Express leaves it.
 */
function templateOf(doc: OpenApiDocument, url: string, status: number): string | undefined {
  if (status === 404) return undefined;
  return Object.keys(doc.paths).find((template) => new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(url));
}
