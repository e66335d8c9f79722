import type pc from 'picocolors';
import type { Quota, TenantUsage, Workload } from './api.types';
import { formatBytes, formatPercent, formatSize } from './quantity.format';

export type Colors = ReturnType<typeof pc.createColors>;

/** Sort columns and the keys that pick them, as in systemd-cgtop (p path, t tasks, c cpu, m memory, i io). */
export type SortKey = 'name' | 'cpu' | 'memory' | 'tasks' | 'io' | 'throttled' | 'workloads';
export const SORT_KEYS: Record<string, SortKey> = { p: 'name', n: 'name', c: 'cpu', m: 'memory', t: 'tasks', i: 'io', h: 'throttled', w: 'workloads' };
export const KEYS_HELP = 'c cpu  m memory  t tasks  i io  h throttled  w workloads  p name  q quit';

/** What one refresh read of a tenant. */
export interface TenantSample {
  name: string;
  phase: string;
  quota: Quota;
  usage?: TenantUsage;
  workloads: number;
  /** ms, when it was read */
  at: number;
}

export interface TopRow {
  name: string;
  phase: string;
  /** cores in use over the last interval */
  cpu?: number;
  cpuCap?: number;
  /** share of CPU periods throttled by the tenant's cpu.max over the last interval */
  throttled?: number;
  memory?: number;
  memoryMax?: number | 'max';
  pids?: number;
  pidsMax?: number | 'max';
  /** bytes per second */
  readRate?: number;
  writeRate?: number;
  /** PSI: the share of the last interval in which some task of the tenant stalled on CPU, memory, io */
  psiCpu?: number;
  psiMemory?: number;
  psiIo?: number;
  workloads?: number;
}

const rate = (now: number | undefined, before: number | undefined, seconds: number) =>
  now === undefined || before === undefined || seconds <= 0 ? undefined : Math.max(0, now - before) / seconds;
/** PSI over the refresh interval: the share of wall time some task stalled, from two reads of the stall total. */
const stalled = (now: number | undefined, before: number | undefined, seconds: number) => {
  const usecPerSecond = rate(now, before, seconds);
  return usecPerSecond === undefined ? undefined : usecPerSecond / 1e6;
};
const ioSum = (usage: TenantUsage | undefined, key: 'rbytes' | 'wbytes') => (usage ? usage.io.reduce((sum, d) => sum + (d[key] ?? 0), 0) : undefined);

/** Rows from this refresh's samples; rates need the previous refresh, so the first frame shows none. */
export function tenantRows(previous: ReadonlyMap<string, TenantSample>, current: TenantSample[]): TopRow[] {
  return current.map((sample) => {
    const before = previous.get(sample.name);
    const seconds = before ? (sample.at - before.at) / 1000 : 0;
    const usage = sample.usage;
    const periods = rate(usage?.cpu.periods, before?.usage?.cpu.periods, 1);
    const throttledPeriods = rate(usage?.cpu.throttledPeriods, before?.usage?.cpu.throttledPeriods, 1);
    const cap = sample.quota.cpu?.max;
    return {
      name: sample.name,
      phase: sample.phase,
      cpu: rate(usage?.cpu.usageSeconds, before?.usage?.cpu.usageSeconds, seconds),
      cpuCap: cap === undefined || cap === 'max' ? undefined : Number(cap),
      throttled: periods === undefined || throttledPeriods === undefined ? undefined : periods === 0 ? 0 : throttledPeriods / periods,
      memory: usage?.memory.currentBytes,
      memoryMax: sample.quota.memory?.max,
      pids: usage?.pids.current,
      pidsMax: sample.quota.pids?.max,
      readRate: rate(ioSum(usage, 'rbytes'), ioSum(before?.usage, 'rbytes'), seconds),
      writeRate: rate(ioSum(usage, 'wbytes'), ioSum(before?.usage, 'wbytes'), seconds),
      psiCpu: stalled(usage?.pressure.cpu?.some.totalUsec, before?.usage?.pressure.cpu?.some.totalUsec, seconds),
      psiMemory: stalled(usage?.pressure.memory?.some.totalUsec, before?.usage?.pressure.memory?.some.totalUsec, seconds),
      psiIo: stalled(usage?.pressure.io?.some.totalUsec, before?.usage?.pressure.io?.some.totalUsec, seconds),
      workloads: sample.workloads,
    };
  });
}

