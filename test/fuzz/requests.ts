import { gzipSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';

/** One operation of the served OpenAPI document. */
export interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
}

/** The operations of an OpenAPI 3 document, as the fuzzer needs them. */
export function operationsOf(doc: { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const parameters = op.parameters ?? [];
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => p.name),
      });
    }
  }
  return operations;
}

/** What exists while the fuzzer runs: names and ids a request may hit, so that handlers get past "not found". */
export interface Pools {
  tenants: string[];
  workloadIds: string[];
  keyIds: string[];
  adminTokenIds: string[];
  quotaRequestIds: string[];
  /** Authorization header values: root first, then other admins; the first tenant key is never revoked */
  admins: string[];
  tenantKeys: string[];
  /** pids the fuzzer may attach: its own sacrificial processes only, never a process of the machine */
  sacrificialPids: number[];
}

export interface FuzzRequest {
  method: string;
  /** the path with its parameters filled in, already percent-encoded */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** the operation it came from, for the report */
  operation: string;
}

// Values that have broken HTTP services before: traversal, encodings, NUL, overlong UTF-8, huge text.
const NASTY_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '..%2f..%2fetc',
  '%00',
  'a%00b',
  '%zz',
  '%',
  '%c0%ae',
  '%ef%bf%bf',
  '%f0%9f%92%a9',
  '%20',
  'A'.repeat(300),
  '-1',
  '0',
  'null',
];
const NASTY_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202e',
  '\ud800',
  '../../etc/passwd',
  '<script>',
  "'; DROP TABLE tenants; --",
  'max',
  '-1',
  '1e309',
  'NaN',
];

const text = (pool: string[]) =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, fc.constantFrom(...NASTY_TEXT), fc.string({ maxLength: 40, unit: 'binary' }));

const size = fc.oneof(
  fc.constantFrom('512Mi', '1Gi', '0', 'max', '64Mi', '1.5Gi', '16Ei', '512MiB', '1e3', '-1', ' 1Gi'),
  fc.integer({ min: -2, max: 2 ** 40 }),
  fc.double(),
  fc.constant(null),
);
const cores = fc.oneof(fc.constantFrom('0.5', '1.5', 'max', '0', '4097', '0.00001', '1,5'), fc.double({ min: -1, max: 5000 }), fc.constant(null));
const duration = fc.oneof(fc.constantFrom('100ms', '1s', '20ms', '0s', '1m', '1.5ms', '10', '99999999d'), fc.string({ maxLength: 8 }), fc.constant(null));
const count = fc.oneof(fc.integer({ min: -5, max: 2 ** 33 }), fc.constantFrom('max', '256', 1.5), fc.constant(null));
const rate = fc.oneof(fc.constantFrom('100Mbit', '1Gbit', 'max', '100', '1bit', '5Tbit'), fc.integer({ min: -1, max: 2 ** 40 }), fc.constant(null));
const cpuList = fc.oneof(fc.constantFrom('0', '0-1', '1,0', '0-4096', '', 'x'), fc.constant(null));

