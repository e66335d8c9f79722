import { parseCgroupEvents } from '../../../../../libs/cgroup/src/stats/cgroup-events';
import type { Collector, CollectorPlan, CollectorRun, FamilyFactory, HostView } from '../collector';
import type { LabelSet, MetricFamily } from '../metric-family';

/** The phases the reconciler records; each is exported, 0 when no tenant is in it. */
const PHASES = ['Pending', 'Ready', 'Degraded', 'Suspended', 'Error', 'Terminating'] as const;
const FILES = ['cgroup.events'];

/**
 * The catalog's tenants by phase, and each tenant's freezer state from cgroup.events. It runs first: a
 * tenant without cgroup.events has no cgroup (removed by hand, or half torn down), and the collectors
 * after it skip that tenant instead of failing every one of its reads again.
 */
export class TenantsCollector implements Collector {
  readonly name = 'tenants';
  readonly families: readonly MetricFamily[];
  private readonly tenants: MetricFamily;
  private readonly frozen: MetricFamily;
  private readonly phaseLabels = new Map<string, LabelSet>();

  constructor(family: FamilyFactory) {
    this.tenants = family(
      'governor_tenants',
      "Tenants this node enforces, by the phase its reconciler last recorded here; the node label keeps each agent's series apart, so a tenant placed on two nodes is one series on each",
      'gauge',
    );
    this.frozen = family('governor_tenant_frozen', 'Whether the tenant cgroup is frozen (suspended): 1 frozen, 0 thawed; cgroup.events frozen', 'gauge');
    this.families = [this.tenants, this.frozen];
  }

  enabled(host: HostView | undefined): boolean {
    return host !== undefined;
  }

  plan(plan: CollectorPlan): void {
    for (const tenant of plan.tenants) plan.want(tenant.dir, FILES);
  }

  collect(run: CollectorRun): void {
    const counts = new Map<string, number>(PHASES.map((phase) => [phase, 0]));
    for (const tenant of run.tenants) counts.set(tenant.phase, (counts.get(tenant.phase) ?? 0) + 1);
    const tenants = run.series(this.tenants);
    for (const [state, count] of counts) tenants.push({ value: count, sharedLabels: this.phaseLabel(state, run.node) });

    const frozen = run.series(this.frozen);
    for (const tenant of run.tenants) {
      const text = run.read(tenant.dir, 'cgroup.events');
      if (text === undefined) {
        run.gone(tenant);
        // A terminating tenant's cgroup goes away on purpose; any other was removed behind Governor's back.
        if (tenant.phase !== 'Terminating') run.countError();
        continue;
      }
      const events = parseCgroupEvents(text);
      if (events === undefined) run.countError();
      else if (events.frozen !== undefined) frozen.push({ value: events.frozen ? 1 : 0, sharedLabels: tenant.labels });
    }
  }

  private phaseLabel(state: string, node: string): LabelSet {
    let labels = this.phaseLabels.get(state);
    if (labels === undefined) {
      labels = { state, node };
      this.phaseLabels.set(state, labels);
    }
    return labels;
  }
}
