import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCpuMax, parseIoMax, parseIoWeight } from './cpu-max';
import { readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parseCpuMax', () => {
  it('reads the half-CPU quota of a live 6.1 cpu.max', () => {
    assert.deepEqual(parseCpuMax(readFixture('6.1', 'cpu.max')), { quotaUsec: 50000, periodUsec: 100000 });
  });

  it('reads the default "max 100000" of a live 6.1 cgroup without a limit', () => {
    assert.deepEqual(parseCpuMax(readFixture('6.1', 'idle/cpu.max')), { quotaUsec: 'max', periodUsec: 100000 });
  });

  it('reads a cpu.max without its trailing newline', () => {
    assert.deepEqual(parseCpuMax(withoutTrailingNewline(readFixture('5.10', 'cpu.max'))), { quotaUsec: 50000, periodUsec: 100000 });
  });

  it('returns undefined for an empty, one-token or malformed cpu.max', () => {
    for (const text of ['', 'max\n', '50000\n', '50000 0\n', '-1 100000\n', 'max max\n', '50000 100000 7\n', '50000 100000\n1 2\n']) {
      assert.equal(parseCpuMax(text), undefined, JSON.stringify(text));
    }
  });
});

describe('parseIoMax', () => {
  it('reads the "max" and numeric limits of a live 6.1 io.max', () => {
    assert.deepEqual(parseIoMax(readFixture('6.1', 'io.max')), [{ device: '254:0', rbps: 'max', wbps: 8388608, riops: 'max', wiops: 2000 }]);
  });

  it('reads every device of a multi-device 5.10 io.max', () => {
    assert.deepEqual(parseIoMax(readFixture('5.10', 'io.max')), [
      { device: '8:16', rbps: 2097152, wbps: 'max', riops: 'max', wiops: 120 },
      { device: '8:0', rbps: 'max', wbps: 1048576, riops: 'max', wiops: 'max' },
    ]);
  });

  it('gives an empty list for the empty io.max of a live 6.1 cgroup without I/O limits', () => {
    assert.equal(readFixture('6.1', 'idle/io.max'), '');
    assert.deepEqual(parseIoMax(readFixture('6.1', 'idle/io.max')), []);
  });

  it('ignores the fields of throttling-low kernels and skips lines missing a limit', () => {
    const text = [
      '8:0 rbps=max wbps=1 riops=max wiops=max idle=1000 latency=max',
      '8:16 rbps=max wbps=1 riops=max',
      '8:32 rbps=-1 wbps=1 riops=2 wiops=3',
    ].join('\n');
    assert.deepEqual(parseIoMax(text), [{ device: '8:0', rbps: 'max', wbps: 1, riops: 'max', wiops: 'max' }]);
  });

  it('reads the same with reversed lines, device by device', () => {
    const text = readFixture('5.10', 'io.max');
    assert.deepEqual(parseIoMax(reverseLines(text)), parseIoMax(text).reverse());
  });
});

describe('parseIoWeight', () => {
  it('reads the default and per-device weights of a live 6.1 io.weight', () => {
    assert.deepEqual(parseIoWeight(readFixture('6.1', 'io.weight')), { default: 100, devices: { '254:0': 200 } });
  });

  it('gives no devices for the default-only io.weight of a live 6.1 cgroup', () => {
    assert.deepEqual(parseIoWeight(readFixture('6.1', 'idle/io.weight')), { default: 100, devices: {} });
  });

  it('finds the default line by name wherever it is', () => {
    assert.deepEqual(parseIoWeight(reverseLines(readFixture('5.10', 'io.weight'))), { default: 100, devices: { '8:0': 50 } });
  });

  it('returns undefined without a default line and skips malformed device lines', () => {
    assert.equal(parseIoWeight(''), undefined);
    assert.equal(parseIoWeight('8:0 200\n'), undefined);
    assert.deepEqual(parseIoWeight('default 100\nsda 5\n8:0 x\n8:16 300\n'), { default: 100, devices: { '8:16': 300 } });
  });
});
