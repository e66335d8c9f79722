import type { Collector, CollectorRun, FamilyFactory, HostView } from '../collector';
import type { MetricFamily } from '../metric-family';
import type { TenantCatalog } from '../tenant-catalog';
import { WORKLOAD_STATES } from '../tenant-targets';

/** Workloads of each tenant on this node by state, from the catalog the workload supervisor keeps; no file is read. */
export class WorkloadsCollector implements Collector {
  readonly name = 'workloads';
  readonly families: readonly MetricFamily[];
  private readonly workloads: MetricFamily;

  constructor(
    family: FamilyFactory,
    private readonly catalog: TenantCatalog,
  ) {
    this.workloads = family('governor_tenant_workloads', 'Workloads of the tenant on this node by state; states without any are 0', 'gauge');
    this.families = [this.workloads];
  }

  enabled(host: HostView | undefined): boolean {
    return host !== undefined;
  }

  // The counts come from the catalog in memory; no file is read.
  collect(run: CollectorRun): void {
    const out = run.series(this.workloads);
    for (const tenant of run.tenants) {
      const states = this.catalog.workloads(tenant.name).states;
      for (const state of WORKLOAD_STATES) out.push({ value: states[state] ?? 0, sharedLabels: tenant.workloadState(state) });
      for (const [state, count] of Object.entries(states)) {
        if (!(WORKLOAD_STATES as readonly string[]).includes(state)) out.push({ value: count, sharedLabels: tenant.workloadState(state) });
      }
    }
  }
}
