import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeviceNumber, parseFlatKeyed, parseKernelDecimal, parseKernelInteger, parseMaxOrInteger, splitLines } from './flat-keyed';
import { fixturesOf, readFixture, reverseLines, withoutTrailingNewline } from '../../../../test/fixtures/cgroup/read-fixture';

describe('parseFlatKeyed', () => {
  it('reads every key of a live 6.1 cgroup.stat by name', () => {
    const values = parseFlatKeyed(readFixture('6.1', 'root/cgroup.stat'));
    assert.deepEqual(
      values,
      new Map([
        ['nr_descendants', 2],
        ['nr_dying_descendants', 0],
      ]),
    );
  });

  it('keeps keys it has never heard of, such as the nr_subsys_* lines of a live 6.18 cgroup.stat', () => {
    const values = parseFlatKeyed(readFixture('6.18', 'root/cgroup.stat'));
    assert.equal(values.get('nr_descendants'), 1);
    assert.equal(values.get('nr_subsys_perf_event'), 2);
    assert.equal(values.get('nr_dying_subsys_hugetlb'), 0);
    assert.equal(values.size, 6);
  });

  it('keeps every key of a live 6.1 memory.stat', () => {
    const text = readFixture('6.1', 'memory.stat');
    assert.equal(parseFlatKeyed(text).size, text.trimEnd().split('\n').length);
  });

  it('gives the same map whatever the line order', () => {
    const text = readFixture('6.1', 'memory.stat');
    assert.deepEqual(new Map([...parseFlatKeyed(reverseLines(text))].sort()), new Map([...parseFlatKeyed(text)].sort()));
  });

  it("gives the kernel's spelling and a hand-spaced copy of it the same map (the fast path and the tolerant one)", () => {
    for (const { where, text } of fixturesOf(['cpu.stat', 'memory.stat', 'memory.events', 'cgroup.events', 'pids.events', 'root/cgroup.stat'])) {
      const values = parseFlatKeyed(text);
      assert.ok(values.size > 0, where);
      assert.deepEqual(parseFlatKeyed(text.replaceAll(' ', ' \t')), values, where);
    }
  });

  it('reads a file the same with or without its trailing newline', () => {
    const text = readFixture('6.1', 'cpu.stat');
    assert.deepEqual(parseFlatKeyed(withoutTrailingNewline(text)), parseFlatKeyed(text));
  });

  it('gives an empty map for an empty or blank file', () => {
    for (const text of ['', '\n', '  \n\n']) assert.equal(parseFlatKeyed(text).size, 0, JSON.stringify(text));
  });

  it('skips lines whose value is not an integer instead of failing the whole file', () => {
    const text = ['good 1', 'limit max', 'ratio 1.5', 'hex 0x1F', 'exp 1e3', 'empty', 'three fields here', 'plus +4', 'tail 2'].join('\n');
    assert.deepEqual(
      parseFlatKeyed(text),
      new Map([
        ['good', 1],
        ['tail', 2],
      ]),
    );
  });

  it('keeps the negative values that C ints printed with %d show after they wrap', () => {
    assert.equal(parseFlatKeyed('nr_periods -2147483648\n').get('nr_periods'), -2147483648);
  });

  it('reads counters beyond 2^53 as the nearest double rather than refusing them', () => {
    assert.equal(parseFlatKeyed('rbytes 18446744073709551615\n').get('rbytes'), 2 ** 64);
    assert.equal(parseFlatKeyed('usage_usec 9007199254740993\n').get('usage_usec'), 2 ** 53);
  });

  it('lets the last of two lines with the same key win', () => {
    assert.equal(parseFlatKeyed('max 1\nmax 2\n').get('max'), 2);
  });

  it('tolerates carriage returns and runs of blanks from hand-edited files', () => {
    assert.deepEqual(
      parseFlatKeyed('low 0\r\n  high\t\t3  \r\n'),
      new Map([
        ['low', 0],
        ['high', 3],
      ]),
    );
  });
});

describe('number tokens', () => {
  it('reads kernel integers and refuses everything else', () => {
    assert.equal(parseKernelInteger('0'), 0);
    assert.equal(parseKernelInteger('007'), 7);
    assert.equal(parseKernelInteger('-5'), -5);
    for (const token of ['', '-', '1.0', '+1', ' 1', '0x10', '1e3', 'max', 'NaN', 'Infinity']) assert.equal(parseKernelInteger(token), undefined, token);
  });

  it('reads PSI decimals and refuses signs and exponents', () => {
    assert.equal(parseKernelDecimal('36.53'), 36.53);
    assert.equal(parseKernelDecimal('0.00'), 0);
    assert.equal(parseKernelDecimal('7'), 7);
    for (const token of ['', '.5', '5.', '-1.00', '1e2', 'max']) assert.equal(parseKernelDecimal(token), undefined, token);
  });

  it('reads "max" and non-negative integers as limits and refuses the rest', () => {
    assert.equal(parseMaxOrInteger('max'), 'max');
    assert.equal(parseMaxOrInteger('0'), 0);
    assert.equal(parseMaxOrInteger('1048576'), 1048576);
    for (const token of ['', 'MAX', 'Max', '-1', '1.5', 'unlimited']) assert.equal(parseMaxOrInteger(token), undefined, token);
  });

  it('recognises MAJ:MIN device numbers only', () => {
    assert.equal(isDeviceNumber('8:0'), true);
    assert.equal(isDeviceNumber('254:16'), true);
    for (const token of ['8', '8:', ':0', 'sda', '8:0:1', 'default']) assert.equal(isDeviceNumber(token), false, token);
  });

  it('splits lines into fields and drops blank lines', () => {
    assert.deepEqual(splitLines('a 1\n\n b  2 \nc\n'), [['a', '1'], ['b', '2'], ['c']]);
  });
});
