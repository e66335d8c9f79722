import type { MemoryQuota } from '../../domain/src/quota.types';
import { type FileTarget, limitTarget } from './target';

/** The kernel keeps memory limits in pages and reads them back rounded down. */
export const PAGE_SIZE = 4096;
const toPages = (bytes: number) => Math.floor(bytes / PAGE_SIZE) * PAGE_SIZE;

export interface MemoryFeatures {
  swap: boolean;
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
