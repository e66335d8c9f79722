import { parseLimitValue } from './stats/pids';

/** One file a reconcile wants to hold a value, and how to tell whether it already does. */
export interface FileTarget {
  file: string;
  /** the text to write */
  value: string;
  /**
   * Whether the file's current text already means `value`. The kernel reads values back in its own form
   * (memory rounded down to pages, cpusets normalised, "max 100000"), so a text compare would rewrite
   * for ever.
   */
  same(current: string): boolean;
}

export type ControllerName = 'cpu' | 'memory' | 'pids' | 'io' | 'cpuset';
export const CONTROLLERS: readonly ControllerName[] = ['cpu', 'cpuset', 'io', 'memory', 'pids'];

/** "max\n" → 'max', "4096\n" → 4096; undefined for anything else. */
export const readLimit = parseLimitValue;

export function limitText(value: number | 'max'): string {
  return value === 'max' ? 'max' : String(value);
}

/** A single-value file compared as a number or "max". */
export function limitTarget(file: string, value: number | 'max', normalise: (v: number) => number = (v) => v): FileTarget {
  const wanted = value === 'max' ? 'max' : normalise(value);
  return { file, value: limitText(value), same: (current) => readLimit(current) === wanted };
}
