import { isJsonObject } from './json';

/**
 * JSON Merge Patch (RFC 7396): an object patch merges key by key and `null` removes a key; any other
 * patch (a string, a number, an array, null) replaces the target whole. Neither input is mutated, and
 * the result shares no objects or arrays with them, so callers may change it freely.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = isJsonObject(target) ? (cloneJson(target) as Record<string, unknown>) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setOwn(result, key, applyMergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (!isJsonObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) setOwn(copy, key, cloneJson(item));
  return copy;
}

/**
 * Plain assignment of the key "__proto__" (which JSON.parse yields as an ordinary key) would replace
 * the object's prototype instead of adding a field; defining the property keeps it data.
 */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}
