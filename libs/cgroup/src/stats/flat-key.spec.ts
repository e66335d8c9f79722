import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flatKeyedValue } from './flat-key';
import { parseFlatKeyed } from './flat-keyed';
import { readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('flatKeyedValue', () => {
  it('finds inactive_file in a live 6.1 memory.stat, as the full parser does', () => {
    const text = readFixture('6.1', 'memory.stat');
    assert.equal(flatKeyedValue(text, 'inactive_file'), 77824);
    assert.equal(flatKeyedValue(text, 'inactive_file'), parseFlatKeyed(text).get('inactive_file'));
  });

  it('finds it in the 5.10 and 6.6 samples, whose key sets differ', () => {
    assert.equal(flatKeyedValue(readFixture('5.10', 'memory.stat'), 'inactive_file'), 21884928);
    assert.equal(flatKeyedValue(readFixture('6.6', 'memory.stat'), 'inactive_file'), 845705216);
  });

  it('agrees with parseFlatKeyed on every key of every memory.stat sample', () => {
    for (const kernel of ['5.10', '6.1', '6.6'] as const) {
      const text = readFixture(kernel, 'memory.stat');
      for (const [key, value] of parseFlatKeyed(text)) assert.equal(flatKeyedValue(text, key), value, `${kernel} ${key}`);
    }
  });

  it('finds the first line, the last line without its newline, and keys in any order', () => {
    const text = readFixture('6.1', 'memory.stat');
    assert.equal(flatKeyedValue(text, 'anon'), 1658880);
    const reversed = withoutTrailingNewline(reverseLines(text));
    assert.equal(flatKeyedValue(reversed, 'anon'), 1658880);
    assert.equal(flatKeyedValue(reversed, 'inactive_file'), 77824);
  });

  it('does not take a longer key that ends with the one asked for, nor a key that is missing', () => {
    assert.equal(flatKeyedValue('xinactive_file 5\n', 'inactive_file'), undefined);
    assert.equal(flatKeyedValue('anon 1\nxinactive_file 5\ninactive_file 7\n', 'inactive_file'), 7);
    assert.equal(flatKeyedValue(readFixture('5.10', 'memory.stat'), 'kernel'), undefined, '5.10 has no kernel key');
    assert.equal(flatKeyedValue('', 'anon'), undefined);
  });

  it('gives undefined for a value that is not an integer, and tolerates "\\r" and extra blanks', () => {
    assert.equal(flatKeyedValue('anon x\n', 'anon'), undefined);
    assert.equal(flatKeyedValue('anon 1 2\n', 'anon'), undefined);
    assert.equal(flatKeyedValue('anon  12\r\n', 'anon'), 12);
  });
});
