import { parseKernelDecimal, parseKernelInteger } from './flat-keyed';
import { parseNestedKeyed } from './nested-keyed';

/** One line of a pressure stall information (PSI) file. */
export interface PressureLine {
  /** Share of wall time stalled over the last 10 s, in percent (0-100, two decimals). */
  avg10: number;
  /** The same over the last 60 s. */
  avg60: number;
  /** The same over the last 300 s. */
  avg300: number;
  /** total: cumulative stall time in microseconds (the kernel divides its nanoseconds by 1000). */
  totalUsec: number;
}

/** A *.pressure file: "some" tasks stalled, and "full" (all non-idle tasks stalled at once). */
export interface Pressure {
  some: PressureLine;
  /** Absent from cpu.pressure before 5.13; io.pressure and memory.pressure always have it. */
  full?: PressureLine;
}

/** The lines of a pressure file, whichever of "some" and "full" it has. */
export interface PressureLines {
  some?: PressureLine;
  full?: PressureLine;
}

function parseLine(fields: ReadonlyMap<string, string>): PressureLine | undefined {
  const decimal = (name: string) => {
    const value = fields.get(name);
    return value === undefined ? undefined : parseKernelDecimal(value);
  };
  const avg10 = decimal('avg10');
  const avg60 = decimal('avg60');
  const avg300 = decimal('avg300');
  const total = fields.get('total');
  const totalUsec = total === undefined ? undefined : parseKernelInteger(total);
  if (avg10 === undefined || avg60 === undefined || avg300 === undefined || totalUsec === undefined || totalUsec < 0) return undefined;
  return { avg10, avg60, avg300, totalUsec };
}

/**
 * Parses the "some" and "full" lines of a PSI file, whichever are there and well formed. Use this
 * for irq.pressure (6.1+, only with CONFIG_IRQ_TIME_ACCOUNTING, which Debian's 6.1 lacks): IRQ
 * time always stalls the whole CPU, so that file has a "full" line only. cgroup.pressure (6.1+)
 * is a 0/1 switch, not this format.
 */
export function parsePressureLines(text: string): PressureLines {
  const lines = parseKernelSpelling(text);
  if (lines !== undefined) return lines;
  return parseTolerantly(text);
}

/**
 * A PSI line exactly as the kernel prints it (psi_show: "%s avg10=%lu.%02lu avg60=%lu.%02lu avg300=%lu.%02lu
 * total=%llu\n"), matched at the sticky position. A scrape parses three pressure files a tenant, so the
 * common case goes through one regex match a line instead of splitting into fields and maps.
 */
const KERNEL_LINE = /(some|full) avg10=([0-9]+(?:\.[0-9]+)?) avg60=([0-9]+(?:\.[0-9]+)?) avg300=([0-9]+(?:\.[0-9]+)?) total=([0-9]+)\n/y;

/** The lines of a file every line of which is in the kernel's spelling; undefined for any other text. */
function parseKernelSpelling(text: string): PressureLines | undefined {
  const lines: PressureLines = {};
  KERNEL_LINE.lastIndex = 0;
  while (KERNEL_LINE.lastIndex < text.length) {
    const match = KERNEL_LINE.exec(text);
    if (match === null) return undefined;
    lines[match[1] as 'some' | 'full'] = { avg10: Number(match[2]), avg60: Number(match[3]), avg300: Number(match[4]), totalUsec: Number(match[5]) };
  }
  return lines;
}

/** Any spelling: runs of blanks, fields in another order or added, a missing last newline, other lines. */
function parseTolerantly(text: string): PressureLines {
  const lines: PressureLines = {};
  for (const { key, fields } of parseNestedKeyed(text)) {
    if (key !== 'some' && key !== 'full') continue;
    const line = parseLine(fields);
    if (line !== undefined) lines[key] = line;
  }
  return lines;
}

/**
 * Parses cpu.pressure, io.pressure or memory.pressure (nested keyed, one line per kind):
 *   some avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
 *
 * - "some": every kernel with PSI (4.20+).
 * - "full": io and memory always; cpu only since 5.13, so a 5.10 cpu.pressure has no full line.
 *   On the root cgroup cpu.pressure's full line is printed but always zero: a whole system
 *   cannot be fully CPU-stalled while it has an idle CPU, so the kernel does not track it.
 *
 * Returns undefined without a well-formed "some" line (an empty read, or irq.pressure: use
 * parsePressureLines for that).
 */
export function parsePressure(text: string): Pressure | undefined {
  const { some, full } = parsePressureLines(text);
  if (some === undefined) return undefined;
  return full === undefined ? { some } : { some, full };
}
