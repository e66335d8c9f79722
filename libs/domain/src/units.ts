import type { FieldError } from './errors';
import { readMeasure, type Measure } from './measure';
import type { Limit } from './quota.types';

export { parseCount, parseIoOps, parsePidsMax, parseWeight, IO_OPS_MAX, PIDS_MAX, WEIGHT_MAX, WEIGHT_MIN } from './counts';
export { formatIdList, parseCpuList, parseMemoryNodeList, CPU_LIMIT, MEMORY_NODE_LIMIT } from './cpu-list';
export { parseDeviceId, DEVICE_MAJOR_MAX, DEVICE_MINOR_MAX } from './device';
export {
  describeDuration,
  DURATION_EXPECTED,
  type Duration,
  type DurationRange,
  formatDuration,
  msRange,
  parseDuration,
  parseMilliseconds,
  TIMER_MAX_MS,
} from './duration';

/**
 * The largest size or rate: 2^53-1, the largest integer a JSON number carries exactly through
 * JavaScript, PostgreSQL jsonb and back. About 8 PiB, far beyond any real limit; "max" means unlimited.
 */
export const LIMIT_MAX = Number.MAX_SAFE_INTEGER;
const limitMaxText = (unit: string) => `${LIMIT_MAX} ${unit} (2^53-1, about 8 PiB)`;

// Pi/Ei (and P/E) are read as well, so that "16Ei" is refused for its size with a useful message
// rather than as an unknown suffix, and so that "4Pi" simply works.
const SIZE_FACTORS: Record<string, bigint> = {
  '': 1n,
  K: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
  E: 1000n ** 6n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};

export const SIZE_EXPECTED =
  'a size: bytes as an integer, or a string of ASCII digits (a decimal point allowed) with an optional Ki/Mi/Gi/Ti/Pi/Ei (binary, 1024^n) or K/M/G/T/P/E (decimal, 1000^n) suffix, or "max"';

const SIZE: Measure = {
  expected: SIZE_EXPECTED,
  pattern: /^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i?)?$/,
  unitFactor: (unit) => SIZE_FACTORS[unit],
  numberFactor: 1n,
  unlimited: true,
  min: 0n,
  max: BigInt(LIMIT_MAX),
  fraction: 'must be a whole number of bytes (fractions of a byte are not allowed)',
  tooSmall: 'must not be negative',
  tooLarge: `must be at most ${limitMaxText('bytes')}; use "max" for unlimited`,
  // Sizes are Kubernetes-style: "512Mi" already means MiB, so a trailing B is a likely slip worth naming.
  hint: (text) =>
    /^[0-9.]+([KMGTPE]i?)?B$/i.test(text)
      ? 'must not end in "B" (write "512Mi", not "512MiB")'
      : /^[0-9.]+[KMGTPE]I?$/i.test(text)
        ? 'has a suffix in the wrong case (suffixes are case-sensitive: K, M, G, T, P, E, optionally followed by a lowercase "i")'
        : undefined,
};

/** A size in bytes: `512`, `"512Mi"`, `"1.5Gi"`, `"50M"`, or `"max"`. Canonical: integer bytes or "max". */
export function parseSize(value: unknown, path: string, errors: FieldError[]): Limit | undefined {
  return toLimit(readMeasure(value, path, errors, SIZE));
}

const IO_BYTES: Measure = {
  ...SIZE,
  expected: SIZE_EXPECTED.replace('a size: bytes', 'bytes per second: bytes'),
  min: 2n,
  tooSmall: 'must be at least 2 bytes per second (the kernel refuses 0 and 1); leave the field out or use "max" for no limit',
  tooLarge: `must be at most ${limitMaxText('bytes per second')}; use "max" for unlimited`,
};

/** io.max rbps/wbps: a size per second, at least 2 (see parseIoOps for why not 0 or 1). */
export function parseIoBytes(value: unknown, path: string, errors: FieldError[]): Limit | undefined {
  return toLimit(readMeasure(value, path, errors, IO_BYTES));
}

