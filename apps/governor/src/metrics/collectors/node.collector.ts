import { CONTROLLERS } from '../../../../../libs/cgroup/src/target';
import type { Collector, CollectorRun, FamilyFactory } from '../collector';
import type { LabelSet, MetricFamily } from '../metric-family';
import type { NodeHeartbeats } from '../node-heartbeats';
import { isReady } from '../../nodes/node-readiness';

/**
 * This node's cgroup controllers, and every node's heartbeat age. It runs in every role: an api replica
 * has no cgroups, but it reads the nodes table on its own tick and so can tell which agent went quiet.
 */
export class NodeCollector implements Collector {
  readonly name = 'node';
  readonly families: readonly MetricFamily[];
  private readonly controllers: MetricFamily;
  private readonly heartbeatAge: MetricFamily;
  private readonly ready: MetricFamily;
  private controllerLabels: ReadonlyMap<string, LabelSet> = new Map();

  constructor(
    family: FamilyFactory,
    private readonly heartbeats: NodeHeartbeats,
  ) {
    this.controllers = family(
      'governor_node_controller_available',
      'Whether a cgroup v2 controller is available to Governor on this node: 1 available, 0 missing (its limits are not enforced and its series are absent)',
      'gauge',
    );
    this.heartbeatAge = family(
      'governor_node_heartbeat_age_seconds',
      'Seconds since each node last wrote its heartbeat to the nodes table, as this process last read it (every heartbeat interval)',
      'gauge',
    );
    this.ready = family(
      'governor_node_ready',
      'Whether each node is Ready: 1 while its last heartbeat is at most two of its heartbeat intervals old, 0 (NotReady) after',
      'gauge',
    );
    this.families = [this.controllers, this.heartbeatAge, this.ready];
  }

  enabled(): boolean {
    return true;
  }

  // Nothing here reads a file: the capabilities and heartbeats are already in memory.
  collect(run: CollectorRun): void {
    const capabilities = run.host?.capabilities;
    if (capabilities !== undefined) {
      if (this.controllerLabels.size === 0) this.controllerLabels = new Map(CONTROLLERS.map((controller) => [controller, { controller, node: run.node }]));
      const out = run.series(this.controllers);
      for (const [controller, labels] of this.controllerLabels) {
        out.push({ value: capabilities.available.includes(controller as (typeof CONTROLLERS)[number]) ? 1 : 0, sharedLabels: labels });
      }
    }
    const ages = run.series(this.heartbeatAge);
    const ready = run.series(this.ready);
    for (const beat of this.heartbeats.list()) {
      ages.push({ value: Math.max(0, (run.now - beat.heartbeatAt) / 1000), sharedLabels: beat.labels });
      ready.push({ value: isReady(new Date(beat.heartbeatAt), beat.intervalMs, run.now) ? 1 : 0, sharedLabels: beat.labels });
    }
  }
}
