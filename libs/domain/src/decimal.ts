/**
 * Exact decimal arithmetic for unit parsing. Floating point would turn "0.1Ki" or "1.15Gi" into values
 * that are off by a fraction and then silently rounded; BigInt keeps every digit, so "is this a whole
 * number of bytes (or microseconds)" is answered exactly and huge inputs cannot lose precision.
 */

/** ASCII digits only: `\d` and Number() would also let through things like "1_000" or "0x10". */
export const DECIMAL = /^([0-9]+)(?:\.([0-9]+))?$/;

/** Input longer than this is refused before any BigInt work, so a megabyte of digits costs nothing. */
export const MAX_NUMBER_TEXT = 64;

/** A decimal as a fraction numerator / 10^decimals, e.g. "1.50" → { numerator: 150n, decimals: 2 }. */
export interface ExactDecimal {
  numerator: bigint;
  decimals: number;
}

export function exactDecimal(text: string): ExactDecimal | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  return { numerator: BigInt(match[1] + fraction), decimals: fraction.length };
}

/** decimal × multiplier when that is a whole number, otherwise undefined. */
export function wholeMultiple(decimal: ExactDecimal, multiplier: bigint): bigint | undefined {
  const scaled = decimal.numerator * multiplier;
  const divisor = 10n ** BigInt(decimal.decimals);
  return scaled % divisor === 0n ? scaled / divisor : undefined;
}

/** Spots the common ways people write numbers that we do not accept, to give a precise hint. */
export function numberTextHint(text: string): string | undefined {
  if (/\s/.test(text)) return 'must not contain whitespace (leading, trailing or inside)';
  if (/^[+-]/.test(text)) return text.startsWith('-') ? 'must not be negative' : 'must not have a "+" sign';
  if (/(?![0-9])\p{Nd}/u.test(text)) return 'must use only ASCII digits 0-9';
  if (/^[0-9]*\.?[0-9]+e[+-]?[0-9]+/i.test(text)) return 'must not use exponent notation';
  return undefined;
}
