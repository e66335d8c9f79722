import { isDeviceNumber, parseKernelInteger, parseMaxOrInteger, splitLines } from './flat-keyed';
import { parseNestedKeyed } from './nested-keyed';

/** cpu.max: a quota of CPU time per period. */
export interface CpuMax {
  /** CPU time the group may use per period, in microseconds, or "max" for no limit. */
  quotaUsec: number | 'max';
  /** The period in microseconds (default 100000). */
  periodUsec: number;
}

/** One device's line of io.max: each limit a number or "max". */
export interface IoMaxEntry {
  /** The block device as "MAJ:MIN". */
  device: string;
  /** rbps: read bytes per second. */
  rbps: number | 'max';
  /** wbps: written bytes per second. */
  wbps: number | 'max';
  /** riops: read I/Os per second. */
  riops: number | 'max';
  /** wiops: write I/Os per second. */
  wiops: number | 'max';
}

/** io.weight (or io.bfq.weight): the cgroup's default weight and per-device overrides. */
export interface IoWeight {
  /** The weight for devices without an override, 1-10000 (default 100). */
  default: number;
  /** Per-device weights keyed by "MAJ:MIN"; only devices given one are listed. */
  devices: Record<string, number>;
}

/**
 * Parses cpu.max (non-root cgroups, cpu controller): "$QUOTA $PERIOD", e.g. "max 100000" (the
 * default, no limit) or "50000 100000" (half a CPU). The kernel always prints both tokens, even
 * though a write may give the quota alone. The burst allowance is a separate file, cpu.max.burst
 * (5.14+, read it with parseLimitValue). Returns undefined for anything else.
 */
export function parseCpuMax(text: string): CpuMax | undefined {
  const lines = splitLines(text);
  if (lines.length !== 1 || lines[0].length !== 2) return undefined;
  const quotaUsec = parseMaxOrInteger(lines[0][0]);
  const periodUsec = parseKernelInteger(lines[0][1]);
  if (quotaUsec === undefined || periodUsec === undefined || periodUsec <= 0) return undefined;
  return { quotaUsec, periodUsec };
}

/**
 * Parses io.max (nested keyed, non-root cgroups, io controller with CONFIG_BLK_DEV_THROTTLING):
 * "8:0 rbps=max wbps=1048576 riops=max wiops=max". A device whose four limits are all "max" is
 * not listed, so a cgroup without limits has an empty io.max (an empty array). Kernels built
 * with CONFIG_BLK_DEV_THROTTLING_LOW (removed in 6.9) may add "idle=" and "latency=" fields,
 * which are ignored. A line missing one of the four limits is skipped.
 */
export function parseIoMax(text: string): IoMaxEntry[] {
  const entries: IoMaxEntry[] = [];
  for (const { key, fields } of parseNestedKeyed(text)) {
    if (!isDeviceNumber(key)) continue;
    const limit = (name: string) => {
      const value = fields.get(name);
      return value === undefined ? undefined : parseMaxOrInteger(value);
    };
    const [rbps, wbps, riops, wiops] = [limit('rbps'), limit('wbps'), limit('riops'), limit('wiops')];
    if (rbps === undefined || wbps === undefined || riops === undefined || wiops === undefined) continue;
    entries.push({ device: key, rbps, wbps, riops, wiops });
  }
  return entries;
}

/**
 * Parses io.weight (non-root cgroups, with CONFIG_BLK_CGROUP_IOCOST) or io.bfq.weight (with the
 * BFQ scheduler); both are flat keyed with a "default" line and one "MAJ:MIN weight" line per
 * device given its own weight:
 *   default 100
 *   8:0 200
 * Returns undefined without a "default" line. Malformed device lines are skipped.
 */
export function parseIoWeight(text: string): IoWeight | undefined {
  let fallback: number | undefined;
  const devices: Record<string, number> = {};
  for (const fields of splitLines(text)) {
    if (fields.length !== 2) continue;
    const [key, token] = fields;
    const weight = parseKernelInteger(token);
    if (weight === undefined || weight < 0) continue;
    if (key === 'default') fallback = weight;
    else if (isDeviceNumber(key)) devices[key] = weight;
  }
  return fallback === undefined ? undefined : { default: fallback, devices };
}
