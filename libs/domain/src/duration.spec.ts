import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeDuration, formatDuration, msRange, parseDuration, parseMilliseconds, TIMER_MAX_MS } from './duration';
import type { FieldError } from './errors';

function run(value: unknown, range?: Parameters<typeof parseDuration>[3]) {
  const errors: FieldError[] = [];
  return { value: parseDuration(value, 'x', errors, range), errors };
}

function accepts(input: string, microseconds: number, text: string): void {
  assert.deepEqual(run(input), { value: { microseconds, text }, errors: [] }, input);
}

function rejects(input: unknown, ...patterns: RegExp[]): void {
  const result = run(input);
  assert.equal(result.value, undefined, `${String(input)} should be refused`);
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0].path, 'x');
  for (const pattern of patterns) assert.match(result.errors[0].message, pattern, `message for ${String(input)}`);
}

describe('parseDuration', () => {
  it('reads us, µs, ms, s, m, h and d into microseconds, and writes the canonical text in us, ms or s', () => {
    accepts('100ms', 100_000, '100ms');
    accepts('1s', 1_000_000, '1s');
    accepts('1000ms', 1_000_000, '1s');
    accepts('1500us', 1500, '1500us');
    accepts('2000us', 2000, '2ms');
    accepts('250µs', 250, '250us');
    accepts('250μs', 250, '250us');
    accepts('1.5ms', 1500, '1500us');
    accepts('0.02s', 20_000, '20ms');
    accepts('0ms', 0, '0s');
    accepts('1m', 60_000_000, '60s');
    accepts('1.5h', 5_400_000_000, '5400s');
    accepts('7d', 604_800_000_000, '604800s');
  });

  it('refuses fractions of a microsecond', () => {
    for (const input of ['0.5us', '1.0005ms', '0.0000001s']) rejects(input, /whole number of microseconds/);
  });

  it('refuses numbers without a unit, as JSON numbers or text', () => {
    rejects(100, /a string of a number and a unit/);
    rejects('100', /needs a unit: us, ms, s, m, h or d/);
  });

  it('refuses other units, "max", negatives, exponents, whitespace, unicode digits and empty strings', () => {
    for (const input of ['1w', '1y', '100MS', '1ns', 'max', 'ms', '1M']) rejects(input, /us \(or µs\), ms, s, m, h or d/);
    rejects('-1ms', /negative/);
    rejects('1e3us', /exponent/);
    rejects('100ms ', /whitespace/);
    rejects('١٠٠ms', /ASCII digits/);
    rejects('', /got an empty string/, /e\.g\. "100ms"/);
    rejects('99999999999999999s', /at most 9007199254740991us/);
  });

  it('applies the range of its use, naming both ends and why', () => {
    const timer = msRange(1000, TIMER_MAX_MS, 'the longest timer');
    assert.equal(run('2147483647ms', timer).value?.microseconds, TIMER_MAX_MS * 1000);
    for (const input of ['2147483648ms', '25d', '999ms']) {
      const { value, errors } = run(input, timer);
      assert.equal(value, undefined, input);
      assert.match(errors[0].message, /^must be from 1s to 2147483647ms \(the longest timer\); got /);
    }
  });

  it('gives whole milliseconds for timers and ages', () => {
    const errors: FieldError[] = [];
    assert.equal(parseMilliseconds('1.5m', 'x', errors, msRange(0, 600_000)), 90_000);
    assert.equal(parseMilliseconds('1500us', 'x', errors, msRange(0, 600_000)), undefined);
    assert.match(errors[0].message, /whole number of milliseconds/);
  });

  it('formats canonical text in the largest whole unit up to seconds, and bounds up to days', () => {
    assert.equal(formatDuration(1500), '1500us');
    assert.equal(formatDuration(2000), '2ms');
    assert.equal(formatDuration(3_000_000), '3s');
    assert.equal(formatDuration(1_500_000), '1500ms');
    assert.equal(describeDuration(3650 * 86_400_000_000), '3650d');
    assert.equal(describeDuration(3_600_000_000), '1h');
    assert.equal(describeDuration(TIMER_MAX_MS * 1000), '2147483647ms');
  });
});
