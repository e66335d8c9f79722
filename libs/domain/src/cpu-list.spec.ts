import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from './errors';
import { formatIdList, parseCpuList, parseMemoryNodeList } from './cpu-list';

function run(parse: typeof parseCpuList, value: unknown) {
  const errors: FieldError[] = [];
  return { value: parse(value, 'x', errors), errors };
}

function refused(parse: typeof parseCpuList, value: unknown, ...patterns: RegExp[]): void {
  const result = run(parse, value);
  assert.equal(result.value, undefined, String(value));
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0].path, 'x');
  for (const pattern of patterns) assert.match(result.errors[0].message, pattern, String(value));
}

describe('parseCpuList', () => {
  it('sorts, merges and joins adjacent ranges', () => {
    const cases: Array<[string, string]> = [
      ['0', '0'],
      ['0-3,6', '0-3,6'],
      ['6,0-3,4', '0-4,6'],
      ['1,2,3', '1-3'],
      ['3,2,1,1', '1-3'],
      ['0-3,2-5', '0-5'],
      ['5-5', '5'],
      ['0-1,3-4', '0-1,3-4'],
      ['007', '7'],
      ['00000000000000000000001', '1'],
      ['8191', '8191'],
      ['0-8191', '0-8191'],
    ];
    for (const [input, canonical] of cases) assert.deepEqual(run(parseCpuList, input), { value: canonical, errors: [] }, input);
  });

  it('gives the canonical form back unchanged', () => {
    for (const input of ['0-4,6', '1-3', '0,2,4-7']) assert.equal(run(parseCpuList, run(parseCpuList, input).value).value, input);
  });

  it('refuses an empty list and says to leave the field out for no restriction', () => {
    refused(parseCpuList, '', /at least one CPU/, /leave the field out for no restriction/);
  });

  it('refuses backwards ranges, CPUs past 8191, empty items and other syntax', () => {
    refused(parseCpuList, '3-1', /runs backwards/);
    refused(parseCpuList, '8192', /"8192", past the highest allowed CPU, 8191/);
    refused(parseCpuList, '0-99999999999999999999999', /past the highest allowed CPU, 8191/);
    refused(parseCpuList, '0,,1', /empty item/);
    refused(parseCpuList, '0,', /empty item/);
    for (const input of ['-1', '0-', 'a', '0-7:2', '0;1', '1.5', '０']) refused(parseCpuList, input, /comma-separated CPU numbers/);
  });

  it('refuses whitespace and wrong types', () => {
    refused(parseCpuList, '0, 1', /whitespace/);
    refused(parseCpuList, ' 0', /whitespace/);
    for (const input of [0, null, ['0'], { cpus: '0' }]) refused(parseCpuList, input, /a CPU list/);
  });
});

describe('parseMemoryNodeList', () => {
  it('uses the same form as CPU lists with node numbers below 1024', () => {
    assert.deepEqual(run(parseMemoryNodeList, '1,0'), { value: '0-1', errors: [] });
    refused(parseMemoryNodeList, '1024', /"1024", past the highest allowed memory node, 1023/);
    refused(parseMemoryNodeList, '', /at least one memory node/);
  });
});

describe('formatIdList', () => {
  it('merges overlapping and adjacent ranges given in any order', () => {
    assert.equal(
      formatIdList([
        [10, 12],
        [0, 0],
        [1, 4],
        [3, 5],
        [13, 13],
      ]),
      '0-5,10-13',
    );
  });
});
