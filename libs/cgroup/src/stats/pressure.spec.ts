import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePressure, parsePressureLines } from './pressure';
import { fixturesOf, readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parsePressure', () => {
  it('reads some and full from a live 6.1 cpu.pressure', () => {
    assert.deepEqual(parsePressure(readFixture('6.1', 'cpu.pressure')), {
      some: { avg10: 36.53, avg60: 21.75, avg300: 5.77, totalUsec: 18275581 },
      full: { avg10: 30.89, avg60: 19.71, avg300: 5.3, totalUsec: 16848624 },
    });
  });

  it('reads a 5.10 cpu.pressure, which has no full line, as some only', () => {
    const pressure = parsePressure(readFixture('5.10', 'cpu.pressure'));
    assert.deepEqual(pressure, { some: { avg10: 1.52, avg60: 0.87, avg300: 0.31, totalUsec: 2841527 } });
    assert.equal(pressure !== undefined && 'full' in pressure, false);
  });

  it('reads the all-zero full line the live 6.1 root cpu.pressure prints', () => {
    assert.deepEqual(parsePressure(readFixture('6.1', 'root/cpu.pressure'))?.full, { avg10: 0, avg60: 0, avg300: 0, totalUsec: 0 });
  });

  it('reads live 6.18 cpu, io and memory pressure', () => {
    assert.deepEqual(parsePressure(readFixture('6.18', 'cpu.pressure')), {
      some: { avg10: 0.36, avg60: 0.06, avg300: 0.01, totalUsec: 60599 },
      full: { avg10: 0.36, avg60: 0.06, avg300: 0.01, totalUsec: 60599 },
    });
    assert.deepEqual(parsePressure(readFixture('6.18', 'root/io.pressure')), {
      some: { avg10: 0, avg60: 0.07, avg300: 0.19, totalUsec: 10893203 },
      full: { avg10: 0, avg60: 0.04, avg300: 0.1, totalUsec: 8660094 },
    });
    assert.deepEqual(parsePressure(readFixture('6.18', 'idle/memory.pressure')), {
      some: { avg10: 0, avg60: 0, avg300: 0, totalUsec: 0 },
      full: { avg10: 0, avg60: 0, avg300: 0, totalUsec: 0 },
    });
  });

  it('finds some and full by name whatever the line order and with or without the trailing newline', () => {
    const text = readFixture('6.1', 'memory.pressure');
    const expected = parsePressure(text);
    assert.deepEqual(parsePressure(reverseLines(text)), expected);
    assert.deepEqual(parsePressure(withoutTrailingNewline(text)), expected);
  });

  it('ignores fields it does not know on a line', () => {
    assert.deepEqual(parsePressure('some avg10=1.00 avg60=2.00 avg300=3.00 total=4 avg3600=5.00\n'), {
      some: { avg10: 1, avg60: 2, avg300: 3, totalUsec: 4 },
    });
  });

  it('returns undefined for an empty file', () => {
    assert.equal(parsePressure(''), undefined);
  });

  it('returns undefined when the some line is malformed, and drops a malformed full line', () => {
    assert.equal(parsePressure('some avg10=x avg60=0.00 avg300=0.00 total=0\n'), undefined);
    assert.equal(parsePressure('some avg10=0.00 avg60=0.00 total=0\n'), undefined);
    assert.deepEqual(parsePressure('some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00 total=-1\n'), {
      some: { avg10: 0, avg60: 0, avg300: 0, totalUsec: 1 },
    });
  });
});

describe('parsePressureLines', () => {
  it("gives the kernel's spelling and a hand-spaced copy of it the same lines (the fast path and the tolerant one)", () => {
    for (const { where, text } of fixturesOf([
      'cpu.pressure',
      'io.pressure',
      'memory.pressure',
      'root/cpu.pressure',
      'root/io.pressure',
      'idle/memory.pressure',
    ])) {
      const lines = parsePressureLines(text);
      assert.ok(lines.some !== undefined, where);
      assert.deepEqual(parsePressureLines(text.replaceAll(' ', '  ')), lines, where);
    }
  });

  it('reads the full-only irq.pressure that parsePressure turns down', () => {
    const text = 'full avg10=0.12 avg60=0.05 avg300=0.01 total=912345\n';
    assert.deepEqual(parsePressureLines(text), { full: { avg10: 0.12, avg60: 0.05, avg300: 0.01, totalUsec: 912345 } });
    assert.equal(parsePressure(text), undefined);
  });

  it('gives no lines for an empty file and skips unknown line kinds', () => {
    assert.deepEqual(parsePressureLines(''), {});
    assert.deepEqual(parsePressureLines('partial avg10=0.00 avg60=0.00 avg300=0.00 total=0\n'), {});
  });
});
