import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCpuStat, parseCpuStatLocal } from './cpu-stat';
import { readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parseCpuStat', () => {
  it('reads the throttling and burst keys of a live 6.1 cpu.stat with the cpu controller enabled', () => {
    assert.deepEqual(parseCpuStat(readFixture('6.1', 'cpu.stat')), {
      usageUsec: 16711371,
      userUsec: 2858524,
      systemUsec: 13852847,
      nrPeriods: 361,
      nrThrottled: 325,
      throttledUsec: 33131358,
      nrBursts: 0,
      burstUsec: 0,
    });
  });

  it('leaves the burst keys out on 5.10, which predates them', () => {
    const stat = parseCpuStat(readFixture('5.10', 'cpu.stat'));
    assert.deepEqual(stat, {
      usageUsec: 48127503,
      userUsec: 30210847,
      systemUsec: 17916656,
      nrPeriods: 1204,
      nrThrottled: 311,
      throttledUsec: 18422911,
    });
    assert.equal(stat !== undefined && 'nrBursts' in stat, false);
  });

  it('reads only the usage keys, nice_usec included, of a live 6.18 cgroup without the cpu controller', () => {
    assert.deepEqual(parseCpuStat(readFixture('6.18', 'cpu.stat')), {
      usageUsec: 2007601,
      userUsec: 2007601,
      systemUsec: 0,
      niceUsec: 0,
    });
  });

  it('reads the cpu controller keys the 6.1 root cgroup prints too', () => {
    const stat = parseCpuStat(readFixture('6.1', 'root/cpu.stat'));
    assert.equal(stat?.usageUsec, 76788000);
    assert.equal(stat?.nrThrottled, 0);
  });

  it('reads core_sched.force_idle_usec where a CONFIG_SCHED_CORE kernel prints it', () => {
    const text = 'usage_usec 10\nuser_usec 6\nsystem_usec 4\ncore_sched.force_idle_usec 3\n';
    assert.deepEqual(parseCpuStat(text), { usageUsec: 10, userUsec: 6, systemUsec: 4, coreSchedForceIdleUsec: 3 });
  });

  it('ignores keys it does not know, wherever a newer kernel puts them', () => {
    const text = 'future_usec 99\nusage_usec 10\nuser_usec 6\nother 1\nsystem_usec 4\n';
    assert.deepEqual(parseCpuStat(text), { usageUsec: 10, userUsec: 6, systemUsec: 4 });
  });

  it('reads the same with reversed lines and without the trailing newline', () => {
    const text = readFixture('6.1', 'cpu.stat');
    const expected = parseCpuStat(text);
    assert.deepEqual(parseCpuStat(reverseLines(text)), expected);
    assert.deepEqual(parseCpuStat(withoutTrailingNewline(text)), expected);
  });

  it('turns the negative nr_* counts printed after an int wrap back into unsigned counts', () => {
    const text = 'usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods -2147483648\nnr_throttled -1\nthrottled_usec 5\nnr_bursts -2\nburst_usec 0\n';
    const stat = parseCpuStat(text);
    assert.equal(stat?.nrPeriods, 2147483648);
    assert.equal(stat?.nrThrottled, 4294967295);
    assert.equal(stat?.nrBursts, 4294967294);
  });

  it('returns undefined for an empty file or one missing an always-present usage key', () => {
    assert.equal(parseCpuStat(''), undefined);
    assert.equal(parseCpuStat('usage_usec 1\nuser_usec 1\n'), undefined);
    assert.equal(parseCpuStat('user_usec 1\nsystem_usec 1\nnr_periods 3\n'), undefined);
  });
});

describe('parseCpuStatLocal', () => {
  it('reads throttled_usec from a 6.6 cpu.stat.local', () => {
    assert.deepEqual(parseCpuStatLocal(readFixture('6.6', 'cpu.stat.local')), { throttledUsec: 402118775 });
  });

  it('gives no throttled time for the empty cpu.stat.local of a live 6.18 cgroup without the cpu controller', () => {
    assert.equal(readFixture('6.18', 'cpu.stat.local'), '');
    assert.deepEqual(parseCpuStatLocal(readFixture('6.18', 'cpu.stat.local')), {});
  });

  it('gives no throttled time for text without the key and ignores unknown keys', () => {
    assert.deepEqual(parseCpuStatLocal('\n'), {});
    assert.deepEqual(parseCpuStatLocal('future_usec 1\nthrottled_usec 7'), { throttledUsec: 7 });
  });
});
