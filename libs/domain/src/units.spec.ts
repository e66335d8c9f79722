import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from './errors';
import type { Parser } from './json';
import { formatCores, parseCores, parseIoBytes, parseRate, parseSize } from './units';

/** Runs a parser and returns what it produced and the errors it reported. */
function run<T>(parse: Parser<T>, value: unknown): { value: T | undefined; errors: FieldError[] } {
  const errors: FieldError[] = [];
  return { value: parse(value, 'x', errors), errors };
}

function accepts<T>(parse: Parser<T>, input: unknown, expected: T): void {
  const result = run(parse, input);
  assert.deepEqual(result.errors, [], `${JSON.stringify(input)} should be accepted`);
  assert.deepEqual(result.value, expected, `${JSON.stringify(input)} → ${JSON.stringify(expected)}`);
}

/** Asserts one error at the given path whose message matches every pattern. */
function rejects<T>(parse: Parser<T>, input: unknown, ...patterns: RegExp[]): void {
  const result = run(parse, input);
  assert.equal(result.value, undefined, `${String(input)} should be refused`);
  assert.equal(result.errors.length, 1, `${String(input)} gives one error`);
  assert.equal(result.errors[0].path, 'x');
  for (const pattern of patterns) assert.match(result.errors[0].message, pattern, `message for ${String(input)}`);
}

const SIZE_ALLOWED = /Ki\/Mi\/Gi\/Ti.*K\/M\/G\/T.*"max"/;

