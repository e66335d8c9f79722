import { splitLines } from './flat-keyed';

/** One line of a nested-keyed file: its key and its "name=value" fields, values as text. */
export interface NestedKeyedLine {
  key: string;
  fields: Map<string, string>;
}

/**
 * Parses a nested-keyed file: one line per key (a device "MAJ:MIN", or "some"/"full"), followed
 * by "name=value" fields. Used for io.stat, io.max and the *.pressure files.
 *
 * Values stay text because their formats differ by file and even within a line: io.max has "max",
 * PSI averages are decimals ("36.53"), and io.stat grows controller-specific fields such as
 * "cost.vrate=100.00" (iocost) or "use_delay=0 delay_nsec=0" (iolatency) after its own keys.
 * Fields without "=" are skipped; lines keep file order, which carries no meaning (the kernel says
 * io.stat lines "are keyed by $MAJ:$MIN device numbers and not ordered").
 */
export function parseNestedKeyed(text: string): NestedKeyedLine[] {
  return splitLines(text).map(([key, ...rest]) => {
    const fields = new Map<string, string>();
    for (const field of rest) {
      const eq = field.indexOf('=');
      if (eq > 0) fields.set(field.slice(0, eq), field.slice(eq + 1));
    }
    return { key, fields };
  });
}
