import { parsePressure } from '../../../../../libs/cgroup/src/stats/pressure';
import { type Collector, type CollectorRun, emit, type FamilyFactory, type HostView, seconds } from '../collector';
import type { MetricFamily } from '../metric-family';
import { PRESSURE_RESOURCES } from '../tenant-targets';

const FILES = { cpu: 'cpu.pressure', memory: 'memory.pressure', io: 'io.pressure' } as const;

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

  async collect(run: CollectorRun): Promise<void> {
    const stalled = run.series(this.stalled);
    await run.eachTenant(async (tenant) => {
      const texts = await Promise.all(PRESSURE_RESOURCES.map((resource) => run.read(tenant.dir, FILES[resource])));
      PRESSURE_RESOURCES.forEach((resource, i) => {
        const text = texts[i];
        if (text === undefined) return;
        const pressure = parsePressure(text);
        if (pressure === undefined) {
          run.countError();
          return;
        }
        const labels = tenant.pressure[resource];
        emit(stalled, labels.some, seconds(pressure.some.totalUsec));
        if (pressure.full !== undefined) emit(stalled, labels.full, seconds(pressure.full.totalUsec));
      });
    });
  }
}
