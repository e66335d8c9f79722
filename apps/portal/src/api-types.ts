import type { UsagePoint } from '../../governor/src/usage-history/usage-sample';

// The shapes of the governor API that the portal reads (see the OpenAPI document at /docs).

export type SizeLimit = number | 'max';

export interface Quota {
  cpu?: { max?: string; period?: string; weight?: number; burst?: string };
  memory?: { max?: SizeLimit; high?: SizeLimit; low?: number; min?: number; swapMax?: SizeLimit };
  pids?: { max?: number | 'max' };
  io?: unknown;
  cpuset?: { cpus?: string; mems?: string };
  network?: { ingress?: SizeLimit; egress?: SizeLimit; outside?: boolean };
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface Tenant {
  id: string;
  name: string;
  displayName: string | null;
  quota: Quota;
  suspended: boolean;
  generation: number;
  status: {
    phase: string;
    conditions: Condition[];
    uidRange: { start: number; size: number } | null;
    network: { address: string; gateway: string; hostInterface: string; namespace: string } | null;
  };
}

/** One point of the usage history, as the service defines it (a type only: nothing of the server is bundled). */
export type { UsagePoint };

export interface MemoryEvents {
  low?: number;
  high?: number;
  max?: number;
  oom?: number;
  oomKill?: number;
  oomGroupKill?: number;
}

export interface Usage {
  node: string;
  usage: {
    cpu: { usageSeconds?: number; userSeconds?: number; systemSeconds?: number; periods?: number; throttledPeriods?: number; throttledSeconds?: number };
    memory: { currentBytes?: number; peakBytes?: number; workingSetBytes?: number; events?: MemoryEvents };
    pids: { current?: number };
    frozen: boolean;
    populated: boolean;
  };
  network: { receiveBytes: number; transmitBytes: number; drops: number } | null;
  history: { intervalSeconds: number; points: UsagePoint[] };
}

/**
 * One of the values this portal knows, or one a newer server sends. `string & Record<never, never>` is a
 * string that does not swallow the literals, so the editor and the checker still see the known ones.
 */
export type Open<Known extends string> = Known | (string & Record<never, never>);

export interface TenantEvent {
  at: string;
  kind: Open<'oom-kill' | 'throttling' | 'quota-change' | 'workload'>;
  message: string;
  detail?: unknown;
}

export type WorkloadState = 'starting' | 'running' | 'exited' | 'killed' | 'oom-killed' | 'failed' | 'lost' | 'unknown';

export interface Workload {
  id: string;
  tenant: string;
  command: string[];
  envNames: string[];
  cwd: string;
  state: Open<WorkloadState>;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  message: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface PlanWrite {
  file: string;
  from: string | null;
  to: string;
}

export interface QuotaRequest {
  id: string;
  tenant: string;
  state: Open<'pending' | 'approved' | 'rejected' | 'withdrawn'>;
  quota: Record<string, unknown>;
  reason: string;
  createdAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  plan: { quota: unknown; nodes: Array<{ node: string; writes: PlanWrite[]; warnings: string[] }> } | null;
  planError?: string;
}

export interface Items<T> {
  items: T[];
}
