import type { FieldError } from './errors';

/**
 * A parser reads one request value. It never throws: on a bad value it appends exactly one FieldError
 * and returns undefined, so a caller validating a whole document can report every bad field at once.
 */
export type Parser<T> = (value: unknown, path: string, errors: FieldError[]) => T | undefined;

/** The longest quoted value an error message repeats back; longer input is cut so messages stay readable. */
const MAX_ECHO = 40;

/** How an error message shows what it received: `"12X"`, `1.5`, `an array`, `null`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      if (value === '') return 'an empty string';
      return JSON.stringify(value.length > MAX_ECHO ? `${value.slice(0, MAX_ECHO)}…` : value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `quota` + `memory` → `quota.memory`; an empty parent yields the bare key. */
export function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/**
 * Reads a JSON object whose keys must all be known. Each unknown key is its own error naming the allowed
 * keys; returns undefined (after one error) when the value is not an object at all.
 */
export function readObject(value: unknown, path: string, what: string, allowed: readonly string[], errors: FieldError[]): Record<string, unknown> | undefined {
  if (!isJsonObject(value)) {
    errors.push({ path, message: `must be ${what}: a JSON object with any of ${allowed.join(', ')}; got ${describeValue(value)}` });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) errors.push({ path: childPath(path, key), message: `is not a known field of ${what}; allowed: ${allowed.join(', ')}` });
  }
  return value;
}
