/**
 * Number formats of cgroup v2 interface files, and the generic "flat keyed" parser.
 *
 * Numbers are JavaScript numbers. Every counter the kernel prints is a u64 (or a C int), and a
 * double holds integers exactly only up to 2^53 (Number.MAX_SAFE_INTEGER, about 9.007e15). In
 * practice that is enough: memory amounts in bytes stay far below it (8 PiB), and so do page and
 * event counts. The counters that can get there on a long-lived, busy host are cumulative ones:
 * io.stat bytes (2^53 bytes is a year of 285 MB/s sustained) and the root cgroup's cpu.stat
 * usage_usec (2^53 us is 285 CPU-years: about a year of uptime on a busy 256-CPU machine). Past
 * 2^53 a value becomes the nearest double: off by at most 1 part in 2^53, so rates and
 * deltas between two reads stay right to many significant digits. Nothing here throws on size.
 */

/**
 * Integers as the kernel prints them: decimal digits, with a minus sign allowed because a few
 * counters are C ints printed with %d and print negative once they wrap past 2^31 (cpu.stat
 * nr_periods, nr_throttled, nr_bursts; see cpu-stat.ts).
 */
const INTEGER = /^-?[0-9]+$/;

/** Non-negative decimals as PSI prints its averages ("%lu.%02lu", e.g. "36.53"). */
const DECIMAL = /^[0-9]+(?:\.[0-9]+)?$/;

/** A block device as io.stat, io.max and io.weight key it: "MAJ:MIN", e.g. "8:0", "254:16". */
const DEVICE = /^[0-9]+:[0-9]+$/;

/** Reads one integer token; anything else ("max", "1.5", "0x10", "1e3", "") gives undefined. */
export function parseKernelInteger(token: string): number | undefined {
  return INTEGER.test(token) ? Number(token) : undefined;
}

/** Reads one non-negative decimal token ("0.00", "36.53", "7"); anything else gives undefined. */
export function parseKernelDecimal(token: string): number | undefined {
  return DECIMAL.test(token) ? Number(token) : undefined;
}

/**
 * Reads a limit token: "max" (no limit) or a non-negative integer. Anything else, negative
 * numbers included, gives undefined: no cgroup v2 limit is negative.
 */
export function parseMaxOrInteger(token: string): number | 'max' | undefined {
  if (token === 'max') return 'max';
  const value = parseKernelInteger(token);
  return value !== undefined && value >= 0 ? value : undefined;
}

/** Whether a token names a block device as "MAJ:MIN". */
export function isDeviceNumber(token: string): boolean {
  return DEVICE.test(token);
}

/**
 * Splits a file into its lines' whitespace-separated fields. The kernel separates with single
 * spaces and ends every line with "\n"; runs of blanks, "\r" and a missing last newline are
 * tolerated so that hand-edited fixtures and partial reads do not matter. Blank lines are dropped.
 */
export function splitLines(text: string): string[][] {
  const lines: string[][] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '') lines.push(trimmed.split(/\s+/));
  }
  return lines;
}

/**
 * Parses a flat-keyed file, one "<key> <integer>" a line, into a Map keyed by name.
 *
 * Used for cpu.stat, cpu.stat.local (6.6+), memory.stat, memory.events, memory.events.local
 * (5.2+), memory.swap.events, pids.events, cgroup.events, cgroup.stat and cgroup.stat.local
 * (6.18+). The kernel documentation is explicit that "new entries can show up in the middle"
 * (memory.stat) and keys come and go with kernel versions and config options, so callers must
 * look values up by key and never by line position. Every key is kept, known or not.
 *
 * Lines that are not exactly two fields, or whose value is not an integer, are skipped rather
 * than failing the whole file. If a key repeats (no kernel does that), the last line wins.
 * An empty text gives an empty Map.
 */
export function parseFlatKeyed(text: string): Map<string, number> {
  return parseKernelSpelling(text) ?? parseTolerantly(text);
}

/**
 * A flat-keyed line exactly as the kernel prints it ("<key> <integer>\n"), matched at the sticky position: a
 * scrape parses several such files a tenant, so the common case costs one regex match a line instead of a
 * split into lines and then into fields.
 */
const KERNEL_LINE = /([^\s]+) (-?[0-9]+)\n/y;

/** The values of a file every line of which is in the kernel's spelling; undefined for any other text. */
function parseKernelSpelling(text: string): Map<string, number> | undefined {
  const values = new Map<string, number>();
  KERNEL_LINE.lastIndex = 0;
  while (KERNEL_LINE.lastIndex < text.length) {
    const match = KERNEL_LINE.exec(text);
    if (match === null) return undefined;
    values.set(match[1], Number(match[2]));
  }
  return values;
}

/** Any spelling: runs of blanks, "\r", a missing last newline, lines of other shapes (skipped). */
function parseTolerantly(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const fields of splitLines(text)) {
    if (fields.length !== 2) continue;
    const value = parseKernelInteger(fields[1]);
    if (value !== undefined) values.set(fields[0], value);
  }
  return values;
}
