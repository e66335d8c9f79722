import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Usage, UsagePoint } from './api-types';
import { binaryCeiling, chartPoints, livePoint, niceCeiling, seriesMax } from './usage-series';

const usage = (cpuSeconds: number, rx: number, periods = 100, throttled = 10): Usage => ({
  node: 'n1',
  usage: {
    cpu: { usageSeconds: cpuSeconds, periods, throttledPeriods: throttled },
    memory: { currentBytes: 1024 },
    pids: { current: 3 },
    frozen: false,
    populated: true,
  },
  network: { receiveBytes: rx, transmitBytes: 0, drops: 0 },
  history: { intervalSeconds: 5, points: [] },
});

const point = (at: string, cpuCores: number | null): UsagePoint => ({
  at,
  cpuCores,
  memoryBytes: null,
  pids: null,
  receiveBitsPerSecond: null,
  transmitBitsPerSecond: null,
  throttledRatio: null,
});

describe('the live point between two polls', () => {
  it('turns counters into rates over the time between them', () => {
    const live = livePoint({ receivedAt: 0, usage: usage(10, 1000) }, { receivedAt: 2000, usage: usage(11, 3000, 120, 20) });
    assert.equal(live.cpuCores, 0.5);
    assert.equal(live.receiveBitsPerSecond, 8000);
    assert.equal(live.memoryBytes, 1024);
    assert.equal(live.pids, 3);
    assert.equal(live.throttledRatio, 0.5);
    assert.equal(live.at, new Date(2000).toISOString());
  });

  it('gives no rate for a counter that went backwards or is missing', () => {
    const previous = usage(10, 1000);
    const current = usage(5, 1000);
    current.network = null;
    const live = livePoint({ receivedAt: 0, usage: previous }, { receivedAt: 2000, usage: current });
    assert.equal(live.cpuCores, null);
    assert.equal(live.receiveBitsPerSecond, null);
  });

  it('follows the history with the live points newer than its last sample', () => {
    const history = [point('2026-01-01T00:00:00.000Z', 0.1), point('2026-01-01T00:00:05.000Z', 0.2)];
    const live = [point('2026-01-01T00:00:04.000Z', 0.3), point('2026-01-01T00:00:06.000Z', 0.4), point('2026-01-01T00:00:08.000Z', 0.5)];
    assert.deepEqual(
      chartPoints(history, live).map((p) => p.cpuCores),
      [0.1, 0.2, 0.4, 0.5],
    );
    assert.equal(chartPoints([], live).length, 3);
  });
});

describe('chart scales', () => {
  it('rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
    assert.equal(niceCeiling(0.49), 0.5);
    assert.equal(niceCeiling(0.5), 0.5);
    assert.equal(niceCeiling(3), 5);
    assert.equal(niceCeiling(268435456), 500_000_000);
    assert.equal(niceCeiling(0), 1);
    assert.equal(seriesMax([null, 2, 1]), 2);
  });

  it('rounds sizes up to a power of two', () => {
    assert.equal(binaryCeiling(268435456), 268435456);
    assert.equal(binaryCeiling(300 * 2 ** 20), 512 * 2 ** 20);
    assert.equal(binaryCeiling(0), 1);
  });
});
