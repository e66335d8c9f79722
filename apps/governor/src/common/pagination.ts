import { ValidationError } from '../../../../libs/domain/src/errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** `?limit=`: 1 to 500, default 50. */
export function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  const limit = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
    throw new ValidationError([{ path: 'limit', message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}; got ${JSON.stringify(value)}` }]);
  }
  return limit;
}

/**
 * Cursors are opaque to clients: the key of the last item returned, base64url-encoded. A cursor that does
 * not decode to a key of the right shape was not issued by this API and is a 400, never a 500.
 */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(value: unknown, isKey: (key: string) => boolean): string | undefined {
  if (value === undefined) return undefined;
  const key = typeof value === 'string' && /^[A-Za-z0-9_-]{1,200}$/.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
  if (!isKey(key) || encodeCursor(key) !== value) {
    throw new ValidationError([
      { path: 'cursor', message: 'is not a cursor this API issued; pass the nextCursor of the previous page, or omit it to start at the beginning' },
    ]);
  }
  return key;
}

/** Cuts a page fetched with limit + 1 rows into the page and its next cursor. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null };
}
