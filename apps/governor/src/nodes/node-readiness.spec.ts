import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReady, readinessOf, targetNodes } from './node-readiness';

describe('node readiness', () => {
  const now = Date.parse('2030-01-01T00:10:00Z');
  const ago = (ms: number) => new Date(now - ms);

  it('is Ready up to two heartbeat intervals, NotReady after', () => {
    assert.equal(isReady(ago(20_000), 10_000, now), true);
    assert.equal(isReady(ago(20_001), 10_000, now), false);
    assert.equal(isReady(ago(1_500), 1_000, now), true);
    assert.equal(isReady(ago(2_500), 1_000, now), false);
  });

  it('takes a node five minutes without a heartbeat as gone', () => {
    assert.equal(readinessOf({ name: 'a', heartbeatAt: ago(299_000), heartbeatIntervalMs: 10_000 }, now).gone, false);
    assert.equal(readinessOf({ name: 'a', heartbeatAt: ago(300_000), heartbeatIntervalMs: 10_000 }, now).gone, true);
  });

  it('places a tenant with an empty list on every node that is not gone, and otherwise on the nodes it names', () => {
    const fleet = [
      { name: 'a', ready: true, gone: false, heartbeatAt: ago(0) },
      { name: 'b', ready: false, gone: false, heartbeatAt: ago(60_000) },
      { name: 'c', ready: false, gone: true, heartbeatAt: ago(600_000) },
    ];
    assert.deepEqual(targetNodes([], fleet), ['a', 'b']);
    assert.deepEqual(targetNodes(['c', 'z'], fleet), ['c', 'z']);
  });
});