describe('parseSize', () => {
  it('accepts bytes as a JSON integer, including 0', () => {
    accepts(parseSize, 0, 0);
    accepts(parseSize, -0, 0);
    accepts(parseSize, 4096, 4096);
    accepts(parseSize, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  });

  it('reads binary and decimal suffixes exactly', () => {
    accepts(parseSize, '0', 0);
    accepts(parseSize, '512', 512);
    accepts(parseSize, '1Ki', 1024);
    accepts(parseSize, '512Mi', 512 * 1024 ** 2);
    accepts(parseSize, '2Gi', 2 * 1024 ** 3);
    accepts(parseSize, '1Ti', 1024 ** 4);
    accepts(parseSize, '4Pi', 4 * 1024 ** 5);
    accepts(parseSize, '50M', 50_000_000);
    accepts(parseSize, '1K', 1000);
    accepts(parseSize, '3G', 3e9);
    accepts(parseSize, '2T', 2e12);
    accepts(parseSize, '007Mi', 7 * 1024 ** 2);
  });

  it('accepts a decimal fraction when the result is a whole number of bytes', () => {
    accepts(parseSize, '1.5Gi', 1.5 * 1024 ** 3);
    accepts(parseSize, '0.5Ki', 512);
    accepts(parseSize, '1.0', 1);
    accepts(parseSize, '0.001K', 1);
  });

  it('refuses fractions of a byte, as numbers and as text', () => {
    for (const input of ['0.5', 0.5, 1.5, '0.1Ki', '1.0001K']) rejects(parseSize, input, /whole number of bytes/, /fractions of a byte/, SIZE_ALLOWED);
  });

  it('accepts "max" as unlimited but not other spellings of it', () => {
    accepts(parseSize, 'max', 'max');
    for (const input of ['MAX', 'Max', 'unlimited', 'inf', '-1']) rejects(parseSize, input, SIZE_ALLOWED);
  });

  it('accepts exactly 2^53-1 bytes and refuses 2^53 with the maximum and "max" in the message', () => {
    accepts(parseSize, '9007199254740991', 9007199254740991);
    for (const input of ['9007199254740992', 2 ** 53, '8Pi', '16Ei', '1E', '9223372036854775808', 2 ** 63, 2 ** 64, '18446744073709551616', 1e300]) {
      rejects(parseSize, input, /at most 9007199254740991 bytes \(2\^53-1, about 8 PiB\)/, /use "max" for unlimited/);
    }
  });

  it('refuses negative sizes, as numbers and as text', () => {
    for (const input of [-1, -0.5, '-1', '-1Gi', -(2 ** 63)]) rejects(parseSize, input, /must not be negative/);
  });

  it('refuses NaN and Infinity', () => {
    for (const input of [NaN, Infinity, -Infinity]) rejects(parseSize, input, /finite number/, SIZE_ALLOWED);
  });

  it('refuses whitespace around or inside a size rather than trimming it', () => {
    for (const input of [' 1Gi', '1Gi ', '\t512', '1 Gi', '1Gi\n', '\u00a01Gi']) rejects(parseSize, input, /whitespace/, SIZE_ALLOWED);
  });

  it('refuses digits that are not ASCII', () => {
    for (const input of ['٣', '５Gi', '१२Mi', '1٣']) rejects(parseSize, input, /only ASCII digits 0-9/);
  });

  it('refuses exponent notation in text', () => {
    for (const input of ['1e3', '1E3', '1.5e9', '1e-3', '2e3Mi']) rejects(parseSize, input, /exponent notation/, SIZE_ALLOWED);
  });

  it('refuses an empty string, a bare suffix, a lone decimal point and unknown suffixes', () => {
    rejects(parseSize, '', /got an empty string/, SIZE_ALLOWED);
    for (const input of ['Gi', '.5Gi', '1.Gi', '1..5', '12X', '0x10', '1_000', '+1', '1Kib', 'Infinity', 'NaN']) rejects(parseSize, input, SIZE_ALLOWED);
    rejects(parseSize, '12X', /got "12X"/);
    rejects(parseSize, '+1', /"\+" sign/);
  });

  it('names the slip when a size ends in "B" or has a suffix in the wrong case', () => {
    for (const input of ['512MiB', '1GB', '100B', '1kb']) rejects(parseSize, input, /must not end in "B"/);
    for (const input of ['1gi', '512mi', '1k', '1KI']) rejects(parseSize, input, /case-sensitive/);
  });

  it('refuses wrong JSON types and says what a size is', () => {
    for (const [input, got] of [
      [true, 'got true'],
      [null, 'got null'],
      [[1], 'got an array'],
      [{ bytes: 1 }, 'got an object'],
      [undefined, 'got nothing'],
    ] as const) {
      rejects(parseSize, input, SIZE_ALLOWED, new RegExp(got));
    }
  });

  it('refuses absurdly long input without working through it', () => {
    rejects(parseSize, '1'.repeat(10_000), /too long/);
    rejects(parseSize, '1'.repeat(10_000), /…"$/);
  });
});

describe('parseIoBytes', () => {
  it('accepts sizes per second from 2 up, and "max"', () => {
    accepts(parseIoBytes, 2, 2);
    accepts(parseIoBytes, '50M', 50_000_000);
    accepts(parseIoBytes, 'max', 'max');
  });

  it('refuses 0 and 1 because the kernel does, and suggests leaving the field out', () => {
    for (const input of [0, 1, '0', '1']) rejects(parseIoBytes, input, /at least 2 bytes per second/, /leave the field out or use "max"/);
  });
});

describe('parseRate', () => {
  it('accepts bits per second as a JSON integer', () => {
    accepts(parseRate, 1, 1);
    accepts(parseRate, 100_000_000, 100_000_000);
  });

  it('reads bit, Kbit, Mbit, Gbit and Tbit in decimal steps, in any case', () => {
    accepts(parseRate, '100Mbit', 100_000_000);
    accepts(parseRate, '50Mbit', 50_000_000);
    accepts(parseRate, '8bit', 8);
    accepts(parseRate, '1Kbit', 1000);
    accepts(parseRate, '1kbit', 1000);
    accepts(parseRate, '1.5Gbit', 1_500_000_000);
    accepts(parseRate, '2gbit', 2e9);
    accepts(parseRate, '1Tbit', 1e12);
    accepts(parseRate, '1tbit', 1e12);
    accepts(parseRate, '10MBIT', 10_000_000);
    accepts(parseRate, 'max', 'max');
  });

  it('refuses a rate of zero and suggests leaving it out or "max"', () => {
    for (const input of [0, '0bit', '0Mbit']) rejects(parseRate, input, /at least 1 bit per second/, /"max"/);
  });

  it('refuses a unit-less string, because tc would read it as bytes', () => {
    rejects(parseRate, '1000', /needs a unit/, /bytes per second/);
  });

  it('refuses byte units and unknown units, naming the allowed ones', () => {
    for (const input of ['100Mbps', '10MB', '1Mib']) rejects(parseRate, input, /bit, Kbit, Mbit, Gbit or Tbit/);
    rejects(parseRate, '1Pbit', /bit, Kbit, Mbit, Gbit or Tbit/);
  });

  it('refuses fractions of a bit, negatives, exponents, whitespace, unicode digits and overflow', () => {
    rejects(parseRate, '1.5bit', /whole number of bits/);
    rejects(parseRate, 0.5, /whole number of bits/);
    rejects(parseRate, -1, /negative/);
    rejects(parseRate, '-1Mbit', /negative/);
    rejects(parseRate, '1e6bit', /exponent/);
    rejects(parseRate, ' 1Mbit', /whitespace/);
    rejects(parseRate, '１Mbit', /ASCII digits/);
    rejects(parseRate, '', /got an empty string/, /Kbit/);
    rejects(parseRate, 2 ** 63, /at most 9007199254740991/, /"max"/);
    rejects(parseRate, '10000Tbit', /at most 9007199254740991/, /"max"/);
    rejects(parseRate, false, /must be a rate/);
  });
});

describe('parseCores', () => {
  it('accepts numbers and decimal strings and writes them without trailing zeros', () => {
    accepts(parseCores, 1.5, '1.5');
    accepts(parseCores, '1.5', '1.5');
    accepts(parseCores, '1.50', '1.5');
    accepts(parseCores, 2, '2');
    accepts(parseCores, '2.000', '2');
    accepts(parseCores, 0.25, '0.25');
    accepts(parseCores, '0.0001', '0.0001');
    accepts(parseCores, 0.1, '0.1');
    accepts(parseCores, '4096', '4096');
    accepts(parseCores, '01.5', '1.5');
    accepts(parseCores, 'max', 'max');
  });

  it('refuses more than 4 decimal places', () => {
    for (const input of ['0.00001', 1.23456, '1.00001', 1e-7]) rejects(parseCores, input, /at most 4 decimal places/, /0\.0001/);
  });

  it('refuses 0 and negatives, and more than 4096 cores', () => {
    for (const input of [0, '0', '0.0000']) rejects(parseCores, input, /greater than 0 cores/);
    for (const input of [-1, '-0.5']) rejects(parseCores, input, /negative/);
    for (const input of [4096.0001, '4097', 2 ** 63, '9223372036854775808']) rejects(parseCores, input, /at most 4096 cores/, /"max"/);
  });

  it('refuses units, exponents, whitespace, unicode digits, empty strings and wrong types', () => {
    rejects(parseCores, '1500m', /cores: a number or decimal string/);
    rejects(parseCores, '1e0', /exponent/);
    rejects(parseCores, ' 1', /whitespace/);
    rejects(parseCores, '٢', /ASCII digits/);
    rejects(parseCores, '', /got an empty string/, /at most 4096/);
    rejects(parseCores, [1], /got an array/, /"max"/);
  });

  it('formats ten-thousandths of a core', () => {
    assert.equal(formatCores(15_000), '1.5');
    assert.equal(formatCores(1), '0.0001');
    assert.equal(formatCores(10_010), '1.001');
    assert.equal(formatCores(40_960_000), '4096');
  });
});
