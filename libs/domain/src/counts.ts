import type { FieldError } from './errors';
import { describeValue } from './json';
import type { Limit } from './quota.types';

export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 10_000;
/** PID_MAX_LIMIT on 64-bit kernels: no pid namespace can hold more. */
export const PIDS_MAX = 4_194_304;
/** io.max stores iops as a 32-bit unsigned integer and silently clamps anything larger. */
export const IO_OPS_MAX = 4_294_967_295;

export interface CountRange {
  min: number;
  max: number;
  /** whether the string "max" (unlimited) is accepted */
  unlimited: boolean;
  /** the noun for the message, e.g. "a weight" */
  what: string;
  /** extra context appended to the allowed range, e.g. "(the kernel default is 100)" */
  note?: string;
}

/**
 * An integer count given as a JSON number. Numeric strings are refused rather than converted: counts
 * have no units, so there is no reason to quote them, and the canonical form is a number.
 */
export function parseCount(value: unknown, path: string, errors: FieldError[], range: CountRange): Limit | undefined {
  if (value === 'max' && range.unlimited) return 'max';
  if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max) return value === 0 ? 0 : value;
  const allowed = `${range.what}: an integer from ${range.min} to ${range.max}${range.unlimited ? ', or "max" for unlimited' : ''}${range.note ? ` ${range.note}` : ''}`;
  const quoted = typeof value === 'string' && /^-?[0-9]+$/.test(value) ? ' (as a JSON number, not a string)' : '';
  errors.push({ path, message: `must be ${allowed}${quoted}; got ${describeValue(value)}` });
  return undefined;
}

/** cpu.weight and io.weight: 1..10000. */
export function parseWeight(value: unknown, path: string, errors: FieldError[]): number | undefined {
  const weight = parseCount(value, path, errors, { min: WEIGHT_MIN, max: WEIGHT_MAX, unlimited: false, what: 'a weight', note: '(the kernel default is 100)' });
  return typeof weight === 'number' ? weight : undefined;
}

/** pids.max: 1..4194304 or "max". Zero would stop the tenant from starting any process at all. */
export function parsePidsMax(value: unknown, path: string, errors: FieldError[]): Limit | undefined {
  return parseCount(value, path, errors, { min: 1, max: PIDS_MAX, unlimited: true, what: 'a process count' });
}

/**
 * io.max riops/wiops. The kernel refuses 0 (ERANGE), and many kernel releases (Debian 12's among them)
 * also refuse 1, so 2 is the smallest value every supported kernel takes.
 */
export function parseIoOps(value: unknown, path: string, errors: FieldError[]): Limit | undefined {
  return parseCount(value, path, errors, {
    min: 2,
    max: IO_OPS_MAX,
    unlimited: true,
    what: 'a number of I/O operations per second',
    note: '(the kernel refuses 0 and 1)',
  });
}