export interface WorkloadRow {
  name: string;
  state: string;
  pid: number | null;
  cpu?: number;
  memory?: number;
  age: string;
  command: string;
}

/** Workload rows of `top TENANT`: CPU from two reads of the workload's usage counter. */
export function workloadRows(
  workloads: Workload[],
  cpuSeconds: ReadonlyMap<string, number>,
  previousCpu: ReadonlyMap<string, number>,
  memory: ReadonlyMap<string, number>,
  seconds: number,
  age: (w: Workload) => string,
): WorkloadRow[] {
  return workloads.map((w) => ({
    name: w.id,
    state: w.state,
    pid: w.pid,
    cpu: rate(cpuSeconds.get(w.id), previousCpu.get(w.id), seconds),
    memory: memory.get(w.id),
    age: age(w),
    command: w.command.join(' '),
  }));
}

type Sortable = { name: string; cpu?: number; memory?: number; pids?: number; readRate?: number; writeRate?: number; throttled?: number; workloads?: number };

function sortValue(row: Sortable, key: SortKey): number {
  switch (key) {
    case 'cpu':
      return row.cpu ?? -1;
    case 'memory':
      return row.memory ?? -1;
    case 'tasks':
      return row.pids ?? -1;
    case 'io':
      return row.readRate === undefined && row.writeRate === undefined ? -1 : (row.readRate ?? 0) + (row.writeRate ?? 0);
    case 'throttled':
      return row.throttled ?? -1;
    case 'workloads':
      return row.workloads ?? -1;
    case 'name':
      return 0;
  }
}

/** Biggest first (names A to Z), ties by name, so that rows do not jump around between refreshes. */
export function sortRows<R extends Sortable>(rows: R[], key: SortKey): R[] {
  return [...rows].sort((a, b) => (key === 'name' ? 0 : sortValue(b, key) - sortValue(a, key)) || a.name.localeCompare(b.name));
}

export type Level = 'ok' | 'warn' | 'high';

export interface TopColumn<R> {
  header: string;
  width: number;
  align: 'left' | 'right';
  /** lower goes first when the terminal is too narrow for every column */
  priority: number;
  sort?: SortKey;
  value: (row: R) => string;
  level?: (row: R) => Level;
}

const share = (used: number | undefined, limit: number | 'max' | undefined) =>
  used === undefined || limit === undefined || limit === 'max' ? undefined : used / limit;
const levelOf = (ratio: number | undefined, warn: number, high: number): Level =>
  ratio === undefined ? 'ok' : ratio >= high ? 'high' : ratio >= warn ? 'warn' : 'ok';
const perSecond = (value: number | undefined) => (value === undefined ? '-' : `${formatBytes(value)}/s`);
const limitText = (limit: number | 'max' | undefined, format: (v: number | 'max') => string) => (limit === undefined ? '-' : format(limit));

export const TENANT_TOP_COLUMNS: Array<TopColumn<TopRow>> = [
  { header: 'TENANT', width: 20, align: 'left', priority: 100, sort: 'name', value: (r) => r.name },
  { header: 'PHASE', width: 10, align: 'left', priority: 10, value: (r) => r.phase },
  {
    header: 'CPU%',
    width: 7,
    align: 'right',
    priority: 90,
    sort: 'cpu',
    value: (r) => (r.cpu === undefined ? '-' : formatPercent(r.cpu)),
    level: (r) => levelOf(share(r.cpu, r.cpuCap), 0.6, 0.9),
  },
  { header: 'CAP', width: 6, align: 'right', priority: 80, value: (r) => (r.cpuCap === undefined ? 'max' : String(r.cpuCap)) },
  {
    header: 'THR%',
    width: 6,
    align: 'right',
    priority: 70,
    sort: 'throttled',
    value: (r) => formatPercent(r.throttled),
    level: (r) => levelOf(r.throttled, 0.05, 0.25),
  },
  {
    header: 'MEMORY',
    width: 8,
    align: 'right',
    priority: 85,
    sort: 'memory',
    value: (r) => formatBytes(r.memory),
    level: (r) => levelOf(share(r.memory, r.memoryMax), 0.75, 0.9),
  },
  { header: 'MEM MAX', width: 8, align: 'right', priority: 75, value: (r) => limitText(r.memoryMax, formatSize) },
  {
    header: 'TASKS',
    width: 6,
    align: 'right',
    priority: 84,
    sort: 'tasks',
    value: (r) => (r.pids === undefined ? '-' : String(r.pids)),
    level: (r) => levelOf(share(r.pids, r.pidsMax), 0.75, 0.9),
  },
  { header: 'PIDS MAX', width: 8, align: 'right', priority: 65, value: (r) => limitText(r.pidsMax, String) },
  { header: 'READ', width: 9, align: 'right', priority: 60, sort: 'io', value: (r) => perSecond(r.readRate) },
  { header: 'WRITE', width: 9, align: 'right', priority: 59, value: (r) => perSecond(r.writeRate) },
  { header: 'PSI CPU', width: 7, align: 'right', priority: 50, value: (r) => formatPercent(r.psiCpu), level: (r) => levelOf(r.psiCpu, 0.1, 0.4) },
  { header: 'PSI MEM', width: 7, align: 'right', priority: 49, value: (r) => formatPercent(r.psiMemory), level: (r) => levelOf(r.psiMemory, 0.1, 0.4) },
  { header: 'PSI IO', width: 7, align: 'right', priority: 48, value: (r) => formatPercent(r.psiIo), level: (r) => levelOf(r.psiIo, 0.1, 0.4) },
  { header: 'WL', width: 4, align: 'right', priority: 55, sort: 'workloads', value: (r) => (r.workloads === undefined ? '-' : String(r.workloads)) },
];

