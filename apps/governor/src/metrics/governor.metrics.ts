import { Injectable } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

const EVENT_LOOP_SAMPLE_MS = 100;

/** The service's own Registry (never prom-client's global one) and the governor's self-metrics. */
@Injectable()
export class GovernorMetrics {
  readonly registry = new Registry();

  readonly cgroupWrites = new Counter({ name: 'governor_cgroup_writes_total', help: 'Writes to cgroup files by the reconciler', registers: [this.registry] });
  readonly driftCorrections = new Counter({
    name: 'governor_drift_corrections_total',
    help: 'Cgroup files found changed behind Governor and written back',
    labelNames: ['tenant', 'file'],
    registers: [this.registry],
  });
  readonly reconcileTotal = new Counter({
    name: 'governor_reconcile_total',
    help: 'Tenant reconciles by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'governor_reconcile_duration_seconds',
    help: 'Time to reconcile one tenant',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  /**
   * The same time split by step (the tenant's desired state read, its cgroup, its network and firewall, its
   * init and namespaces, its status write): which one grows when a pass slows.
   */
  readonly reconcileStepDuration = new Histogram({
    name: 'governor_reconcile_step_duration_seconds',
    help: 'Time of one step of one tenant reconcile, by step (read, cgroup, network, isolation, status)',
    labelNames: ['step'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  constructor() {
    // The event-loop lag histogram samples with a timer: prom-client's 10 ms default wakes the process 100
    // times a second, 0.5% of a core on this host with nothing else to do (a bare Node.js process, 30 s);
    // every 100 ms costs 0.06% and still catches any stall that spans a sample.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }
}