/** A quota or a merge patch of one: mostly well-formed shapes with values near and past every bound. */
const quota = fc.record(
  {
    cpu: fc.oneof(fc.record({ max: cores, period: duration, weight: count, burst: duration }, { requiredKeys: [] }), fc.constant(null)),
    memory: fc.oneof(fc.record({ max: size, high: size, low: size, min: size, swapMax: size }, { requiredKeys: [] }), fc.constant(null)),
    pids: fc.oneof(fc.record({ max: count }, { requiredKeys: [] }), fc.constant(null)),
    io: fc.record(
      {
        weight: count,
        limits: fc.oneof(
          fc.array(
            fc.record(
              { device: fc.constantFrom('8:0', '259:0', '0:0', 'x', '8:0:0'), rbps: size, wbps: size, riops: count, wiops: count },
              { requiredKeys: ['device'] },
            ),
            { maxLength: 3 },
          ),
          fc.constant(null),
        ),
      },
      { requiredKeys: [] },
    ),
    cpuset: fc.record({ cpus: cpuList, mems: cpuList }, { requiredKeys: [] }),
    // outside: true would turn on the host's IP forwarding, which is not the fuzzer's to change on a shared machine.
    network: fc.record({ ingress: rate, egress: rate, outside: fc.constantFrom(false, null, 'yes') }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

/** Commands the fuzzer may start: harmless ones, and ones that cannot start. Never a random binary. */
const command = fc.oneof(
  fc.constant(['/bin/true']),
  fc.constant(['/bin/sleep', '1']),
  fc.constant(['/bin/sh', '-c', 'echo fuzz; exit 3']),
  fc.constant(['/nonexistent/fuzz']),
  fc.constant(['relative']),
  fc.constant([]),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }).map((args) => ['/bin/true', ...args]),
  fc.constant('/bin/true'),
);

function bodyFor(op: Operation, pools: Pools): fc.Arbitrary<unknown> {
  const name = text(pools.tenants);
  const specific: Record<string, fc.Arbitrary<unknown>> = {
    'POST /v1/tenants': fc.record(
      { name, displayName: text(['Fuzz Inc']), quota, nodes: fc.array(text(['node-a']), { maxLength: 2 }) },
      { requiredKeys: ['name'] },
    ),
    'PATCH /v1/tenants/{name}': fc.record(
      {
        quota,
        displayName: fc.oneof(text(['x']), fc.constant(null)),
        nodes: fc.constantFrom([], null, ['x']),
        suspended: fc.constantFrom(true, false, null, 'no'),
      },
      { requiredKeys: [] },
    ),
    'POST /v1/tenants/{name}/plan': fc.record({ quota, suspended: fc.boolean() }, { requiredKeys: [] }),
    'POST /v1/tenants/{name}/processes': fc.record({
      pid: fc.oneof(fc.constantFrom(...pools.sacrificialPids), fc.constantFrom(0, 1, -1, 1.5, 2 ** 31, 4_194_305, '1', null)),
    }),
    'POST /v1/tenants/{name}/workloads': fc.record(
      {
        command,
        env: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
        cwd: fc.constantFrom('/', '/tmp', 'rel', '/nonexistent'),
        quota,
      },
      { requiredKeys: ['command'] },
    ),
    'POST /v1/tenants/{name}/keys': fc.record(
      {
        name: text(['portal', 'ci']),
        expiresIn: fc.constantFrom('30d', '1m', '367d', '0s', 'x'),
        expiresAt: fc.constantFrom('2031-01-01T00:00:00Z', 'yesterday'),
      },
      { requiredKeys: [] },
    ),
    'POST /v1/admin-tokens': fc.record(
      { name: text(['deployer', 'root']), expiresAt: fc.constantFrom('2031-01-01T00:00:00Z', '2001-01-01T00:00:00Z', 5) },
      { requiredKeys: [] },
    ),
    'POST /v1/quota-requests/{id}/approve': fc.record({ reason: text(['ok']) }, { requiredKeys: [] }),
    'POST /v1/quota-requests/{id}/reject': fc.record({ reason: text(['no']) }, { requiredKeys: [] }),
    'POST /v1/me/quota-requests': fc.record({ quota, reason: text(['more please']) }, { requiredKeys: [] }),
  };
  specific['POST /v1/me/workloads'] = specific['POST /v1/tenants/{name}/workloads'];
  return specific[`${op.method} ${op.path}`] ?? fc.jsonValue({ maxDepth: 4 });
}

/** Bytes on the wire: the JSON of a value, or what no JSON parser should accept. */
function wire(body: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer | undefined> {
  return fc.oneof(
    { weight: 12, arbitrary: body.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((depth) => Buffer.from(`${'{"quota":'.repeat(depth)}1${'}'.repeat(depth)}`)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60, unit: 'binary' }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('{"a":"\\u0000"}', '{"name":"\\ud800"}', '{"__proto__":{"x":1}}', '{"quota":{"__proto__":null}}', '1e999', '"', '{}{}')
        .map((s) => Buffer.from(s)),
    },
  );
}

const ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'compress', 'zstd', 'gzip, gzip', 'GZIP', 'x-gzip'];

function encoded(body: Buffer | undefined, encoding: string | undefined, corrupt: boolean): Buffer | undefined {
  if (body === undefined || encoding === undefined || corrupt) return body;
  if (encoding.toLowerCase() === 'gzip') return gzipSync(body);
  if (encoding.toLowerCase() === 'deflate') return deflateSync(body);
  return body;
}

function segment(op: Operation, param: string, pools: Pools): fc.Arbitrary<string> {
  const pool =
    param === 'name'
      ? op.path.startsWith('/v1/nodes')
        ? ['node-a']
        : pools.tenants
      : op.path.includes('/workloads')
        ? pools.workloadIds
        : op.path.includes('/keys')
          ? pools.keyIds
          : op.path.includes('/admin-tokens')
            ? pools.adminTokenIds
            : pools.quotaRequestIds;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...(pool.length > 0 ? pool : ['none'])).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }).map(encodeURIComponent) },
  );
}

