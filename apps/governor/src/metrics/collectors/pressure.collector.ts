import { parsePressure } from '../../../../../libs/cgroup/src/stats/pressure';
import { type Collector, type CollectorPlan, type CollectorRun, emit, type FamilyFactory, type HostView, seconds } from '../collector';
import type { MetricFamily } from '../metric-family';
import { PRESSURE_RESOURCES } from '../tenant-targets';

const FILES = { cpu: 'cpu.pressure', memory: 'memory.pressure', io: 'io.pressure' } as const;
const PLANNED = PRESSURE_RESOURCES.map((resource) => FILES[resource]);

/**
 * Per-tenant pressure stall information: the cumulative "total=" of each line of cpu.pressure,
 * memory.pressure and io.pressure, microseconds turned into seconds. The files belong to cgroup core, so
 * they exist with PSI on whatever controllers the host has. cpu.pressure has no "full" line before 5.13.
 */
export class PressureCollector implements Collector {
  readonly name = 'pressure';
  readonly families: readonly MetricFamily[];
  private readonly stalled: MetricFamily;

  constructor(family: FamilyFactory) {
    this.stalled = family(
      'governor_tenant_pressure_seconds_total',
      'Time some (at least one) or full (all non-idle) tasks of the tenant stalled waiting for a resource; total= of cpu.pressure, memory.pressure and io.pressure',
      'counter',
    );
    this.families = [this.stalled];
  }

  enabled(host: HostView | undefined): boolean {
    return host?.capabilities.features.pressure ?? false;
  }

  plan(plan: CollectorPlan): void {
    for (const tenant of plan.tenants) plan.want(tenant.dir, PLANNED);
  }

  collect(run: CollectorRun): void {
    const stalled = run.series(this.stalled);
    for (const tenant of run.tenants) {
      for (const resource of PRESSURE_RESOURCES) {
        const text = run.read(tenant.dir, FILES[resource]);
        if (text === undefined) continue;
        const pressure = parsePressure(text);
        if (pressure === undefined) {
          run.countError();
          continue;
        }
        const labels = tenant.pressure[resource];
        emit(stalled, labels.some, seconds(pressure.some.totalUsec));
        if (pressure.full !== undefined) emit(stalled, labels.full, seconds(pressure.full.totalUsec));
      }
    }
  }
}
