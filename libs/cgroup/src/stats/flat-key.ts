import { parseKernelInteger } from './flat-keyed';

/**
 * One value of a flat-keyed file, found by key without splitting the whole file: a scrape needs only
 * inactive_file of a memory.stat that has 40 to 60 lines, for every tenant. The key must start its
 * line (the kernel never indents), and a longer key that ends with it ("xinactive_file") does not
 * match. Returns undefined when the key is absent or its value is not an integer; blanks and "\r"
 * around the value are tolerated, as parseFlatKeyed tolerates them.
 */
export function flatKeyedValue(text: string, key: string): number | undefined {
  const needle = `${key} `;
  let start: number;
  if (text.startsWith(needle)) {
    start = needle.length;
  } else {
    const at = text.indexOf(`\n${needle}`);
    if (at < 0) return undefined;
    start = at + 1 + needle.length;
  }
  const end = text.indexOf('\n', start);
  return parseKernelInteger(text.slice(start, end < 0 ? text.length : end).trim());
}
