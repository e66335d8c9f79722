import type { MemoryQuota } from '../../domain/src/quota.types';
import { type FileTarget, limitTarget } from './target';

/**
 * The kernel keeps memory limits in pages and reads them back rounded down, so a limit is compared in whole
 * pages of this system's size: 4 KiB on x86, but 16 KiB or 64 KiB on some arm64 and ppc64 kernels, where a
 * 4 KiB rounding would see drift on every pass and rewrite for ever.
 */
export const pagesDown = (bytes: number, pageSize: number): number => Math.floor(bytes / pageSize) * pageSize;

export interface MemoryFeatures {
  swap: boolean;
  /** sysconf(_SC_PAGESIZE), read once at start */
  pageSize: number;
}

export interface MemoryTargets {
  max: FileTarget;
  high: FileTarget;
  low: FileTarget;
  min: FileTarget;
  swapMax: FileTarget | undefined;
}

/** Every memory file with its value; an absent field is the kernel default (max for limits, 0 for protection). */
export function memoryTargets(memory: MemoryQuota | undefined, features: MemoryFeatures): MemoryTargets {
  const toPages = (bytes: number) => pagesDown(bytes, features.pageSize);
  return {
    max: limitTarget('memory.max', memory?.max ?? 'max', toPages),
    high: limitTarget('memory.high', memory?.high ?? 'max', toPages),
    low: limitTarget('memory.low', memory?.low ?? 0, toPages),
    min: limitTarget('memory.min', memory?.min ?? 0, toPages),
    swapMax: features.swap ? limitTarget('memory.swap.max', memory?.swapMax ?? 'max', toPages) : undefined,
  };
}

/** Whether `next` is a lower limit than `current` ("max" is the highest). */
export function lowers(next: number | 'max', current: number | 'max'): boolean {
  if (next === 'max') return false;
  return current === 'max' || next < current;
}
