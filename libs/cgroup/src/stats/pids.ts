import { parseFlatKeyed, parseMaxOrInteger, splitLines } from './flat-keyed';

/** pids.events or pids.events.local of one cgroup. */
export interface PidsEvents {
  /** max: forks refused because of pids.max (which cgroup counts them changed in 6.11, see below). */
  max: number;
}

/**
 * Parses pids.events (flat keyed, non-root cgroups) and pids.events.local (6.11+, same shape).
 * "max" is on every supported kernel, but its meaning changed in 6.11: up to 6.10 it counts the
 * forks of this cgroup's own tasks that were refused, whichever cgroup's pids.max refused them;
 * from 6.11 it counts the times this cgroup's limit was hit, hierarchically, and
 * pids.events.local counts them for this cgroup alone (the pids_localevents mount option brings
 * the old meaning back). Unknown keys are ignored. Returns undefined when "max" is missing.
 */
export function parsePidsEvents(text: string): PidsEvents | undefined {
  const max = parseFlatKeyed(text).get('max');
  return max === undefined ? undefined : { max };
}

/**
 * Parses a single-value file: a limit that may be "max" (pids.max, memory.max, memory.high,
 * memory.swap.max, memory.swap.high, memory.zswap.max, cpu.max.burst, cgroup.max.depth, ...) or a
 * plain count (pids.current, pids.peak, memory.current, memory.peak (5.19+), memory.swap.current,
 * memory.min, memory.low, cpu.weight, ...). The kernel prints "max" for "no limit" rather than a
 * sentinel number; memory values are bytes rounded to pages.
 *
 * Returns undefined when the text is not exactly one "max" or non-negative integer token (an
 * empty read, a two-token file such as cpu.max, or garbage). Surrounding whitespace is ignored.
 */
export function parseLimitValue(text: string): number | 'max' | undefined {
  const lines = splitLines(text);
  if (lines.length !== 1 || lines[0].length !== 1) return undefined;
  return parseMaxOrInteger(lines[0][0]);
}
