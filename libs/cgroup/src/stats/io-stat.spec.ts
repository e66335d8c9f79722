import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIoStat } from './io-stat';
import { readFixture, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parseIoStat', () => {
  it('reads a live 6.1 io.stat line and skips the iocost cost.usage field after the known keys', () => {
    assert.deepEqual(parseIoStat(readFixture('6.1', 'io.stat')), [
      { device: '254:0', rbytes: 69226496, wbytes: 16777216, rios: 113, wios: 16, dbytes: 16777216, dios: 1 },
    ]);
  });

  it('skips the decimal cost.vrate field of the live 6.1 root io.stat', () => {
    assert.match(readFixture('6.1', 'root/io.stat'), /cost\.vrate=100\.00/);
    assert.deepEqual(parseIoStat(readFixture('6.1', 'root/io.stat')), [
      { device: '254:0', rbytes: 69238784, wbytes: 16777216, rios: 116, wios: 16, dbytes: 16777216, dios: 1 },
    ]);
  });

  it('reads every device of a multi-device 5.10 io.stat, in file order', () => {
    assert.deepEqual(parseIoStat(readFixture('5.10', 'io.stat')), [
      { device: '8:16', rbytes: 1459200, wbytes: 314773504, rios: 192, wios: 353, dbytes: 0, dios: 0 },
      { device: '8:0', rbytes: 90430464, wbytes: 299008000, rios: 8950, wios: 1252, dbytes: 50331648, dios: 3021 },
    ]);
  });

  it('gives an empty list for the empty io.stat of a live 6.1 cgroup that has done no I/O', () => {
    assert.equal(readFixture('6.1', 'idle/io.stat'), '');
    assert.deepEqual(parseIoStat(readFixture('6.1', 'idle/io.stat')), []);
  });

  it('leaves dbytes and dios out when a line lacks them', () => {
    assert.deepEqual(parseIoStat('8:0 rbytes=1 wbytes=2 rios=3 wios=4\n'), [{ device: '8:0', rbytes: 1, wbytes: 2, rios: 3, wios: 4 }]);
  });

  it('finds the keys by name whatever their order within the line, ignoring iolatency fields', () => {
    assert.deepEqual(parseIoStat('8:0 use_delay=0 wios=4 dios=6 rios=3 delay_nsec=0 wbytes=2 dbytes=5 rbytes=1\n'), [
      { device: '8:0', rbytes: 1, wbytes: 2, rios: 3, wios: 4, dbytes: 5, dios: 6 },
    ]);
  });

  it('skips lines without a device number or without one of the four required keys', () => {
    const text = [
      'sda rbytes=1 wbytes=2 rios=3 wios=4',
      '8:0 rbytes=1 wbytes=2 rios=3',
      '8:1 rbytes=x wbytes=2 rios=3 wios=4',
      '8:2 rbytes=1 wbytes=2 rios=3 wios=4',
    ].join('\n');
    assert.deepEqual(parseIoStat(text), [{ device: '8:2', rbytes: 1, wbytes: 2, rios: 3, wios: 4 }]);
  });

  it('reads the same with or without the trailing newline', () => {
    const text = readFixture('5.10', 'io.stat');
    assert.deepEqual(parseIoStat(withoutTrailingNewline(text)), parseIoStat(text));
  });
});
