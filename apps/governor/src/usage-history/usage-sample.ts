/** The raw counters of one tenant at one moment, as read from its cgroup files and its link. */
export interface RawSample {
  at: number;
  cpuUsageUsec?: number;
  nrPeriods?: number;
  nrThrottled?: number;
  memoryBytes?: number;
  pids?: number;
  oomKills?: number;
  receiveBytes?: number;
  transmitBytes?: number;
}

/** One point of a tenant's usage history: rates over the interval that ends at `at`. */
export interface UsagePoint {
  at: string;
  /** CPU time used per second of wall time */
  cpuCores: number | null;
  memoryBytes: number | null;
  pids: number | null;
  /** into the tenant */
  receiveBitsPerSecond: number | null;
  transmitBitsPerSecond: number | null;
  /** the share of CPU periods in which cpu.max throttled the tenant */
  throttledRatio: number | null;
}

/** A point's rates and levels, before the history gives it its time: what a sample computes for every tenant. */
export type UsageRates = Omit<UsagePoint, 'at'>;

const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b < a ? undefined : b - a);

/**
 * The rates between two samples; a counter that went backwards (the cgroup was rebuilt) gives null. The
 * point's time is the current sample's `at`: UsageRing keeps it as a number and formats it only when read.
 */
export function pointBetween(previous: RawSample, current: RawSample): UsageRates {
  const seconds = (current.at - previous.at) / 1000;
  const rate = (d: number | undefined, scale = 1) => (d === undefined || seconds <= 0 ? null : (d * scale) / seconds);
  const periods = delta(previous.nrPeriods, current.nrPeriods);
  const throttled = delta(previous.nrThrottled, current.nrThrottled);
  return {
    cpuCores: rate(delta(previous.cpuUsageUsec, current.cpuUsageUsec), 1e-6),
    memoryBytes: current.memoryBytes ?? null,
    pids: current.pids ?? null,
    receiveBitsPerSecond: rate(delta(previous.receiveBytes, current.receiveBytes), 8),
    transmitBitsPerSecond: rate(delta(previous.transmitBytes, current.transmitBytes), 8),
    throttledRatio: periods === undefined || throttled === undefined ? null : periods === 0 ? 0 : throttled / periods,
  };
}

/** A throttling episode starts when this share of periods is throttled, and ends below the lower mark. */
export const THROTTLING_STARTS = 0.2;
export const THROTTLING_ENDS = 0.05;

export interface SampleFindings {
  /** OOM kills since the previous sample */
  oomKills: number;
  /** whether a throttling episode started or ended with this point */
  throttling: 'started' | 'ended' | undefined;
}

/** What the sampler should report as events between two samples, given whether an episode is open. */
export function findings(previous: RawSample, current: RawSample, point: UsageRates, inEpisode: boolean): SampleFindings {
  const oomKills = delta(previous.oomKills, current.oomKills) ?? 0;
  let throttling: SampleFindings['throttling'];
  if (point.throttledRatio !== null) {
    if (!inEpisode && point.throttledRatio >= THROTTLING_STARTS) throttling = 'started';
    else if (inEpisode && point.throttledRatio < THROTTLING_ENDS) throttling = 'ended';
  }
  return { oomKills, throttling };
}
