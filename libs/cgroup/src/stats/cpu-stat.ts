import { parseFlatKeyed } from './flat-keyed';

/** cpu.stat of one cgroup. Times are microseconds; counts are event counts. */
export interface CpuStat {
  /** usage_usec: total CPU time. Present on every cgroup, cpu controller or not. */
  usageUsec: number;
  /** user_usec: CPU time in user mode. Always present. */
  userUsec: number;
  /** system_usec: CPU time in kernel mode. Always present. */
  systemUsec: number;
  /** nice_usec: user time of niced tasks. Mainline 6.13+, backported to some stable series. */
  niceUsec?: number;
  /** core_sched.force_idle_usec: 5.18+, and only when the kernel has CONFIG_SCHED_CORE. */
  coreSchedForceIdleUsec?: number;
  /** nr_periods: enforcement periods that elapsed while runnable. cpu controller only. */
  nrPeriods?: number;
  /** nr_throttled: periods in which the group ran out of cpu.max quota. cpu controller only. */
  nrThrottled?: number;
  /** throttled_usec: time spent throttled by this group's own cpu.max. cpu controller only. */
  throttledUsec?: number;
  /** nr_bursts: periods that used cpu.max.burst. cpu controller, 5.16+ (not 5.10 or 5.15). */
  nrBursts?: number;
  /** burst_usec: CPU time run beyond the quota thanks to cpu.max.burst. cpu controller, 5.16+. */
  burstUsec?: number;
}

/** cpu.stat.local of one cgroup. */
export interface CpuStatLocal {
  /** throttled_usec: time this group sat throttled, by its own or an ancestor's cpu.max. 6.6+. */
  throttledUsec?: number;
}

/**
 * nr_periods, nr_throttled and nr_bursts are C ints printed with %d (struct cfs_bandwidth), so
 * they print negative after 2^31 events: at the minimum cpu.max period of 1 ms nr_periods gets
 * there in under 25 days. Read back as the unsigned 32-bit count; it still wraps at 2^32, so
 * consumers computing rates must allow for one wrap between reads.
 */
function unsignedInt32(value: number | undefined): number | undefined {
  return value !== undefined && value < 0 && value >= -(2 ** 31) ? value + 2 ** 32 : value;
}

/**
 * Parses cpu.stat (flat keyed).
 *
 * - usage_usec, user_usec, system_usec: every cgroup, the root included, with or without the cpu
 *   controller (they come from cgroup core's rstat). They are the only keys when the cpu
 *   controller is not enabled for the cgroup (e.g. the controller-less v2 tree of a hybrid host).
 * - nice_usec: mainline 6.13 (backported to some stable trees, so the version does not predict it).
 * - core_sched.force_idle_usec: 5.18+ with CONFIG_SCHED_CORE only (Debian's 6.1 has it off).
 * - nr_periods, nr_throttled, throttled_usec: with the cpu controller (CONFIG_CFS_BANDWIDTH).
 * - nr_bursts, burst_usec: with the cpu controller, 5.16+. cpu.max.burst itself came in 5.14,
 *   its statistics two releases later; 5.10 and 5.15 have neither key.
 *
 * Unknown keys are ignored. Returns undefined when one of the three always-present keys is
 * missing (an empty read, or not a cpu.stat at all).
 */
export function parseCpuStat(text: string): CpuStat | undefined {
  const values = parseFlatKeyed(text);
  const usageUsec = values.get('usage_usec');
  const userUsec = values.get('user_usec');
  const systemUsec = values.get('system_usec');
  if (usageUsec === undefined || userUsec === undefined || systemUsec === undefined) return undefined;

  const stat: CpuStat = { usageUsec, userUsec, systemUsec };
  const optional: Array<[Exclude<keyof CpuStat, 'usageUsec' | 'userUsec' | 'systemUsec'>, number | undefined]> = [
    ['niceUsec', values.get('nice_usec')],
    ['coreSchedForceIdleUsec', values.get('core_sched.force_idle_usec')],
    ['nrPeriods', unsignedInt32(values.get('nr_periods'))],
    ['nrThrottled', unsignedInt32(values.get('nr_throttled'))],
    ['throttledUsec', values.get('throttled_usec')],
    ['nrBursts', unsignedInt32(values.get('nr_bursts'))],
    ['burstUsec', values.get('burst_usec')],
  ];
  for (const [field, value] of optional) if (value !== undefined) stat[field] = value;
  return stat;
}

/**
 * Parses cpu.stat.local (flat keyed, 6.6+): throttled_usec, the time this group sat throttled
 * whichever of its own or an ancestor's cpu.max ran out, where cpu.stat's throttled_usec only
 * counts throttling by the group's own limit (so it stays 0 for a child of a limited parent).
 * The file belongs to cgroup core, so it exists even without the cpu controller and is then
 * empty (captured so on 6.18's controller-less v2 tree): that gives {}, as does "" for the file
 * a pre-6.6 kernel lacks.
 */
export function parseCpuStatLocal(text: string): CpuStatLocal {
  const throttledUsec = parseFlatKeyed(text).get('throttled_usec');
  return throttledUsec === undefined ? {} : { throttledUsec };
}
