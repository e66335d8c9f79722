import type { FieldError } from './errors';
import { type Measure, readMeasure } from './measure';

/**
 * The one duration reader of Governor: quota periods and bursts, the configuration's intervals and
 * retentions, a workload's stop grace and a key's lifetime all read `<number><unit>` here, each with
 * the range its use allows.
 */
const MICROSECONDS: Record<string, bigint> = {
  us: 1n,
  µs: 1n,
  μs: 1n,
  ms: 1000n,
  s: 1_000_000n,
  m: 60_000_000n,
  h: 3_600_000_000n,
  d: 86_400_000_000n,
};

/** The longest delay setTimeout and setInterval honour; past it Node.js fires after 1 ms instead. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

export const DURATION_EXPECTED =
  'a duration: a string of a number and a unit, us (or µs), ms, s, m, h or d, that is a whole number of microseconds, e.g. "100ms" or "1.5h"';

/** The bounds of one use of a duration, in microseconds; `why` explains the maximum in messages. */
export interface DurationRange {
  min: number;
  max: number;
  why?: string;
}

const ANY: DurationRange = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** A range in milliseconds, as configuration and timers think. */
export function msRange(minMs: number, maxMs: number, why?: string): DurationRange {
  return { min: minMs * 1000, max: maxMs * 1000, why };
}

/** A duration both as a number (for arithmetic) and in its canonical text (for storage and the API). */
export interface Duration {
  microseconds: number;
  text: string;
}

/** A duration: `"100ms"`, `"1.5ms"`, `"1s"`, `"250us"`, `"5m"`, `"7d"`, within `range`. */
export function parseDuration(value: unknown, path: string, errors: FieldError[], range: DurationRange = ANY): Duration | undefined {
  const micros = readMeasure(value, path, errors, measureOf(range));
  if (micros === undefined || micros === 'max') return undefined;
  return { microseconds: Number(micros), text: formatDuration(Number(micros)) };
}

/** A duration in whole milliseconds within `range`, for timers and ages; undefined after one error. */
export function parseMilliseconds(value: unknown, path: string, errors: FieldError[], range: DurationRange): number | undefined {
  const duration = parseDuration(value, path, errors, range);
  if (duration === undefined) return undefined;
  if (duration.microseconds % 1000 !== 0) {
    errors.push({ path, message: `must be a whole number of milliseconds; got ${JSON.stringify(value)}` });
    return undefined;
  }
  return duration.microseconds / 1000;
}

/** 1500 → "1500us", 2000 → "2ms", 1000000 → "1s", 0 → "0s". Canonical quota text: never minutes or more. */
export function formatDuration(microseconds: number): string {
  if (microseconds % 1_000_000 === 0) return `${microseconds / 1_000_000}s`;
  if (microseconds % 1000 === 0) return `${microseconds / 1000}ms`;
  return `${microseconds}us`;
}

/** A bound as people read it: the largest whole unit, days included ("3650d", "1h", "2147483647ms"). */
export function describeDuration(microseconds: number): string {
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const factor = Number(MICROSECONDS[unit]);
    if (microseconds !== 0 && microseconds % factor === 0) return `${microseconds / factor}${unit}`;
  }
  return microseconds === 0 ? '0s' : `${microseconds}us`;
}

const BASE: Omit<Measure, 'min' | 'max' | 'tooSmall' | 'tooLarge'> = {
  expected: DURATION_EXPECTED,
  // Both micro signs: U+00B5 (keyboard µ) and U+03BC (Greek mu) look the same and both are in use.
  pattern: /^([0-9]+(?:\.[0-9]+)?)(us|µs|μs|ms|s|m|h|d)$/,
  unitFactor: (unit) => MICROSECONDS[unit],
  unlimited: false,
  fraction: 'must be a whole number of microseconds',
  hint: (text) => (/^[0-9.]+$/.test(text) ? 'needs a unit: us, ms, s, m, h or d' : undefined),
};

function measureOf(range: DurationRange): Measure {
  if (range === ANY) {
    return { ...BASE, min: 0n, max: BigInt(ANY.max), tooSmall: 'must not be negative', tooLarge: `must be at most ${ANY.max}us` };
  }
  const bounds = `from ${describeDuration(range.min)} to ${describeDuration(range.max)}${range.why ? ` (${range.why})` : ''}`;
  const allowed = `must be ${bounds}`;
  return { ...BASE, expected: `${DURATION_EXPECTED}, ${bounds}`, min: BigInt(range.min), max: BigInt(range.max), tooSmall: allowed, tooLarge: allowed };
}
