import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findings, pointBetween, type RawSample } from './usage-sample';

const t0: RawSample = {
  at: 0,
  cpuUsageUsec: 1_000_000,
  nrPeriods: 100,
  nrThrottled: 0,
  memoryBytes: 10,
  pids: 2,
  oomKills: 0,
  receiveBytes: 0,
  transmitBytes: 500,
};

describe('usage history points', () => {
  it('turns counters into rates over the interval', () => {
    const t1: RawSample = {
      ...t0,
      at: 5000,
      cpuUsageUsec: 3_500_000,
      nrPeriods: 150,
      nrThrottled: 25,
      memoryBytes: 20,
      receiveBytes: 5000,
      transmitBytes: 500,
    };
    assert.deepEqual(pointBetween(t0, t1), {
      cpuCores: 0.5,
      memoryBytes: 20,
      pids: 2,
      receiveBitsPerSecond: 8000,
      transmitBitsPerSecond: 0,
      throttledRatio: 0.5,
    });
  });

  it('gives null for what this host cannot tell, and for counters that went backwards', () => {
    const bare: RawSample = { at: 0, cpuUsageUsec: 5 };
    const later: RawSample = { at: 1000, cpuUsageUsec: 1 };
    assert.deepEqual(pointBetween(bare, later), {
      cpuCores: null,
      memoryBytes: null,
      pids: null,
      receiveBitsPerSecond: null,
      transmitBitsPerSecond: null,
      throttledRatio: null,
    });
  });

  it('reports OOM kills since the last sample and the edges of a throttling episode', () => {
    const t1: RawSample = { ...t0, at: 1000, nrPeriods: 110, nrThrottled: 5, oomKills: 2 };
    assert.deepEqual(findings(t0, t1, pointBetween(t0, t1), false), { oomKills: 2, throttling: 'started' });
    assert.deepEqual(findings(t0, t1, pointBetween(t0, t1), true), { oomKills: 2, throttling: undefined });
    const calm: RawSample = { ...t1, at: 2000, nrPeriods: 210, nrThrottled: 6 };
    assert.deepEqual(findings(t1, calm, pointBetween(t1, calm), true), { oomKills: 0, throttling: 'ended' });
  });
});
