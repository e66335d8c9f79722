import Table from 'cli-table3';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** shown with -o wide only */
  wide?: boolean;
  align?: 'left' | 'right';
  /** may be cut (with …) to fit the terminal; the others keep their width */
  flex?: boolean;
}

const GAP = 3;
const FLEX_MIN = 10;

const BORDERLESS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: ' '.repeat(GAP),
};

/**
 * Column widths that fit `width` (the terminal's columns; undefined when output is not a terminal, and
 * then nothing is cut): flex columns give up space from the last one back, down to FLEX_MIN each.
 */
export function fitWidths(natural: number[], flex: boolean[], width: number | undefined): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  let overflow = widths.reduce((a, b) => a + b, 0) + GAP * (widths.length - 1) - width;
  for (let i = widths.length - 1; i >= 0 && overflow > 0; i--) {
    if (!flex[i]) continue;
    const give = Math.min(overflow, Math.max(0, widths[i] - FLEX_MIN));
    widths[i] -= give;
    overflow -= give;
  }
  return widths;
}

/** A kubectl-style table: upper-case headers, no borders, columns three spaces apart, sized to `width`. */
export function renderTable<T>(columns: Array<Column<T>>, rows: T[], options: { wide?: boolean; width?: number } = {}): string {
  const shown = columns.filter((c) => options.wide || !c.wide);
  const cells = rows.map((row) => shown.map((c) => oneLine(c.value(row))));
  const natural = shown.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const widths = fitWidths(
    natural,
    shown.map((c) => c.flex === true),
    options.width,
  );
  const table = new Table({
    head: shown.map((c) => c.header),
    chars: BORDERLESS,
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true },
    colWidths: widths,
    colAligns: shown.map((c) => c.align ?? 'left'),
    wordWrap: false,
    truncate: '…',
  });
  table.push(...cells);
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** A two-column list of labelled values, for `get` views. */
export function renderFields(fields: Array<[string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 2;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`).join('\n');
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}
