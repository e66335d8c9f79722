import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Column, fitWidths, renderFields, renderTable } from './table.format';

type Row = { name: string; phase: string; note: string };
const columns: Array<Column<Row>> = [
  { header: 'NAME', value: (r) => r.name },
  { header: 'PHASE', value: (r) => r.phase },
  { header: 'NOTE', value: (r) => r.note, flex: true },
  { header: 'ID', value: () => 'x', wide: true },
];
const rows: Row[] = [
  { name: 'acme', phase: 'Ready', note: 'a fairly long note that does not fit a narrow terminal' },
  { name: 'globex', phase: 'Pending', note: 'short' },
];

describe('tables', () => {
  it('lines columns up under upper-case headers, three spaces apart', () => {
    const lines = renderTable(columns, rows).split('\n');
    assert.equal(lines[0], 'NAME     PHASE     NOTE');
    assert.equal(lines[1], 'acme     Ready     a fairly long note that does not fit a narrow terminal');
    assert.equal(lines[2], 'globex   Pending   short');
  });

  it('cuts the flexible column to fit the terminal width', () => {
    const lines = renderTable(columns, rows, { width: 40 }).split('\n');
    assert.ok(
      lines.every((line) => line.length <= 40),
      lines.join('\n'),
    );
    assert.match(lines[1], /^acme {5}Ready {5}a fairly long note.*…$/);
  });

  it('shows wide-only columns with -o wide', () => {
    assert.match(renderTable(columns, rows, { wide: true }).split('\n')[0], /NOTE +ID$/);
  });

  it('gives up flexible space from the last flexible column first, never below 10', () => {
    assert.deepEqual(fitWidths([10, 30, 30], [false, true, true], 60), [10, 30, 14]);
    assert.deepEqual(fitWidths([10, 30, 30], [false, true, true], 20), [10, 10, 10]);
    assert.deepEqual(fitWidths([10, 30, 30], [false, true, true], undefined), [10, 30, 30]);
  });

  it('lines labelled values up', () => {
    assert.equal(
      renderFields([
        ['Name', 'acme'],
        ['Phase', 'Ready'],
      ]),
      'Name:  acme\nPhase: Ready',
    );
  });
});
