import type { FieldError } from './errors';
import { describeValue } from './json';

/** CPU numbers must be below this: NR_CPUS is at most 8192 in the kernel configurations we target. */
export const CPU_LIMIT = 8192;
/** Memory node numbers must be below this: MAX_NUMNODES is at most 1024 (NODES_SHIFT 10). */
export const MEMORY_NODE_LIMIT = 1024;

const ITEM = /^([0-9]+)(?:-([0-9]+))?$/;

/** A list such as "0-3,6" for cpuset.cpus. Canonical: sorted, merged ranges ("6,0-3,4" → "0-4,6"). */
export function parseCpuList(value: unknown, path: string, errors: FieldError[]): string | undefined {
  return parseIdList(value, path, errors, 'CPU', CPU_LIMIT);
}

/** A list such as "0" or "0-1" for cpuset.mems, with the same rules as a CPU list. */
export function parseMemoryNodeList(value: unknown, path: string, errors: FieldError[]): string | undefined {
  return parseIdList(value, path, errors, 'memory node', MEMORY_NODE_LIMIT);
}

/**
 * The kernel's list format (cpulist_parse), restricted to ASCII digits without spaces and without the
 * stride form "0-7:2", so that what we store is exactly what we will write and can show back.
 * An empty list is refused: in cpuset it would mean "no CPUs", which leaves a tenant unable to run;
 * leaving the field out is how to say "no restriction".
 */
function parseIdList(value: unknown, path: string, errors: FieldError[], noun: string, limit: number): string | undefined {
  const expected = `a ${noun} list: comma-separated ${noun} numbers (N) and ranges (N-M with N ≤ M), each from 0 to ${limit - 1}, e.g. "0-3,6", naming at least one ${noun}`;
  const fail = (problem: string): undefined => {
    errors.push({ path, message: `${problem}; got ${describeValue(value)}` });
    return undefined;
  };
  if (typeof value !== 'string') return fail(`must be ${expected}`);
  if (value === '') return fail(`must name at least one ${noun} (leave the field out for no restriction); expected ${expected}`);
  if (/\s/.test(value)) return fail(`must not contain whitespace; expected ${expected}`);
  const ranges: Array<[number, number]> = [];
  for (const item of value.split(',')) {
    const match = ITEM.exec(item);
    if (!match) return fail(`${item === '' ? 'has an empty item' : `has an item ${describeValue(item)} that is not N or N-M`}; expected ${expected}`);
    // Number() of a very long digit string is inexact or Infinity, but still compares correctly to the limit.
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first > last) return fail(`has a range ${describeValue(item)} that runs backwards (N must be ≤ M); expected ${expected}`);
    if (last >= limit) return fail(`has ${describeValue(item)}, past the highest allowed ${noun}, ${limit - 1}; expected ${expected}`);
    ranges.push([first, last]);
  }
  return formatIdList(ranges);
}

/** Sorts and merges overlapping and adjacent ranges: [[6,6],[0,3],[4,4]] → "0-4,6". */
export function formatIdList(ranges: ReadonlyArray<readonly [number, number]>): string {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [first, last] of sorted) {
    const previous = merged.at(-1);
    if (previous && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else merged.push([first, last]);
  }
  return merged.map(([first, last]) => (first === last ? String(first) : `${first}-${last}`)).join(',');
}
