import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from './errors';
import { parseDeviceId, parseIoOps, parsePidsMax, parseWeight } from './units';

function run(parse: (value: unknown, path: string, errors: FieldError[]) => unknown, value: unknown) {
  const errors: FieldError[] = [];
  return { value: parse(value, 'x', errors), errors };
}

function refused(parse: (value: unknown, path: string, errors: FieldError[]) => unknown, value: unknown, pattern: RegExp): void {
  const result = run(parse, value);
  assert.equal(result.value, undefined, String(value));
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0].path, 'x');
  assert.match(result.errors[0].message, pattern, String(value));
}

describe('parseWeight', () => {
  it('accepts integers from 1 to 10000', () => {
    for (const weight of [1, 100, 10_000]) assert.deepEqual(run(parseWeight, weight), { value: weight, errors: [] });
  });

  it('refuses 0, 10001, fractions, "max", numeric strings and other types, naming the range', () => {
    for (const input of [0, 10_001, -1, 1.5, NaN, 'max', '', null, [100], 2 ** 63]) refused(parseWeight, input, /an integer from 1 to 10000/);
    refused(parseWeight, '100', /as a JSON number, not a string/);
  });
});

describe('parsePidsMax', () => {
  it('accepts 1 to 4194304 and "max"', () => {
    for (const pids of [1, 256, 4_194_304, 'max']) assert.deepEqual(run(parsePidsMax, pids), { value: pids, errors: [] });
  });

  it('refuses 0, values past PID_MAX_LIMIT, fractions and strings, naming the range and "max"', () => {
    for (const input of [0, -1, 4_194_305, 2.5, '256', 'MAX', true]) refused(parsePidsMax, input, /an integer from 1 to 4194304, or "max"/);
  });
});

describe('parseIoOps', () => {
  it('accepts 2 to 2^32-1 and "max"', () => {
    for (const iops of [2, 1000, 4_294_967_295, 'max']) assert.deepEqual(run(parseIoOps, iops), { value: iops, errors: [] });
  });

  it('refuses 0 and 1, which the kernel refuses, and values past 2^32-1', () => {
    for (const input of [0, 1, 4_294_967_296, -5, 1.5, '1000']) refused(parseIoOps, input, /an integer from 2 to 4294967295, or "max"/);
  });
});

describe('parseDeviceId', () => {
  it('accepts major:minor and drops leading zeros', () => {
    assert.deepEqual(run(parseDeviceId, '8:0'), { value: '8:0', errors: [] });
    assert.deepEqual(run(parseDeviceId, '259:3'), { value: '259:3', errors: [] });
    assert.deepEqual(run(parseDeviceId, '008:016'), { value: '8:16', errors: [] });
    assert.deepEqual(run(parseDeviceId, '4095:1048575'), { value: '4095:1048575', errors: [] });
    assert.deepEqual(run(parseDeviceId, '0:0'), { value: '0:0', errors: [] });
  });

  it('refuses a major past 4095 or a minor past 1048575, naming the limits', () => {
    refused(parseDeviceId, '4096:0', /major 4096 past 4095/);
    refused(parseDeviceId, '8:1048576', /minor 1048576 past 1048575/);
  });

  it('refuses other forms, unicode digits, whitespace and wrong types', () => {
    for (const input of ['8', '8:', ':0', '8:0:1', '8-0', ' 8:0', '8:0 ', '٨:0', '-8:0', '', '/dev/sda', 8, null, ['8:0'], '99999999:0']) {
      refused(parseDeviceId, input, /"major:minor".*major 0 to 4095 and minor 0 to 1048575/);
    }
  });
});
