import { parseCpuMax } from '../../../../../libs/cgroup/src/stats/cpu-max';
import { parseCpuStat, parseCpuStatLocal } from '../../../../../libs/cgroup/src/stats/cpu-stat';
import { parseLimitValue } from '../../../../../libs/cgroup/src/stats/pids';
import { type Collector, type CollectorPlan, type CollectorRun, emit, type FamilyFactory, type HostView, seconds } from '../collector';
import type { MetricFamily } from '../metric-family';
import type { TenantTarget, WorkloadTarget } from '../tenant-targets';

type CpuSeries = ReturnType<CpuCollector['seriesOf']>;

/** cpu.stat's usage keys come from cgroup core; the limits and the throttling need the cpu controller. */
const CORE_FILES = ['cpu.stat'];
const TENANT_FILES = ['cpu.stat', 'cpu.max', 'cpu.weight'];
const LOCAL_FILES = ['cpu.stat', 'cpu.stat.local'];

/**
 * CPU time, throttling and limits of each tenant (cpu.stat, cpu.max, cpu.weight), and of each running
 * workload's leaf. usage, user and system come from cgroup core and exist without the cpu controller;
 * the throttling keys and the limit files need it, so on a host without it they export no series.
 *
 * Throttle attribution. cpu.stat's nr_throttled and throttled_usec are not hierarchical: they count only
 * the periods and time in which the group's own cpu.max ran out. So the tenant's series say how much the
 * tenant cap bit, and a workload's say how much its own cap bit. cpu.stat.local (6.6+) adds, per
 * workload, the time it sat throttled by its own cap or by any ancestor's, the tenant cap included.
 */
export class CpuCollector implements Collector {
  readonly name = 'cpu';
  readonly families: readonly MetricFamily[];
  private readonly usage: MetricFamily;
  private readonly user: MetricFamily;
  private readonly system: MetricFamily;
  private readonly periods: MetricFamily;
  private readonly throttledPeriods: MetricFamily;
  private readonly throttled: MetricFamily;
  private readonly burst: MetricFamily;
  private readonly limit: MetricFamily;
  private readonly weight: MetricFamily;
  private readonly workloadUsage: MetricFamily;
  private readonly workloadThrottledPeriods: MetricFamily;
  private readonly workloadThrottled: MetricFamily;
  private readonly workloadThrottledLocal: MetricFamily;

  constructor(family: FamilyFactory) {
    this.usage = family(
      'governor_tenant_cpu_usage_seconds_total',
      'CPU time used by the tenant cgroup and everything below it; cpu.stat usage_usec',
      'counter',
    );
    this.user = family('governor_tenant_cpu_user_seconds_total', 'CPU time in user mode; cpu.stat user_usec', 'counter');
    this.system = family('governor_tenant_cpu_system_seconds_total', 'CPU time in kernel mode; cpu.stat system_usec', 'counter');
    this.periods = family(
      'governor_tenant_cpu_periods_total',
      'cpu.max enforcement periods that elapsed while the tenant was runnable; cpu.stat nr_periods',
      'counter',
    );
    this.throttledPeriods = family(
      'governor_tenant_cpu_throttled_periods_total',
      "Periods in which the tenant cap (the tenant cgroup's cpu.max) ran out; cpu.stat nr_throttled, which counts only throttling by the cgroup's own limit",
      'counter',
    );
    this.throttled = family(
      'governor_tenant_cpu_throttled_seconds_total',
      'Time the tenant sat throttled by the tenant cap (its own cpu.max); cpu.stat throttled_usec, not hierarchical',
      'counter',
    );
    this.burst = family(
      'governor_tenant_cpu_burst_seconds_total',
      'CPU time run beyond the quota thanks to cpu.max.burst; cpu.stat burst_usec (5.16+)',
      'counter',
    );
    this.limit = family('governor_tenant_cpu_limit_cores', 'The tenant cap in cores: cpu.max quota over period; absent when cpu.max is max', 'gauge');
    this.weight = family('governor_tenant_cpu_weight', 'cpu.weight of the tenant cgroup (1 to 10000, default 100)', 'gauge');
    this.workloadUsage = family('governor_workload_cpu_usage_seconds_total', 'CPU time used by a running workload leaf; cpu.stat usage_usec', 'counter');
    this.workloadThrottledPeriods = family(
      'governor_workload_cpu_throttled_periods_total',
      "Periods in which the workload's own cpu.max ran out; cpu.stat nr_throttled of its leaf, which does not count throttling by the tenant cap",
      'counter',
    );
    this.workloadThrottled = family(
      'governor_workload_cpu_throttled_seconds_total',
      'Time the workload sat throttled by its own cpu.max, not by the tenant cap; cpu.stat throttled_usec of its leaf. Throttling by the tenant cap shows in governor_tenant_cpu_throttled_seconds_total',
      'counter',
    );
    this.workloadThrottledLocal = family(
      'governor_workload_cpu_throttled_local_seconds_total',
      "Time the workload sat throttled by its own cpu.max or an ancestor's, the tenant cap included; cpu.stat.local throttled_usec (6.6+, absent before). " +
        'Its rate minus that of governor_workload_cpu_throttled_seconds_total approximates the time this workload was held back by the tenant cap alone',
      'counter',
    );
    this.families = [
      this.usage,
      this.user,
      this.system,
      this.periods,
      this.throttledPeriods,
      this.throttled,
      this.burst,
      this.limit,
      this.weight,
      this.workloadUsage,
      this.workloadThrottledPeriods,
      this.workloadThrottled,
      this.workloadThrottledLocal,
    ];
  }

