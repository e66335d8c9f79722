import type { Principal } from './principal';

/** The channel a revocation is announced on, so that every replica forgets what it had verified. */
export const CREDENTIALS_CHANNEL = 'governor_credentials';
/** Entries kept at most: a flood of distinct valid tokens cannot grow the map without bound. */
const MAX_ENTRIES = 4096;

interface Entry {
  principal: Principal;
  /** when this entry stops being believed: the TTL, or the token's own expiry when that comes first */
  until: number;
}

/**
 * Admin tokens already verified against their row (SHA-256 of the secret, not revoked, not expired), keyed
 * by the SHA-256 of the token, so that a read does not cost a round trip to PostgreSQL for its token.
 * `forgetAll` runs on every revocation: at once on the replica that revoked, on the others when the NOTIFY
 * on CREDENTIALS_CHANNEL arrives (and whenever the listener reconnects, since it may have missed one); the
 * TTL bounds what a missed NOTIFY could cost. A verification that started before a `forgetAll` is not kept:
 * its row may have been read before the revocation committed.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Pass to `remember`: an entry verified before a later `forgetAll` is dropped. */
  get epoch(): number {
    return this.generation;
  }

  lookup(key: string): Principal | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  remember(key: string, principal: Principal, expiresAt: Date | null, epoch: number): void {
    if (this.ttlMs === 0 || epoch !== this.generation) return;
    const now = this.now();
    const until = Math.min(now + this.ttlMs, expiresAt === null ? Infinity : expiresAt.getTime());
    if (until <= now) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { principal, until });
  }

  forgetAll(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
