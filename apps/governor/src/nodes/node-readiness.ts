/** A node is NotReady once its heartbeat is older than this many of its own heartbeat intervals. */
export const MISSED_HEARTBEATS = 2;
/** A node whose heartbeat is older than this is taken as gone: deletion no longer waits for it, and "every node" no longer counts it. */
export const NODE_STALE_MS = 5 * 60_000;

/** What placement and the tenant view need to know of a node. */
export interface NodeReadiness {
  name: string;
  ready: boolean;
  /** gone for good as far as placement on "every node" goes (NODE_STALE_MS without a heartbeat) */
  gone: boolean;
  heartbeatAt: Date;
}

export function isReady(heartbeatAt: Date, heartbeatIntervalMs: number, now: number): boolean {
  return now - heartbeatAt.getTime() <= MISSED_HEARTBEATS * heartbeatIntervalMs;
}

export function readinessOf(node: { name: string; heartbeatAt: Date; heartbeatIntervalMs: number }, now: number): NodeReadiness {
  return {
    name: node.name,
    ready: isReady(node.heartbeatAt, node.heartbeatIntervalMs, now),
    gone: now - node.heartbeatAt.getTime() >= NODE_STALE_MS,
    heartbeatAt: node.heartbeatAt,
  };
}

/** The nodes a tenant is placed on: those it names, or (an empty list) every node that is not gone. */
export function targetNodes(placement: readonly string[], fleet: readonly NodeReadiness[]): string[] {
  return placement.length > 0 ? [...placement] : fleet.filter((node) => !node.gone).map((node) => node.name);
}
