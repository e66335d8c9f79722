import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuLimit, cpuTargets } from './cpu';
import { parseCpuMax } from './stats/cpu-max';
import { cpusetTargets } from './cpuset';
import { ioMaxTargets, ioWeightTarget, parseIoMax } from './io';
import { lowers, memoryTargets } from './memory';
import { pidsTargets } from './pids';

describe('comparing by meaning, not text', () => {
  it('takes the kernel rounding memory down to pages as in sync', () => {
    const { max } = memoryTargets({ max: 100_000 }, { swap: true, pageSize: 4096 });
    assert.equal(max.value, '100000');
    assert.ok(max.same('98304\n'), '100000 bytes reads back as 24 pages');
    assert.ok(!max.same('102400\n'));
    assert.ok(!max.same('max\n'));
  });

  for (const [label, pageSize, roundedDown] of [
    ['4 KiB', 4096, 98_304],
    ['16 KiB', 16_384, 98_304],
    ['64 KiB', 65_536, 65_536],
  ] as const) {
    it(`rounds memory limits down to ${label} pages, as the kernel of such a system reads them back`, () => {
      const { max, high, low } = memoryTargets({ max: 100_000, high: 100_000, low: 100_000 }, { swap: false, pageSize });
      for (const target of [max, high, low]) {
        assert.equal(target.value, '100000', 'the quota is written as asked; the kernel rounds');
        assert.ok(target.same(`${roundedDown}\n`), `${target.file}: 100000 bytes reads back as ${roundedDown}`);
        assert.ok(!target.same(`${roundedDown + pageSize}\n`), `${target.file}: one page more is drift`);
      }
    });
  }

  it('sees drift when a 4 KiB rounding is assumed on a 64 KiB page system', () => {
    // 100000 bytes on 64 KiB pages reads back as 65536; a 4096 compare would want 98304 and rewrite for ever.
    assert.ok(!memoryTargets({ max: 100_000 }, { swap: false, pageSize: 4096 }).max.same('65536\n'));
  });

  it('reads absent memory fields as the kernel defaults', () => {
    const targets = memoryTargets(undefined, { swap: false, pageSize: 4096 });
    assert.ok(targets.max.same('max\n'));
    assert.ok(targets.high.same('max\n'));
    assert.ok(targets.low.same('0\n'));
    assert.ok(targets.min.same('0\n'));
    assert.equal(targets.swapMax, undefined, 'no swap file without swap accounting');
  });

  it('computes cpu.max from cores and period, in whole microseconds', () => {
    assert.deepEqual(cpuLimit({ max: '1.5' }), { quotaUsec: 150_000, periodUsec: 100_000 });
    assert.deepEqual(cpuLimit({ max: '0.0001', period: '1s' }), { quotaUsec: 100, periodUsec: 1_000_000 });
    assert.deepEqual(cpuLimit({ max: '1.0001', period: '1001us' }), { quotaUsec: 1001, periodUsec: 1001 });
    assert.deepEqual(cpuLimit(undefined), { quotaUsec: 'max', periodUsec: 100_000 });
    assert.deepEqual(parseCpuMax('max 100000\n'), { quotaUsec: 'max', periodUsec: 100_000 });
  });

  it('writes cpu.max before the burst when the quota grows, and after when it shrinks', () => {
    const grow = cpuTargets({ max: '2', burst: '150ms' }, { quotaUsec: 50_000, periodUsec: 100_000 }, { burst: true });
    assert.deepEqual(
      grow.map((t) => t.file),
      ['cpu.max', 'cpu.max.burst', 'cpu.weight'],
    );
    const shrink = cpuTargets({ max: '0.5', burst: '10ms' }, { quotaUsec: 200_000, periodUsec: 100_000 }, { burst: true });
    assert.deepEqual(
      shrink.map((t) => t.file),
      ['cpu.max.burst', 'cpu.max', 'cpu.weight'],
    );
    assert.deepEqual(
      cpuTargets({ max: '1' }, undefined, { burst: false }).map((t) => t.file),
      ['cpu.max', 'cpu.weight'],
    );
    assert.ok(grow[0].same('200000 100000'));
    assert.ok(!grow[0].same('200000 50000'));
  });

  it('compares cpusets as sets of CPUs', () => {
    const [cpus, mems] = cpusetTargets({ cpus: '0-2' });
    assert.ok(cpus.same('0-2\n'));
    assert.ok(!cpus.same('0-1\n'));
    assert.ok(mems.same('\n'), 'an absent list is the empty file');
  });

  it('resets a device the quota no longer names', () => {
    const current = '8:0 rbps=1000 wbps=max riops=max wiops=max\n8:16 rbps=max wbps=2000 riops=max wiops=max\n';
    const targets = ioMaxTargets({ limits: [{ device: '8:0', rbps: 1000 }] }, current);
    assert.equal(targets.length, 2);
    assert.ok(targets[0].same(current), '8:0 is already as wanted');
    assert.equal(targets[1].value, '8:16 rbps=max wbps=max riops=max wiops=max');
    assert.ok(!targets[1].same(current));
    assert.ok(targets[1].same('8:0 rbps=1000 wbps=max riops=max wiops=max\n'));
    assert.deepEqual(parseIoMax(current).get('8:16'), { rbps: 'max', wbps: 2000, riops: 'max', wiops: 'max' });
  });

  it('compares io.weight by its default line', () => {
    assert.ok(ioWeightTarget({ weight: 300 }).same('default 300\n8:0 100\n'));
    assert.ok(ioWeightTarget(undefined).same('default 100\n'));
  });

  it('treats "max" as the highest limit', () => {
    assert.ok(lowers(10, 'max'));
    assert.ok(lowers(10, 20));
    assert.ok(!lowers('max', 10));
    assert.ok(!lowers(20, 10));
    assert.deepEqual(
      pidsTargets({ max: 5 }).map((t) => t.value),
      ['5'],
    );
  });
});
