import type { CpuQuota } from '../../domain/src/quota.types';
import { CPU_PERIOD_DEFAULT_US } from '../../domain/src/quota-rules';
import { coresInTenThousandths, parseDuration } from '../../domain/src/units';
import { type CpuMax, parseCpuMax } from './stats/cpu-max';
import { type FileTarget, limitTarget } from './target';

export const CPU_WEIGHT_DEFAULT = 100;

/** A canonical duration from a stored quota ("100ms") in microseconds; stored quotas were validated. */
function usec(duration: string): number {
  const parsed = parseDuration(duration, 'duration', []);
  if (parsed === undefined) throw new Error(`not a duration: ${JSON.stringify(duration)}`);
  return parsed.microseconds;
}

export type CpuLimit = CpuMax;

/** What cpu.max should hold: cores × period, rounded to whole microseconds (the kernel's unit). */
export function cpuLimit(cpu: CpuQuota | undefined): CpuLimit {
  const periodUsec = cpu?.period ? usec(cpu.period) : CPU_PERIOD_DEFAULT_US;
  if (cpu?.max === undefined || cpu.max === 'max') return { quotaUsec: 'max', periodUsec };
  return { quotaUsec: Math.round((coresInTenThousandths(cpu.max) * periodUsec) / 10_000), periodUsec };
}

export interface CpuFeatures {
  burst: boolean;
}

/**
 * The cpu files in write order. The kernel refuses a burst above the quota (EINVAL), so when the quota
 * grows it is written before the burst, and when it shrinks the burst goes first.
 */
export function cpuTargets(cpu: CpuQuota | undefined, current: CpuLimit | undefined, features: CpuFeatures): FileTarget[] {
  const limit = cpuLimit(cpu);
  const max: FileTarget = {
    file: 'cpu.max',
    value: `${limit.quotaUsec} ${limit.periodUsec}`,
    same: (text) => {
      const now = parseCpuMax(text);
      return now !== undefined && now.quotaUsec === limit.quotaUsec && now.periodUsec === limit.periodUsec;
    },
  };
  const weight = limitTarget('cpu.weight', cpu?.weight ?? CPU_WEIGHT_DEFAULT);
  if (!features.burst) return [max, weight];
  const burst = limitTarget('cpu.max.burst', cpu?.burst ? usec(cpu.burst) : 0);
  const growing = current === undefined || current.quotaUsec === 'max' || (limit.quotaUsec !== 'max' && limit.quotaUsec >= current.quotaUsec);
  return growing ? [max, burst, weight] : [burst, max, weight];
}
