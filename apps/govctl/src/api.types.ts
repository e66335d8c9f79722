import type { Quota } from '../../../libs/domain/src/quota.types';

/** The shapes govctl reads from the v1 API (README "API"); only the fields it shows are typed. */

export type { Quota };

export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem document as the API answers every error. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  requestId?: string;
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
  nodes: string[];
  suspended: boolean;
  generation: number;
  resourceVersion: number;
  createdAt: string;
  updatedAt: string;
  status: {
    observedGeneration: number;
    phase: string;
    conditions: Condition[];
    cgroupPath: string | null;
    uidRange: { start: number; size: number } | null;
    network: { namespace: string; hostInterface: string; address: string; gateway: string } | null;
  };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Items<T> {
  items: T[];
}

export interface LedgerEntry {
  id: string;
  at: string;
  actor: string;
  generation: number;
  before: Quota | null;
  after: Quota | null;
  requestId: string | null;
}

export interface FileChange {
  file: string;
  from: string | null;
  to: string;
}

/** One guaranteed resource on one node, as the plan's admission shows it. */
export interface ResourceAdmission {
  node: string;
  resource: 'memory.min' | 'cpuset.cpus';
  requested: number | 'max';
  placed: number | 'max';
  capacity: number;
  allowed: number | 'unlimited';
  fits: boolean;
  admitted: boolean;
}

export interface TenantPlan {
  quota: Quota;
  /** absent from servers older than admission */
  admission?: { admitted: boolean; resources: ResourceAdmission[] };
  nodes: Array<{ node: string; writes: FileChange[]; warnings: string[] }>;
}

/** A PSI line; the averages come with /usage, not from a scrape of /metrics (totals only). */
export interface PressureLine {
  avg10?: number;
  avg60?: number;
  avg300?: number;
  totalUsec: number;
}

export interface Pressure {
  some: PressureLine;
  full?: PressureLine;
}

export interface IoStatEntry {
  device: string;
  rbytes?: number;
  wbytes?: number;
  rios?: number;
  wios?: number;
}

export interface TenantUsage {
  cpu: { usageSeconds?: number; periods?: number; throttledPeriods?: number; throttledSeconds?: number };
  memory: { currentBytes?: number; peakBytes?: number; workingSetBytes?: number; swapBytes?: number; events?: Record<string, number> };
  pids: { current?: number };
  io: IoStatEntry[];
  pressure: { cpu?: Pressure; memory?: Pressure; io?: Pressure };
  frozen: boolean;
  populated: boolean;
}

export interface MyUsage {
  node: string;
  usage: TenantUsage;
  network: { receiveBytes: number; transmitBytes: number; drops: number } | null;
  history: {
    intervalSeconds: number;
    points: Array<{ at: string; cpuCores: number | null; receiveBitsPerSecond: number | null; transmitBitsPerSecond: number | null }>;
  };
}

export interface Workload {
  id: string;
  tenant: string;
  node: string;
  command: string[];
  cwd: string;
  state: string;
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  message: string | null;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A workload in one of these states has not ended yet. */
export const ACTIVE_WORKLOAD_STATES = ['starting', 'running'];

export interface NodeView {
  name: string;
  role: string;
  kernel: string;
  cgroup: { mode: string; mount: string; root: string };
  controllers: { available: string[]; missing: string[] };
  features: Record<string, boolean>;
  heartbeatAt: string;
  alive: boolean;
}

export interface QuotaRequest {
  id: string;
  tenant: string;
  state: string;
  quota: Record<string, unknown>;
  reason: string;
  createdAt: string;
  createdBy: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  plan: TenantPlan | null;
  planError?: string;
}

export interface TenantKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AdminToken {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
}
