import { Injectable } from '@nestjs/common';
import type { LabelSet } from './metric-family';

/** One node's last heartbeat, as the nodes table had it when this process last looked. */
export interface NodeHeartbeat {
  node: string;
  /** milliseconds since the epoch */
  heartbeatAt: number;
  /** the node's own heartbeat interval: two of them without a heartbeat and it is NotReady */
  intervalMs: number;
  /** {node}, kept for as long as the node is listed */
  labels: LabelSet;
}

/**
 * Every node's last heartbeat, loaded by the nodes service on its own heartbeat tick, so that a scrape
 * computes governor_node_heartbeat_age_seconds from memory and never queries PostgreSQL. While the
 * database is unreachable the list stays as it was and the ages keep growing, which is what an alert
 * on a lost heartbeat should see.
 */
@Injectable()
export class NodeHeartbeats {
  private beats: readonly NodeHeartbeat[] = [];

  set(rows: ReadonlyArray<{ name: string; heartbeatAt: Date; heartbeatIntervalMs: number }>): void {
    const known = new Map(this.beats.map((beat) => [beat.node, beat.labels]));
    this.beats = rows
      .map((row) => ({
        node: row.name,
        heartbeatAt: row.heartbeatAt.getTime(),
        intervalMs: row.heartbeatIntervalMs,
        labels: known.get(row.name) ?? { node: row.name },
      }))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  list(): readonly NodeHeartbeat[] {
    return this.beats;
  }
}
