import { DomainError, type FieldError } from './errors';

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

/**
 * How deep a JSON document may nest. A quota is four levels deep; the rest of the allowance is for
 * mistakes that should get a clear answer. The limit keeps every recursive walk (merge patch, validators,
 * clone) far from the stack's end: V8 parses any depth, but recursing 10,000 levels throws RangeError.
 */
export const JSON_MAX_DEPTH = 32;

/** A JSON document nested deeper than the limit; refused before it is parsed. */
export class JsonTooDeepError extends DomainError {
  readonly status = 400;
  readonly code = 'json-too-deep';

  constructor(readonly maxDepth: number) {
    super(`the JSON document is nested deeper than ${maxDepth} levels of objects and arrays, the limit`);
  }
}

/**
 * JSON.parse with a nesting limit, checked by one pass over the text first (no recursion), so a hostile
 * document costs O(length) and never reaches a recursive reader. Throws SyntaxError like JSON.parse.
 */
export function parseJson(text: string, maxDepth = JSON_MAX_DEPTH): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new JsonTooDeepError(maxDepth);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return JSON.parse(text) as unknown;
}
