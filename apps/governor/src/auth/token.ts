import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Issued tokens read `<prefix>_<lookup id>_<secret>`. The lookup id finds the row; the secret is then
 * compared in constant time against a SHA-256 kept in the row, so the database index never sees the
 * secret and a timing difference never tells how much of it was right.
 */
export interface IssuedToken {
  token: string;
  lookupId: string;
  secretHash: Buffer;
}

const LOOKUP_BYTES = 9; // 12 base64url characters
const SECRET_BYTES = 32; // 256 bits

export function issueToken(prefix: 'gva' | 'gvt'): IssuedToken {
  const lookupId = randomBytes(LOOKUP_BYTES).toString('base64url');
  const token = `${prefix}_${lookupId}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { token, lookupId, secretHash: hashToken(token) };
}

/** The lookup id of a token in the issued format, or undefined for any other string. */
export function lookupIdOf(token: string, prefix: 'gva' | 'gvt'): string | undefined {
  const match = new RegExp(`^${prefix}_([A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$`).exec(token);
  return match?.[1];
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function tokenMatches(token: string, secretHash: Buffer): boolean {
  const presented = hashToken(token);
  return presented.length === secretHash.length && timingSafeEqual(presented, secretHash);
}

/** The bearer token of an Authorization header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
