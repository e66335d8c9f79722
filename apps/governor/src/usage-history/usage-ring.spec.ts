import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageRing } from './usage-ring';
import type { UsageRates } from './usage-sample';

const point = (cpuCores: number | null): UsageRates => ({
  cpuCores,
  memoryBytes: 4096,
  pids: null,
  receiveBitsPerSecond: 0,
  transmitBitsPerSecond: null,
  throttledRatio: 0.25,
});

describe('UsageRing', () => {
  it('gives back the last sample as it was set, leaving out what was not measured', () => {
    const ring = new UsageRing(4);
    assert.equal(ring.last(), undefined);
    ring.setLast({ at: 1000, cpuUsageUsec: 5, memoryBytes: 0, oomKills: 2 });
    assert.deepEqual(ring.last(), { at: 1000, cpuUsageUsec: 5, memoryBytes: 0, oomKills: 2 });
    ring.setLast({ at: 2000 });
    assert.deepEqual(ring.last(), { at: 2000 });
  });

  it('keeps its capacity of points, oldest first, and null where nothing was measured', () => {
    const ring = new UsageRing(3);
    assert.deepEqual(ring.points(), []);
    for (let i = 1; i <= 5; i++) ring.push(i * 1000, point(i === 4 ? null : i));
    const points = ring.points();
    assert.deepEqual(
      points.map((p) => [p.at, p.cpuCores]),
      [
        ['1970-01-01T00:00:03.000Z', 3],
        ['1970-01-01T00:00:04.000Z', null],
        ['1970-01-01T00:00:05.000Z', 5],
      ],
    );
    assert.deepEqual(points[2], { at: '1970-01-01T00:00:05.000Z', ...point(5) });
  });

  it('holds a single point when its capacity is one', () => {
    const ring = new UsageRing(1);
    ring.push(1000, point(1));
    ring.push(2000, point(2));
    assert.deepEqual(
      ring.points().map((p) => p.cpuCores),
      [2],
    );
  });
});