const QUERY_VALUES: Record<string, string[]> = {
  limit: ['1', '50', '500', '0', '501', '-1', '1.5', 'ten', '99999999999999999999'],
  cursor: ['YWNtZQ', '!!', 'x'.repeat(300), 'MQ'],
  grace: ['0s', '10s', '1.5s', '10m', '11m', '99999d', 'x', '-1s'],
  tail: ['1', '100', '10000', '10001', '0', 'x'],
  stream: ['stdout', 'stderr', 'both', 'all'],
  force: ['true', 'false', 'yes'],
  state: ['pending', 'approved', 'rejected', 'withdrawn', 'x'],
  target: ['tenants/fz-a', 'x', ''],
};

function query(op: Operation): fc.Arbitrary<string> {
  const params = [...op.queryParams, 'unknown'];
  return fc
    .array(
      fc.tuple(
        fc.constantFrom(...params),
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(QUERY_VALUES[op.queryParams[0]] ?? ['x'])) }, fc.string({ maxLength: 12, unit: 'binary' })),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`));
}

/** One request against one operation of the document: path, query, headers, encoding and body. */
export function requestArbitrary(operations: Operation[], pools: Pools): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...operations).chain((op) =>
    fc
      .record({
        segments: fc.tuple(...op.pathParams.map((param) => segment(op, param, pools)), fc.constant('')),
        query: query(op),
        method: fc.oneof({ weight: 20, arbitrary: fc.constant(op.method) }, fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD')),
        auth: fc.oneof(
          { weight: 10, arbitrary: fc.constant(pools.admins[0]) },
          { weight: 1, arbitrary: fc.constantFrom(...pools.admins) },
          { weight: op.path.startsWith('/v1/me') ? 10 : 1, arbitrary: fc.constant(pools.tenantKeys[0]) },
          { weight: op.path.startsWith('/v1/me') ? 3 : 1, arbitrary: fc.constantFrom(...pools.tenantKeys) },
          { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer gva_AAAAAAAAAAAA_' + 'A'.repeat(43), 'Basic cm9vdA==', 'Bearer \u00ff') },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        contentType: fc.oneof(
          { weight: 10, arbitrary: fc.constant('application/json') },
          fc.constantFrom(
            'application/merge-patch+json',
            'text/plain',
            'application/json; charset=latin1',
            'application/json; charset=utf-8',
            'multipart/form-data',
            '',
          ),
          fc.constant(undefined),
        ),
        encoding: fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, fc.constantFrom(...ENCODINGS)),
        corrupt: fc.boolean(),
        extraHeaders: fc.dictionary(
          fc.constantFrom('If-Match', 'Idempotency-Key', 'X-Forwarded-For', 'Accept', 'X-Request-Id', 'Accept-Encoding', 'Range'),
          fc.oneof(fc.constantFrom('"1"', '*', 'fuzz-key-1', '203.0.113.7, 10.0.0.1', 'application/xml', 'bytes=0-1'), fc.string({ maxLength: 30 })),
          { maxKeys: 3 },
        ),
        body: wire(bodyFor(op, pools)),
      })
      .map(({ segments, query: q, method, auth, contentType, encoding, corrupt, extraHeaders, body }) => {
        let path = op.path;
        op.pathParams.forEach((param, i) => (path = path.replace(`{${param}}`, segments[i])));
        const headers: Record<string, string> = {};
        // Header values must be Latin-1 without control characters, or Node refuses to send them at all.
        for (const [key, value] of Object.entries(extraHeaders)) if (/^[\x20-\x7e]*$/.test(value)) headers[key] = value;
        if (auth !== undefined && /^[\x20-\x7e\u00a0-\u00ff]*$/.test(auth)) headers.Authorization = auth;
        if (contentType !== undefined) headers['Content-Type'] = contentType;
        if (encoding !== undefined) headers['Content-Encoding'] = encoding;
        const sendsBody = method !== 'GET' && method !== 'HEAD' && body !== undefined;
        return {
          method,
          path: `${path}${q}`,
          headers,
          body: sendsBody ? encoded(body, encoding, corrupt) : undefined,
          operation: `${op.method} ${op.path}`,
        };
      }),
  );
}
