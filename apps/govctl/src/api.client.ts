import { ApiError, ConnectionError, toProblem } from './cli.errors';
import type { Connection } from './config.store';

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
  /** answers text instead of parsing JSON */
  text?: boolean;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A small client of the v1 API: bearer auth, JSON in and out, every error as an ApiError or ConnectionError. */
export class GovernorClient {
  constructor(readonly connection: Connection) {}

  /** Tenant keys (gvt_…) reach /v1/me only; admin tokens reach the rest. */
  get isTenantKey(): boolean {
    return this.connection.token.startsWith('gvt_');
  }

  async get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return (await this.request<T>('GET', path, { query })).body;
  }

  async post<T>(path: string, body?: unknown, query?: RequestOptions['query']): Promise<T> {
    return (await this.request<T>('POST', path, { body: body ?? {}, query })).body;
  }

  async delete<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return (await this.request<T>('DELETE', path, { query })).body;
  }

  /** Every page of a paginated collection (`{items, nextCursor}`). */
  async all<T>(path: string, query: RequestOptions['query'] = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await this.get<{ items: T[]; nextCursor?: string | null }>(path, { ...query, limit: 500, ...(cursor ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = new URL(path.replace(/^\//, ''), this.connection.server.endsWith('/') ? this.connection.server : `${this.connection.server}/`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { Authorization: `Bearer ${this.connection.token}`, Accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ConnectionError(`cannot reach ${this.connection.server}: ${reasonOf(err)}`);
    }
    const text = await res.text();
    if (!res.ok) throw new ApiError(toProblem(res.status, res.statusText, text));
    if (options.text) return { status: res.status, headers: res.headers, body: text as T };
    return { status: res.status, headers: res.headers, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }
}

/** fetch hides the socket error in `cause`; say ECONNREFUSED rather than "fetch failed". */
function reasonOf(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return cause.message && !cause.message.includes(cause.code) ? `${cause.code} (${cause.message})` : (cause.message ?? cause.code);
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** A path segment from user input (a tenant name, an id), so that it can never climb out of its route. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