export const WORKLOAD_TOP_COLUMNS: Array<TopColumn<WorkloadRow>> = [
  { header: 'WORKLOAD', width: 26, align: 'left', priority: 100, sort: 'name', value: (r) => r.name },
  { header: 'STATE', width: 10, align: 'left', priority: 90, value: (r) => r.state },
  { header: 'PID', width: 8, align: 'right', priority: 60, value: (r) => (r.pid === null ? '-' : String(r.pid)) },
  { header: 'CPU%', width: 7, align: 'right', priority: 95, sort: 'cpu', value: (r) => (r.cpu === undefined ? '-' : formatPercent(r.cpu)) },
  { header: 'MEMORY', width: 8, align: 'right', priority: 94, sort: 'memory', value: (r) => formatBytes(r.memory) },
  { header: 'AGE', width: 5, align: 'right', priority: 50, value: (r) => r.age },
  { header: 'COMMAND', width: 0, align: 'left', priority: 40, value: (r) => r.command },
];

const GAP = 2;

/** The columns that fit `width`, dropping the lowest priority first; a width-0 column takes what is left. */
export function fitColumns<R>(columns: Array<TopColumn<R>>, width: number): Array<TopColumn<R>> {
  let shown = [...columns];
  const total = (cols: Array<TopColumn<R>>) => cols.reduce((sum, c) => sum + (c.width || 10), 0) + GAP * (cols.length - 1);
  while (shown.length > 1 && total(shown) > width) {
    const lowest = shown.reduce((a, b) => (b.priority < a.priority ? b : a));
    shown = shown.filter((c) => c !== lowest);
  }
  return shown;
}

function cell(text: string, width: number, align: 'left' | 'right'): string {
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === 'right' ? cut.padStart(width) : cut.padEnd(width);
}

export interface TopFrame {
  title: string;
  sort: SortKey;
  width: number;
  height: number;
  colors: Colors;
}

/** One screen of top: a title line, the header (the sort column marked) and as many rows as fit. */
export function renderTop<R>(columns: Array<TopColumn<R>>, rows: R[], frame: TopFrame): string[] {
  const { colors: c, width } = frame;
  const shown = fitColumns(columns, width);
  const fixed = shown.reduce((sum, col) => sum + col.width, 0) + GAP * (shown.length - 1);
  const widthOf = (col: TopColumn<R>) => col.width || Math.max(10, width - fixed);
  const header = shown.map((col) => {
    const text = cell(col.sort === frame.sort ? `${col.header}${col.align === 'right' ? '' : ' ▼'}` : col.header, widthOf(col), col.align);
    return col.sort === frame.sort ? c.bold(c.underline(text)) : c.bold(text);
  });
  const lines = [frame.title.slice(0, width), '', header.join(' '.repeat(GAP))];
  for (const row of rows.slice(0, Math.max(0, frame.height - lines.length))) {
    const cells = shown.map((col) => {
      const text = cell(col.value(row), widthOf(col), col.align);
      const level = col.level?.(row) ?? 'ok';
      return level === 'high' ? c.red(text) : level === 'warn' ? c.yellow(text) : text;
    });
    lines.push(cells.join(' '.repeat(GAP)));
  }
  return lines;
}
