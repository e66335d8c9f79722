import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialCache } from './credential.cache';
import type { Principal } from './principal';

const alice: Principal = { kind: 'admin', tokenId: '7d0c2a64-1f7e-4d3b-9a53-0c1f8f0f3b11', name: 'alice' };

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('CredentialCache', () => {
  it('believes a verified token until its TTL has passed, then asks again', () => {
    const time = clock();
    const cache = new CredentialCache(5000, time.now);
    cache.remember('k', alice, null, cache.epoch);
    time.advance(4999);
    assert.deepEqual(cache.lookup('k'), alice);
    time.advance(1);
    assert.equal(cache.lookup('k'), undefined);
  });

  it('stops believing a token at its own expiry when that comes before the TTL', () => {
    const time = clock();
    const cache = new CredentialCache(5000, time.now);
    cache.remember('k', alice, new Date(time.now() + 1000), cache.epoch);
    time.advance(999);
    assert.deepEqual(cache.lookup('k'), alice);
    time.advance(1);
    assert.equal(cache.lookup('k'), undefined);
  });

  it('forgets every token on a revocation', () => {
    const cache = new CredentialCache(5000);
    cache.remember('k', alice, null, cache.epoch);
    cache.forgetAll();
    assert.equal(cache.lookup('k'), undefined);
  });

  it('drops a verification that began before a revocation and ended after it', () => {
    const cache = new CredentialCache(5000);
    const epoch = cache.epoch; // the row is read here, before the revocation commits
    cache.forgetAll();
    cache.remember('k', alice, null, epoch);
    assert.equal(cache.lookup('k'), undefined);
  });

  it('keeps nothing with a TTL of 0', () => {
    const cache = new CredentialCache(0);
    cache.remember('k', alice, null, cache.epoch);
    assert.equal(cache.lookup('k'), undefined);
  });
});
