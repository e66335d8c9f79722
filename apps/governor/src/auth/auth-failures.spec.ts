import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GovernorConfig } from '../config/governor.config';
import { AuthFailures } from './auth-failures';

const limiter = (limit: number, windowMs: number) => new AuthFailures({ authFailures: { limit, windowMs } } as GovernorConfig);

describe('failed authentications per client', () => {
  it('lets a client fail up to the limit, then refuses it until its oldest failure leaves the window', () => {
    const failures = limiter(3, 60_000);
    for (const at of [0, 10_000, 20_000]) {
      assert.equal(failures.retryAfterSeconds('a', at), 0);
      failures.record('a', at);
    }
    assert.equal(failures.retryAfterSeconds('a', 20_000), 40);
    assert.equal(failures.retryAfterSeconds('a', 59_500), 1);
    assert.equal(failures.retryAfterSeconds('a', 60_001), 0, 'the first failure has left the window');
    assert.equal(failures.retryAfterSeconds('b', 20_000), 0, 'another client is not affected');
  });

  it('keeps only the last failures a decision needs', () => {
    const failures = limiter(2, 1000);
    for (let at = 0; at < 100; at++) failures.record('a', at);
    assert.equal(failures.retryAfterSeconds('a', 100), 1);
    assert.equal(failures.retryAfterSeconds('a', 1099), 0);
  });
});
