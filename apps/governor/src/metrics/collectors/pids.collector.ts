import { parseLimitValue, parsePidsEvents } from '../../../../../libs/cgroup/src/stats/pids';
import { type Collector, type CollectorPlan, type CollectorRun, emit, type FamilyFactory, type HostView } from '../collector';
import type { MetricFamily } from '../metric-family';
import type { TenantCatalog } from '../tenant-catalog';
import type { TenantTarget } from '../tenant-targets';

const FILES = ['pids.current', 'pids.max', 'pids.events'];
const LEAF_FILES = ['pids.events'];

/**
 * Processes of each tenant: pids.current, pids.max (absent when max) and pids.events. Needs the pids
 * controller. Before 6.11 a fork refused by the tenant's pids.max counts only in the cgroup of the task
 * that forked, which is always a leaf (workloads/<id> or attached: a tenant with children holds no
 * processes itself); there the tenant's series is the sum over its live leaves plus what the reaper kept
 * of removed ones (TenantCatalog.retiredPidsMax), and it never goes down: a leaf removed between the two
 * reads of a scrape would otherwise dip it. From 6.11 (pids.events.local exists) pids.events is
 * hierarchical and read alone.
 */
export class PidsCollector implements Collector {
  readonly name = 'pids';
  readonly families: readonly MetricFamily[];
  private readonly current: MetricFamily;
  private readonly limit: MetricFamily;
  private readonly events: MetricFamily;
  /** the last sum exported per tenant, before 6.11 */
  private readonly lastSum = new Map<string, number>();

  constructor(
    family: FamilyFactory,
    private readonly catalog: TenantCatalog,
  ) {
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

  plan(plan: CollectorPlan): void {
    const hierarchical = plan.host.capabilities.features.pidsEventsLocal;
    for (const tenant of plan.tenants) {
      plan.want(tenant.dir, FILES);
      if (hierarchical) continue;
      for (const dir of leaves(tenant)) plan.want(dir, LEAF_FILES);
    }
  }

  collect(run: CollectorRun): void {
    const current = run.series(this.current);
    const limit = run.series(this.limit);
    const events = run.series(this.events);
    const hierarchical = run.host?.capabilities.features.pidsEventsLocal ?? true;
    for (const name of this.lastSum.keys()) if (!run.tenants.some((t) => t.name === name)) this.lastSum.delete(name);
    for (const tenant of run.tenants) {
      const currentText = run.read(tenant.dir, 'pids.current');
      const maxText = run.read(tenant.dir, 'pids.max');
      const eventsText = run.read(tenant.dir, 'pids.events');
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
        else emit(events, tenant.pidsMaxEvent, hierarchical ? parsed.max : this.leafSum(run, tenant, parsed.max));
      }
    }
  }

  /** The tenant's own pids.events max plus its leaves', live and removed; never less than last time. */
  private leafSum(run: CollectorRun, tenant: TenantTarget, own: number): number {
    let sum = own + this.catalog.retiredPidsMax(tenant.name);
    for (const dir of leaves(tenant)) {
      const text = run.read(dir, 'pids.events');
      sum += (text === undefined ? undefined : parsePidsEvents(text)?.max) ?? 0;
    }
    sum = Math.max(sum, this.lastSum.get(tenant.name) ?? 0);
    this.lastSum.set(tenant.name, sum);
    return sum;
  }
}

/** The leaves a refused fork is counted in before 6.11: attached/ and each running workload's. */
function leaves(tenant: TenantTarget): string[] {
  return [`${tenant.dir}/attached`, ...tenant.workloads.map((w) => w.dir)];
}
