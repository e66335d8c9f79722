import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLimitValue, parsePidsEvents } from './pids';
import { readFixture, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parsePidsEvents', () => {
  it('reads max from a live 6.1 pids.events after forks hit pids.max', () => {
    assert.deepEqual(parsePidsEvents(readFixture('6.1', 'pids.events')), { max: 1 });
  });

  it('reads zero for a live 6.1 cgroup that never forked', () => {
    assert.deepEqual(parsePidsEvents(readFixture('6.1', 'idle/pids.events')), { max: 0 });
  });

  it('reads a 5.10 pids.events and ignores keys it does not know', () => {
    assert.deepEqual(parsePidsEvents(readFixture('5.10', 'pids.events')), { max: 2 });
    assert.deepEqual(parsePidsEvents('future 9\nmax 4'), { max: 4 });
  });

  it('returns undefined for an empty file', () => {
    assert.equal(parsePidsEvents(''), undefined);
  });
});

describe('parseLimitValue', () => {
  it('reads "max" from the limit files of a live 6.1 cgroup without limits', () => {
    for (const file of ['pids.max', 'memory.max', 'memory.high', 'memory.swap.max', 'memory.swap.high', 'memory.zswap.max']) {
      assert.equal(parseLimitValue(readFixture('6.1', `idle/${file}`)), 'max', file);
    }
  });

  it('reads bytes and counts from the files of a live 6.1 cgroup with limits', () => {
    const expected: Array<[string, number]> = [
      ['memory.max', 67108864],
      ['memory.high', 50331648],
      ['memory.peak', 67108864],
      ['memory.swap.max', 0],
      ['pids.max', 16],
      ['pids.current', 15],
      ['pids.peak', 16],
      ['cpu.weight', 200],
      ['cpu.max.burst', 0],
    ];
    for (const [file, value] of expected) assert.equal(parseLimitValue(readFixture('6.1', file)), value, file);
  });

  it('reads the limit files of a 5.10 cgroup', () => {
    assert.equal(parseLimitValue(readFixture('5.10', 'memory.max')), 268435456);
    assert.equal(parseLimitValue(readFixture('5.10', 'memory.swap.max')), 'max');
    assert.equal(parseLimitValue(readFixture('5.10', 'pids.current')), 7);
  });

  it('reads a value with or without its trailing newline and surrounding blanks', () => {
    assert.equal(parseLimitValue(withoutTrailingNewline(readFixture('6.1', 'pids.max'))), 16);
    assert.equal(parseLimitValue('  max \n'), 'max');
  });

  it('returns undefined for empty, negative, non-numeric or multi-token text', () => {
    for (const text of ['', '\n', '-1\n', '1.5\n', 'MAX\n', 'unlimited\n', '50000 100000\n', 'max\nmax\n']) {
      assert.equal(parseLimitValue(text), undefined, JSON.stringify(text));
    }
  });
});
