import { Inject, Injectable } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';

/** How many clients are tracked at most: a flood of addresses evicts the oldest instead of growing memory. */
const MAX_CLIENTS = 100_000;

/**
 * Failed authentications per key (a client, or the lookup id of a credential) in a sliding window. Once
 * a key has used up its failures, its further failures answer 429 with Retry-After until its oldest
 * failure leaves the window. The guard asks only after a credential failed: a valid one is never refused,
 * so a flood of bad tokens from a shared address (a proxy, a NAT) cannot lock the admin out.
 */
@Injectable()
export class AuthFailures {
  private readonly failures = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(@Inject(GOVERNOR_CONFIG) config: GovernorConfig) {
    this.limit = config.authFailures.limit;
    this.windowMs = config.authFailures.windowMs;
  }

  /** Seconds until the key may fail again without being refused, or 0 when it may now. */
  retryAfterSeconds(client: string, now = Date.now()): number {
    const times = this.recent(client, now);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[times.length - this.limit] + this.windowMs - now) / 1000));
  }

  record(client: string, now = Date.now()): void {
    const times = this.recent(client, now);
    times.push(now);
    // Re-insert so that the map's order is least recently failed first, for eviction.
    this.failures.delete(client);
    this.failures.set(client, times.slice(-this.limit));
    if (this.failures.size > MAX_CLIENTS) this.failures.delete(this.failures.keys().next().value as string);
  }

  private recent(client: string, now: number): number[] {
    const times = (this.failures.get(client) ?? []).filter((at) => at > now - this.windowMs);
    if (times.length === 0) this.failures.delete(client);
    return times;
  }
}
