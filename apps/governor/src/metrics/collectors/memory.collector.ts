import { flatKeyedValue } from '../../../../../libs/cgroup/src/stats/flat-key';
import { type MemoryEvents, parseMemoryEvents } from '../../../../../libs/cgroup/src/stats/memory';
import { parseLimitValue } from '../../../../../libs/cgroup/src/stats/pids';
import { type Collector, type CollectorPlan, type CollectorRun, emit, type FamilyFactory, type HostView } from '../collector';
import type { MetricFamily } from '../metric-family';
import type { MemoryEventName, TenantTarget } from '../tenant-targets';

type MemorySeries = ReturnType<MemoryCollector['seriesOf']>;

/** memory.peak (5.19+) and memory.swap.current (swap accounting) are left out where the host lacks them. */
const TENANT_FILES = ['memory.current', 'memory.stat', 'memory.peak', 'memory.max', 'memory.high', 'memory.events', 'memory.swap.current'];
const WORKLOAD_FILES = ['memory.current'];

/** memory.events keys by the event label they are exported under. */
const EVENT_FIELDS: ReadonlyArray<[MemoryEventName, keyof MemoryEvents]> = [
  ['low', 'low'],
  ['high', 'high'],
  ['max', 'max'],
  ['oom', 'oom'],
  ['oom_kill', 'oomKill'],
  ['oom_group_kill', 'oomGroupKill'],
];

/**
 * Memory of each tenant (memory.current, memory.stat's inactive_file, memory.peak, memory.max,
 * memory.high, memory.events, memory.swap.current) and memory.current of each running workload. It runs
 * only where the memory controller is available; memory.peak (5.19+) and swap (swap accounting on) are
 * read only where the host has them, and a limit of "max" exports no limit series.
 */
export class MemoryCollector implements Collector {
  readonly name = 'memory';
  readonly families: readonly MetricFamily[];
  private readonly usage: MetricFamily;
  private readonly workingSet: MetricFamily;
  private readonly peak: MetricFamily;
  private readonly limit: MetricFamily;
  private readonly high: MetricFamily;
  private readonly events: MetricFamily;
  private readonly swap: MetricFamily;
  private readonly workloadUsage: MetricFamily;

  constructor(family: FamilyFactory) {
    this.usage = family('governor_tenant_memory_usage_bytes', 'Memory charged to the tenant cgroup, page cache included; memory.current', 'gauge');
    this.workingSet = family(
      'governor_tenant_memory_working_set_bytes',
      'Memory the tenant could not give back without paging out: memory.current minus inactive_file of memory.stat',
      'gauge',
    );
    this.peak = family('governor_tenant_memory_peak_bytes', 'Highest memory.current since the tenant cgroup was created; memory.peak (5.19+)', 'gauge');
    this.limit = family('governor_tenant_memory_limit_bytes', 'memory.max of the tenant cgroup; absent when it is max', 'gauge');
    this.high = family('governor_tenant_memory_high_bytes', 'memory.high (the reclaim throttle) of the tenant cgroup; absent when it is max', 'gauge');
    this.events = family(
      'governor_tenant_memory_events_total',
      'memory.events of the tenant cgroup, hierarchical: low, high (throttled over memory.high), max (hit memory.max), oom, oom_kill, oom_group_kill (5.17+)',
      'counter',
    );
    this.swap = family('governor_tenant_swap_usage_bytes', 'Swap used by the tenant cgroup; memory.swap.current', 'gauge');
    this.workloadUsage = family('governor_workload_memory_usage_bytes', 'Memory charged to a running workload leaf; memory.current', 'gauge');
    this.families = [this.usage, this.workingSet, this.peak, this.limit, this.high, this.events, this.swap, this.workloadUsage];
  }

  enabled(host: HostView | undefined): boolean {
    return host?.capabilities.available.includes('memory') ?? false;
  }

  plan(plan: CollectorPlan): void {
    const features = plan.host.capabilities.features;
    const tenantFiles = TENANT_FILES.filter((file) => (file !== 'memory.peak' || features.memoryPeak) && (file !== 'memory.swap.current' || features.swap));
    for (const tenant of plan.tenants) {
      plan.want(tenant.dir, tenantFiles);
      for (const workload of tenant.workloads) plan.want(workload.dir, WORKLOAD_FILES);
    }
  }

  collect(run: CollectorRun): void {
    const features = run.host?.capabilities.features;
    const peak = features?.memoryPeak ?? false;
    const swap = features?.swap ?? false;
    const out = this.seriesOf(run);
    for (const tenant of run.tenants) {
      this.tenant(run, tenant, peak, swap, out);
      for (const workload of tenant.workloads) emit(out.workloadUsage, workload.labels, bytes(run, run.read(workload.dir, 'memory.current')));
    }
  }

  private seriesOf(run: CollectorRun) {
    return {
      usage: run.series(this.usage),
      workingSet: run.series(this.workingSet),
      peak: run.series(this.peak),
      limit: run.series(this.limit),
      high: run.series(this.high),
      events: run.series(this.events),
      swap: run.series(this.swap),
      workloadUsage: run.series(this.workloadUsage),
    };
  }

  private tenant(run: CollectorRun, tenant: TenantTarget, peak: boolean, swap: boolean, out: MemorySeries): void {
    const dir = tenant.dir;
    const current = run.read(dir, 'memory.current');
    const stat = run.read(dir, 'memory.stat');
    const peakText = peak ? run.read(dir, 'memory.peak') : undefined;
    const max = run.read(dir, 'memory.max');
    const high = run.read(dir, 'memory.high');
    const events = run.read(dir, 'memory.events');
    const swapText = swap ? run.read(dir, 'memory.swap.current') : undefined;
    const labels = tenant.labels;
    const usage = bytes(run, current);
    emit(out.usage, labels, usage);
    const inactiveFile = stat === undefined ? undefined : flatKeyedValue(stat, 'inactive_file');
    if (stat !== undefined && inactiveFile === undefined) run.countError();
    // cAdvisor's working set; never negative, although the two files are not read at the same instant.
    if (usage !== undefined && inactiveFile !== undefined) emit(out.workingSet, labels, Math.max(0, usage - inactiveFile));
    emit(out.peak, labels, bytes(run, peakText));
    emit(out.limit, labels, limit(run, max));
    emit(out.high, labels, limit(run, high));
    emit(out.swap, labels, bytes(run, swapText));
    if (events !== undefined) {
      const parsed = parseMemoryEvents(events);
      if (parsed === undefined) run.countError();
      else for (const [event, field] of EVENT_FIELDS) emit(out.events, tenant.memoryEvents[event], parsed[field]);
    }
  }
}

/** A byte count file; a "max" or garbage there is a fault. */
function bytes(run: CollectorRun, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = parseLimitValue(text);
  if (typeof value === 'number') return value;
  run.countError();
  return undefined;
}

/** A limit file: "max" exports no series. */
function limit(run: CollectorRun, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = parseLimitValue(text);
  if (value === undefined) run.countError();
  return typeof value === 'number' ? value : undefined;
}
