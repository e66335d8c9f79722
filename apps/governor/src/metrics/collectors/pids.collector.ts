import { parseLimitValue, parsePidsEvents } from '../../../../../libs/cgroup/src/stats/pids';
import { type Collector, type CollectorRun, emit, type FamilyFactory, type HostView } from '../collector';
import type { MetricFamily } from '../metric-family';

/** Processes of each tenant: pids.current, pids.max (absent when max) and pids.events. Needs the pids controller. */
export class PidsCollector implements Collector {
  readonly name = 'pids';
  readonly families: readonly MetricFamily[];
  private readonly current: MetricFamily;
  private readonly limit: MetricFamily;
  private readonly events: MetricFamily;

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
        else emit(events, tenant.pidsMaxEvent, parsed.max);
      }
    });
  }
}