  enabled(host: HostView | undefined): boolean {
    return host !== undefined;
  }

  plan(plan: CollectorPlan): void {
    const controller = plan.host.capabilities.available.includes('cpu');
    const local = controller && plan.host.capabilities.features.cpuStatLocal;
    const tenantFiles = controller ? TENANT_FILES : CORE_FILES;
    const workloadFiles = local ? LOCAL_FILES : CORE_FILES;
    for (const tenant of plan.tenants) {
      plan.want(tenant.dir, tenantFiles);
      for (const workload of tenant.workloads) plan.want(workload.dir, workloadFiles);
    }
  }

  collect(run: CollectorRun): void {
    const capabilities = run.host?.capabilities;
    const controller = capabilities?.available.includes('cpu') ?? false;
    const local = controller && (capabilities?.features.cpuStatLocal ?? false);
    const out = this.seriesOf(run);
    for (const tenant of run.tenants) {
      this.tenant(run, tenant, controller, out);
      for (const workload of tenant.workloads) this.workload(run, workload, local, out);
    }
  }

  private seriesOf(run: CollectorRun) {
    return {
      usage: run.series(this.usage),
      user: run.series(this.user),
      system: run.series(this.system),
      periods: run.series(this.periods),
      throttledPeriods: run.series(this.throttledPeriods),
      throttled: run.series(this.throttled),
      burst: run.series(this.burst),
      limit: run.series(this.limit),
      weight: run.series(this.weight),
      workloadUsage: run.series(this.workloadUsage),
      workloadThrottledPeriods: run.series(this.workloadThrottledPeriods),
      workloadThrottled: run.series(this.workloadThrottled),
      workloadThrottledLocal: run.series(this.workloadThrottledLocal),
    };
  }

  private tenant(run: CollectorRun, tenant: TenantTarget, controller: boolean, out: CpuSeries): void {
    const statText = run.read(tenant.dir, 'cpu.stat');
    const maxText = controller ? run.read(tenant.dir, 'cpu.max') : undefined;
    const weightText = controller ? run.read(tenant.dir, 'cpu.weight') : undefined;
    const labels = tenant.labels;
    if (statText !== undefined) {
      const stat = parseCpuStat(statText);
      if (stat === undefined) {
        run.countError();
      } else {
        emit(out.usage, labels, seconds(stat.usageUsec));
        emit(out.user, labels, seconds(stat.userUsec));
        emit(out.system, labels, seconds(stat.systemUsec));
        emit(out.periods, labels, stat.nrPeriods);
        emit(out.throttledPeriods, labels, stat.nrThrottled);
        emit(out.throttled, labels, stat.throttledUsec === undefined ? undefined : seconds(stat.throttledUsec));
        emit(out.burst, labels, stat.burstUsec === undefined ? undefined : seconds(stat.burstUsec));
      }
    }
    if (maxText !== undefined) {
      const max = parseCpuMax(maxText);
      if (max === undefined) run.countError();
      else if (max.quotaUsec !== 'max') emit(out.limit, labels, max.quotaUsec / max.periodUsec);
    }
    if (weightText !== undefined) {
      const weight = parseLimitValue(weightText);
      if (typeof weight === 'number') emit(out.weight, labels, weight);
      else run.countError();
    }
  }

  private workload(run: CollectorRun, workload: WorkloadTarget, local: boolean, out: CpuSeries): void {
    const statText = run.read(workload.dir, 'cpu.stat');
    const localText = local ? run.read(workload.dir, 'cpu.stat.local') : undefined;
    const labels = workload.labels;
    if (statText !== undefined) {
      const stat = parseCpuStat(statText);
      if (stat === undefined) {
        run.countError();
      } else {
        emit(out.workloadUsage, labels, seconds(stat.usageUsec));
        emit(out.workloadThrottledPeriods, labels, stat.nrThrottled);
        emit(out.workloadThrottled, labels, stat.throttledUsec === undefined ? undefined : seconds(stat.throttledUsec));
      }
    }
    if (localText !== undefined) {
      const throttled = parseCpuStatLocal(localText).throttledUsec;
      emit(out.workloadThrottledLocal, labels, throttled === undefined ? undefined : seconds(throttled));
    }
  }
}
