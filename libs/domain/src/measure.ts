import { exactDecimal, MAX_NUMBER_TEXT, numberTextHint, wholeMultiple } from './decimal';
import type { FieldError } from './errors';
import { describeValue } from './json';
import type { Unlimited } from './quota.types';

/**
 * How to read one kind of quantity (a size, a rate, cores, a duration) into a whole number of its base
 * unit (bytes, bits per second, ten-thousandths of a core, microseconds). The shared reader below gives
 * every kind the same rules for whitespace, signs, exponents, non-ASCII digits, fractions and bounds.
 */
export interface Measure {
  /** what is allowed, as it follows "must be": `a size: bytes as an integer, or …` */
  expected: string;
  /** `^(number)(unit)$`; group 1 is the decimal, group 2 the unit (may be empty) */
  pattern: RegExp;
  /** base units per one of the given unit (matched text of group 2, '' when absent) */
  unitFactor(unit: string): bigint;
  /** base units per JSON number, or undefined when JSON numbers are refused */
  numberFactor?: bigint;
  /** whether the string "max" (unlimited) is accepted */
  unlimited: boolean;
  min: bigint;
  max: bigint;
  /** says why a value is not a whole number of base units, e.g. "fractions of a byte are not allowed" */
  fraction: string;
  tooSmall: string;
  tooLarge: string;
  /** a kind-specific explanation for text that does not match `pattern` */
  hint?(text: string): string | undefined;
}

export function readMeasure(value: unknown, path: string, errors: FieldError[], measure: Measure): bigint | Unlimited | undefined {
  const fail = (problem: string): undefined => {
    errors.push({ path, message: `${problem}; got ${describeValue(value)}` });
    return undefined;
  };
  const expected = `expected ${measure.expected}`;
  let base: bigint | undefined;
  if (typeof value === 'number' && measure.numberFactor !== undefined) {
    if (!Number.isFinite(value)) return fail(`must be a finite number; ${expected}`);
    if (value < 0) return fail(`must not be negative; ${expected}`);
    // Integers go through BigInt exactly (String(2 ** 70) would be exponent notation); other numbers
    // through their shortest decimal text, which is what the client wrote in its JSON.
    const decimal = Number.isInteger(value) ? { numerator: BigInt(value), decimals: 0 } : exactDecimal(String(value));
    base = decimal && wholeMultiple(decimal, measure.numberFactor);
    if (base === undefined) return fail(`${measure.fraction}; ${expected}`);
  } else if (typeof value === 'string') {
    if (value === 'max' && measure.unlimited) return 'max';
    if (value.length > MAX_NUMBER_TEXT) return fail(`is too long (at most ${MAX_NUMBER_TEXT} characters); ${expected}`);
    const match = measure.pattern.exec(value);
    if (!match) {
      const hint = value === '' ? undefined : (numberTextHint(value) ?? measure.hint?.(value));
      return fail(hint ? `${hint}; ${expected}` : `must be ${measure.expected}`);
    }
    const decimal = exactDecimal(match[1]);
    base = decimal && wholeMultiple(decimal, measure.unitFactor(match[2] ?? ''));
    if (base === undefined) return fail(`${measure.fraction}; ${expected}`);
  } else {
    return fail(`must be ${measure.expected}`);
  }
  if (base < measure.min) return fail(measure.tooSmall);
  if (base > measure.max) return fail(measure.tooLarge);
  return base;
}
