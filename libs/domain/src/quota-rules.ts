import type { FieldError } from './errors';
import { childPath } from './json';
import type { MemoryQuota } from './quota.types';
import { CORE_SCALE, coresInTenThousandths, formatCores, formatDuration, type Duration } from './units';

/** The kernel's range for the cpu.max period, and its default. */
export const CPU_PERIOD_MIN_US = 1000;
export const CPU_PERIOD_MAX_US = 1_000_000;
export const CPU_PERIOD_DEFAULT_US = 100_000;
/** The kernel refuses a cpu.max quota (cores × period) below 1ms. */
export const CPU_QUOTA_MIN_US = 1000;

export interface CpuFields {
  /** canonical cores or "max"; undefined when absent or invalid */
  max?: string;
  period?: Duration;
  burst?: Duration;
  /** whether the field was in the request, to tell "absent" from "invalid, already reported" */
  maxGiven: boolean;
  periodGiven: boolean;
}

/**
 * Rules between cpu fields. A rule whose input was invalid is skipped: that field already has its own
 * error, and a second one derived from it would only be noise.
 */
export function checkCpu(cpu: CpuFields, path: string, errors: FieldError[]): void {
  let periodUs: number | undefined = CPU_PERIOD_DEFAULT_US;
  if (cpu.period) {
    periodUs = cpu.period.microseconds;
    if (periodUs < CPU_PERIOD_MIN_US || periodUs > CPU_PERIOD_MAX_US) {
      errors.push({
        path: childPath(path, 'period'),
        message: `must be from 1ms to 1s (the kernel's range for the cpu.max period; the default is 100ms); got "${cpu.period.text}"`,
      });
      periodUs = undefined;
    }
  } else if (cpu.periodGiven) {
    periodUs = undefined;
  }
  const periodText = periodUs === undefined ? '' : formatDuration(periodUs);
  const cores = cpu.max === undefined || cpu.max === 'max' ? undefined : coresInTenThousandths(cpu.max);

  // Quota and burst are compared in ten-thousandths of a microsecond, where cores × period is exact.
  if (cores !== undefined && periodUs !== undefined && cores * periodUs < CPU_QUOTA_MIN_US * CORE_SCALE) {
    const least = formatCores(Math.ceil((CPU_QUOTA_MIN_US * CORE_SCALE) / periodUs));
    errors.push({
      path: childPath(path, 'max'),
      message: `must be at least ${least} cores with a period of ${periodText}, because cpu.max × period must be at least 1ms (the kernel's smallest quota); got "${cpu.max}" (a longer period allows fewer cores)`,
    });
  }

  if (cpu.burst === undefined) return;
  if (cores === undefined) {
    // With no quota there is nothing to save up for, and the kernel refuses a burst above the quota.
    if (!(cpu.maxGiven && cpu.max === undefined)) {
      errors.push({
        path: childPath(path, 'burst'),
        message: `needs cpu.max in cores (burst lets a tenant exceed its cpu.max quota by saving up unused time, so without a quota it has no meaning); set cpu.max, or leave burst out; got burst "${cpu.burst.text}" with cpu.max ${cpu.max === 'max' ? '"max"' : 'not set'}`,
      });
    }
    return;
  }
  if (periodUs !== undefined && cpu.burst.microseconds * CORE_SCALE > cores * periodUs) {
    const most = formatDuration(Math.floor((cores * periodUs) / CORE_SCALE));
    errors.push({
      path: childPath(path, 'burst'),
      message: `must be at most cpu.max × period = ${most} (${cpu.max} cores × ${periodText}), from 0s up to that; got "${cpu.burst.text}"`,
    });
  }
}

/** The kernel's protection and limit order: memory.min ≤ memory.low ≤ memory.high ≤ memory.max. */
const MEMORY_ORDER = ['min', 'low', 'high', 'max'] as const;

/**
 * Each set field must not exceed any later set field in MEMORY_ORDER. "max" (unlimited) never binds:
 * memory.high "max" under a numeric memory.max is the kernel default, not a contradiction. Each field
 * gets at most one error, naming its tightest bound, so fixing the reported fields fixes the order.
 */
export function checkMemoryOrder(memory: MemoryQuota, path: string, errors: FieldError[]): void {
  MEMORY_ORDER.forEach((key, i) => {
    const value = memory[key];
    if (typeof value !== 'number') return;
    let bound: { key: string; value: number } | undefined;
    for (const later of MEMORY_ORDER.slice(i + 1)) {
      const limit = memory[later];
      if (typeof limit === 'number' && (bound === undefined || limit < bound.value)) bound = { key: later, value: limit };
    }
    if (bound && value > bound.value) {
      errors.push({
        path: childPath(path, key),
        message: `must be at most ${childPath(path, bound.key)} (${bound.value} bytes), because memory must satisfy min ≤ low ≤ high ≤ max; got ${value} bytes`,
      });
    }
  });
}

/** One entry per device: io.max has one line per device, so a second entry would silently win. */
export function checkIoDevicesUnique(devices: ReadonlyArray<string | undefined>, path: string, errors: FieldError[]): void {
  const firstIndex = new Map<string, number>();
  devices.forEach((device, i) => {
    if (device === undefined) return;
    const first = firstIndex.get(device);
    if (first === undefined) firstIndex.set(device, i);
    else
      errors.push({
        path: `${path}[${i}].device`,
        message: `repeats device "${device}" of ${path}[${first}]; each device may have only one entry, with all its limits`,
      });
  });
}
