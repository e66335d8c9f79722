import { parseLimitValue, parsePidsEvents } from '../../../../../libs/cgroup/src/stats/pids';
import { type Collector, type CollectorRun, emit, type FamilyFactory, type HostView } from '../collector';
import type { MetricFamily } from '../metric-family';
import type { TenantTarget } from '../tenant-targets';

/** What the leaves of one tenant have counted in pids.events max, for kernels before 6.11. */
interface LeafCounts {
  /** the last value read from each leaf, by its directory */
  last: Map<string, number>;
  /** the last values of leaves that are gone (reaped workloads), so that the sum never goes down */
  retired: number;
}

/**
 * Processes of each tenant: pids.current, pids.max (absent when max) and pids.events. Needs the pids
 * controller. Before 6.11 a fork refused by the tenant's pids.max counts only in the cgroup of the task
 * that forked, which is always a leaf (workloads/<id> or attached: a tenant with children holds no
 * processes itself); there the tenant's series is the sum over its subtree, and a leaf that goes keeps
 * its count in the sum. From 6.11 (pids.events.local exists) pids.events is hierarchical and read alone.
 */
export class PidsCollector implements Collector {
  readonly name = 'pids';
  readonly families: readonly MetricFamily[];
  private readonly current: MetricFamily;
  private readonly limit: MetricFamily;
  private readonly events: MetricFamily;
  private readonly leaves = new Map<string, LeafCounts>();

  constructor(family: FamilyFactory) {
    this.current = family('governor_tenant_pids_current', 'Processes and threads in the tenant cgroup; pids.current', 'gauge');
    this.limit = family('governor_tenant_pids_limit', 'pids.max of the tenant cgroup; absent when it is max', 'gauge');
    this.events = family(
      'governor_tenant_pids_events_total',
      'pids.events of the tenant cgroup: max counts forks refused by a pids.max (from 6.11: times this cgroup limit was hit, hierarchically)',
      'counter',
    );
    this.families = [this.current, this.limit, this.events];
  }

  enabled(host: HostView | undefined): boolean {
    return host?.capabilities.available.includes('pids') ?? false;
  }

  async collect(run: CollectorRun): Promise<void> {
    const current = run.series(this.current);
    const limit = run.series(this.limit);
    const events = run.series(this.events);
    const hierarchical = run.host?.capabilities.features.pidsEventsLocal ?? true;
    for (const name of this.leaves.keys()) if (!run.tenants.some((t) => t.name === name)) this.leaves.delete(name);
    await run.eachTenant(async (tenant) => {
      const [currentText, maxText, eventsText] = await Promise.all([
        run.read(tenant.dir, 'pids.current'),
        run.read(tenant.dir, 'pids.max'),
        run.read(tenant.dir, 'pids.events'),
      ]);
      if (currentText !== undefined) {
        const value = parseLimitValue(currentText);
        if (typeof value === 'number') emit(current, tenant.labels, value);
        else run.countError();
      }
      if (maxText !== undefined) {
        const value = parseLimitValue(maxText);
        if (value === undefined) run.countError();
        else if (value !== 'max') emit(limit, tenant.labels, value);
      }
      if (eventsText !== undefined) {
        const parsed = parsePidsEvents(eventsText);
        if (parsed === undefined) run.countError();
        else emit(events, tenant.pidsMaxEvent, parsed.max + (hierarchical ? 0 : await this.leafSum(run, tenant)));
      }
    });
  }

  /** pids.events max summed over the tenant's leaves, with what leaves that are gone had counted. */
  private async leafSum(run: CollectorRun, tenant: TenantTarget): Promise<number> {
    const counts = this.leaves.get(tenant.name) ?? { last: new Map<string, number>(), retired: 0 };
    this.leaves.set(tenant.name, counts);
    const dirs = [`${tenant.dir}/attached`, ...tenant.workloads.map((w) => w.dir)];
    const texts = await Promise.all(dirs.map((dir) => run.read(dir, 'pids.events')));
    const now = new Map<string, number>();
    dirs.forEach((dir, i) => {
      const max = texts[i] === undefined ? undefined : parsePidsEvents(texts[i])?.max;
      if (max !== undefined) now.set(dir, Math.max(max, counts.last.get(dir) ?? 0));
    });
    for (const [dir, value] of counts.last) if (!now.has(dir)) counts.retired += value;
    counts.last = now;
    let sum = counts.retired;
    for (const value of now.values()) sum += value;
    return sum;
  }
}
