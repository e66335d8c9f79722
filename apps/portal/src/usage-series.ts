import type { Usage, UsagePoint } from './api-types';

/** One poll of /v1/me/usage and when this page received it. */
export interface UsageSample {
  receivedAt: number;
  usage: Usage;
}

const rate = (a: number | undefined, b: number | undefined, seconds: number, scale = 1): number | null =>
  a === undefined || b === undefined || b < a || seconds <= 0 ? null : ((b - a) * scale) / seconds;

/**
 * The point between two polls, as the page measured it: the server samples every GOVERNOR_USAGE_SAMPLE_INTERVAL
 * (15 s unless set), the page polls every 2 s, and this gives the charts and the "now" figures a fresher value
 * in between.
 */
export function livePoint(previous: UsageSample, current: UsageSample): UsagePoint {
  const seconds = (current.receivedAt - previous.receivedAt) / 1000;
  const [a, b] = [previous.usage, current.usage];
  const periods = rate(a.usage.cpu.periods, b.usage.cpu.periods, 1);
  const throttled = rate(a.usage.cpu.throttledPeriods, b.usage.cpu.throttledPeriods, 1);
  return {
    at: new Date(current.receivedAt).toISOString(),
    cpuCores: rate(a.usage.cpu.usageSeconds, b.usage.cpu.usageSeconds, seconds),
    memoryBytes: b.usage.memory.currentBytes ?? null,
    pids: b.usage.pids.current ?? null,
    receiveBitsPerSecond: rate(a.network?.receiveBytes, b.network?.receiveBytes, seconds, 8),
    transmitBitsPerSecond: rate(a.network?.transmitBytes, b.network?.transmitBytes, seconds, 8),
    throttledRatio: periods === null || throttled === null ? null : periods === 0 ? 0 : throttled / periods,
  };
}

/** The server's history, followed by the page's live points that are newer than its last sample. */
export function chartPoints(history: readonly UsagePoint[], live: readonly UsagePoint[]): UsagePoint[] {
  const last = history.at(-1);
  const since = last === undefined ? -Infinity : Date.parse(last.at);
  return [...history, ...live.filter((p) => Date.parse(p.at) > since)];
}

/** The largest value of a series, ignoring gaps; 0 when there is none. */
export function seriesMax(values: ReadonlyArray<number | null>): number {
  return values.reduce<number>((max, v) => (v !== null && v > max ? v : max), 0);
}

/** A round upper bound for a chart's scale, at or above both the data and the limit: 1, 2, 2.5 or 5 × 10ⁿ. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value * (1 - 1e-9)) ?? 10;
  return step * magnitude;
}

/** The same for sizes in bytes: the next power of two, so that a 256 MiB quota tops the scale at 256 MiB. */
export function binaryCeiling(value: number): number {
  return value > 0 ? 2 ** Math.ceil(Math.log2(value) - 1e-9) : 1;
}
