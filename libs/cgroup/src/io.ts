import type { IoDeviceLimit, IoQuota } from '../../domain/src/quota.types';
import { type IoMaxEntry, parseIoMax as parseIoMaxLines } from './stats/cpu-max';
import { type FileTarget, limitText } from './target';

export const IO_WEIGHT_DEFAULT = 100;
const IO_KEYS = ['rbps', 'wbps', 'riops', 'wiops'] as const;
type IoLimits = Omit<IoMaxEntry, 'device'>;

/** io.max keyed by device: it lists only devices with a limit. */
export function parseIoMax(text: string): Map<string, IoLimits> {
  return new Map(parseIoMaxLines(text).map(({ device, ...limits }) => [device, limits]));
}

function limitsOf(entry: IoDeviceLimit): IoLimits {
  return { rbps: entry.rbps ?? 'max', wbps: entry.wbps ?? 'max', riops: entry.riops ?? 'max', wiops: entry.wiops ?? 'max' };
}

const line = (device: string, limits: IoLimits) => `${device} ${IO_KEYS.map((key) => `${key}=${limitText(limits[key])}`).join(' ')}`;
const sameLimits = (a: IoLimits | undefined, b: IoLimits) => a !== undefined && IO_KEYS.every((key) => a[key] === b[key]);
const UNLIMITED: IoLimits = { rbps: 'max', wbps: 'max', riops: 'max', wiops: 'max' };

/**
 * io.max takes one device per write. A device the quota no longer names, but the file still lists, is
 * written back to all "max", which makes the kernel drop its line.
 */
export function ioMaxTargets(io: IoQuota | undefined, currentText: string): FileTarget[] {
  const current = parseIoMax(currentText);
  const wanted = new Map((io?.limits ?? []).map((entry) => [entry.device, limitsOf(entry)]));
  const targets: FileTarget[] = [];
  for (const [device, limits] of wanted) {
    targets.push({ file: 'io.max', value: line(device, limits), same: (text) => sameLimits(parseIoMax(text).get(device), limits) });
  }
  for (const device of current.keys()) {
    if (!wanted.has(device)) targets.push({ file: 'io.max', value: line(device, UNLIMITED), same: (text) => !parseIoMax(text).has(device) });
  }
  return targets;
}

/** "default 100" (per-device weights are not part of the quota). */
export function ioWeightTarget(io: IoQuota | undefined): FileTarget {
  const weight = io?.weight ?? IO_WEIGHT_DEFAULT;
  return {
    file: 'io.weight',
    value: `default ${weight}`,
    same: (text) => /^default (\d+)$/m.exec(text)?.[1] === String(weight),
  };
}
