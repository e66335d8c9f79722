import { problemMessage, type ProblemMessage } from '../format';

/** A failed call, with what a person should read about it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemMessage,
  ) {
    super(problem.headline);
    this.name = 'ApiError';
  }
}

/** The governor API on this origin, called with one bearer key. */
export class Api {
  constructor(
    private readonly key: string,
    /** called when the key stops working (revoked, expired): the page signs out */
    private readonly onUnauthorized: (error: ApiError) => void = () => undefined,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.json<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.json<T>('DELETE', path);
  }

  async text(path: string): Promise<string> {
    return (await this.call('GET', path, undefined, 'text/plain')).text();
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body, 'application/json');
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  private async call(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.key}`, Accept: `${accept}, application/problem+json` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, { headline: `The governor could not be reached: ${err instanceof Error ? err.message : String(err)}`, fields: [] });
    }
    if (res.ok) return res;
    const type = res.headers.get('Content-Type') ?? '';
    const parsed: unknown = /json/.test(type) ? await res.json().catch(() => undefined) : undefined;
    const error = new ApiError(res.status, problemMessage(res.status, parsed));
    if (res.status === 401) this.onUnauthorized(error);
    throw error;
  }
}

export function isApiError(err: unknown, status?: number): err is ApiError {
  return err instanceof ApiError && (status === undefined || err.status === status);
}