const RATE_FACTORS: Record<string, bigint> = { '': 1n, k: 1000n, m: 1000n ** 2n, g: 1000n ** 3n, t: 1000n ** 4n };

export const RATE_EXPECTED = 'a rate: bits per second as an integer, or a string with unit bit, Kbit, Mbit, Gbit or Tbit (decimal, 1000^n), or "max"';

const RATE: Measure = {
  expected: RATE_EXPECTED,
  pattern: /^([0-9]+(?:\.[0-9]+)?)([kmgt]?)bit$/i,
  unitFactor: (unit) => RATE_FACTORS[unit.toLowerCase()],
  numberFactor: 1n,
  unlimited: true,
  min: 1n,
  max: BigInt(LIMIT_MAX),
  fraction: 'must be a whole number of bits per second',
  tooSmall: 'must be at least 1 bit per second; leave the field out or use "max" for no limit',
  tooLarge: `must be at most ${limitMaxText('bits per second')}; use "max" for unlimited`,
  // tc reads a bare number as bytes per second, so a unit-less string is ambiguous, and "bps"/"B" are bytes.
  hint: (text) =>
    /^[0-9.]+$/.test(text)
      ? 'needs a unit (a bare number in tc means bytes per second, so write e.g. "100Mbit"; a JSON number means bits per second)'
      : /^[0-9.]+[kmgt]?(bps|b|byte)$/i.test(text)
        ? 'must be in bits, with unit bit, Kbit, Mbit, Gbit or Tbit (bytes per second are not accepted)'
        : undefined,
};

/** A network rate in bits per second: `1000000`, `"100Mbit"`, `"1.5gbit"`, or `"max"`. */
export function parseRate(value: unknown, path: string, errors: FieldError[]): Limit | undefined {
  return toLimit(readMeasure(value, path, errors, RATE));
}

/** Cores are kept in ten-thousandths: "at most 4 decimal places" is then "a whole number". */
export const CORE_SCALE = 10_000;
export const CORES_MAX = 4096;

export const CORES_EXPECTED = `cores: a number or decimal string greater than 0 and at most ${CORES_MAX}, with at most 4 decimal places (e.g. 0.25 or "1.5"), or "max"`;

const CORES: Measure = {
  expected: CORES_EXPECTED,
  pattern: /^([0-9]+(?:\.[0-9]+)?)()$/,
  unitFactor: () => BigInt(CORE_SCALE),
  numberFactor: BigInt(CORE_SCALE),
  unlimited: true,
  min: 1n,
  max: BigInt(CORES_MAX * CORE_SCALE),
  fraction: 'must have at most 4 decimal places (the smallest step is 0.0001 cores)',
  tooSmall: 'must be greater than 0 cores (at least 0.0001); leave the field out or use "max" for no limit',
  tooLarge: `must be at most ${CORES_MAX} cores; use "max" for unlimited`,
};

/** Cores: `1.5`, `"0.25"`, `"2"`, or `"max"`. Canonical: a decimal string without trailing zeros, or "max". */
export function parseCores(value: unknown, path: string, errors: FieldError[]): string | undefined {
  const units = readMeasure(value, path, errors, CORES);
  if (units === undefined || units === 'max') return units;
  return formatCores(Number(units));
}

/** Ten-thousandths of a core → "1.5". */
export function formatCores(tenThousandths: number): string {
  const whole = Math.floor(tenThousandths / CORE_SCALE);
  const fraction = String(tenThousandths % CORE_SCALE)
    .padStart(4, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Canonical cores ("1.5") → ten-thousandths (15000), for exact arithmetic in the cross-field rules. */
export function coresInTenThousandths(cores: string): number {
  return Math.round(Number(cores) * CORE_SCALE);
}

function toLimit(value: bigint | 'max' | undefined): Limit | undefined {
  return typeof value === 'bigint' ? Number(value) : value;
}
