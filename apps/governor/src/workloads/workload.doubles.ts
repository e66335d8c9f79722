import type { Quota } from '../../../../libs/domain/src/quota.types';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import type { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import type { LogRead, LogStream } from '../../../../libs/workloads/src/logs';
import type { MonitorStatus } from '../../../../libs/workloads/src/monitor';
import type { AuditRecord } from '../audit/audit.service';
import type { TenantEventKind } from '../tenant-events/tenant-events.service';
import { TenantException } from '../tenants/tenant.exception';
import type { WorkloadCgroups, WorkloadHost } from './workload.host';
import type { StartWorkloadInput } from './workload.request';
import { ACTIVE_STATES, type Admission, type NewWorkload, type WorkloadChange, type WorkloadCount, type WorkloadsRepository } from './workloads.repository';

/**
 * Typed test doubles of the workload classes' collaborators, for their unit specs: the database as rows in memory,
 * the host as recorded calls and monitor states set by the test. No TypeORM, no file, no process.
 */

type PublicOf<T> = Pick<T, keyof T>;

/** A promise a test resolves when it chooses, to hold a call open while another one comes. */
export class Gate {
  readonly opened: Promise<void>;
  open!: () => void;
  constructor() {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
}

/** The workloads table, and the tenants it joins, in memory, with the same conditions as the SQL. */
export class MemoryWorkloads implements PublicOf<WorkloadsRepository> {
  readonly rows = new Map<string, WorkloadEntity>();
  readonly tenantNames = new Map<string, string>();
  readonly audits: AuditRecord[] = [];
  /** the changes recordChange wrote, in order */
  readonly changes: Array<{ id: string; change: WorkloadChange }> = [];
  /** how many times activeOnNode was asked */
  activeQueries = 0;

  /** A row as a test wants it; active on node-1 unless it says otherwise. */
  put(tenant: Pick<TenantEntity, 'id' | 'name'>, row: Partial<WorkloadEntity> & { id: string }): WorkloadEntity {
    this.tenantNames.set(tenant.id, tenant.name);
    const full: WorkloadEntity = {
      tenantId: tenant.id,
      node: 'node-1',
      command: ['/bin/sleep', '300'],
      envNames: [],
      cwd: '/',
      quota: {},
      state: 'running',
      pid: null,
      exitCode: null,
      signal: null,
      message: null,
      createdBy: 'admin:root',
      createdAt: new Date(),
      startedAt: null,
      finishedAt: null,
      killAt: null,
      ...row,
    };
    this.rows.set(full.id, full);
    return { ...full };
  }

  private active(row: WorkloadEntity): boolean {
    return ACTIVE_STATES.includes(row.state);
  }

  admit(workload: NewWorkload, max: number): Promise<Admission> {
    const active = [...this.rows.values()].filter((row) => row.tenantId === workload.tenantId && row.node === workload.node && this.active(row)).length;
    if (active >= max) return Promise.resolve({ admitted: false, active });
    const row = this.put({ id: workload.tenantId, name: this.tenantNames.get(workload.tenantId) ?? '' }, { ...workload, state: 'starting' });
    return Promise.resolve({ admitted: true, row });
  }

  recordAudit(entry: AuditRecord): Promise<void> {
    this.audits.push(entry);
    return Promise.resolve();
  }

  markFailed(id: string, message: string): Promise<void> {
    const row = this.rows.get(id);
    if (row) Object.assign(row, { state: 'failed', message, finishedAt: new Date() });
    return Promise.resolve();
  }

  get(id: string): Promise<WorkloadEntity> {
    const row = this.rows.get(id);
    return row ? Promise.resolve({ ...row }) : Promise.reject(new Error(`no workload ${id}`));
  }

  find(id: string): Promise<WorkloadEntity | undefined> {
    const row = this.rows.get(id);
    return Promise.resolve(row && { ...row });
  }

  findOfTenant(tenantId: string, id: string): Promise<WorkloadEntity | undefined> {
    const row = this.rows.get(id);
    return Promise.resolve(row?.tenantId === tenantId ? { ...row } : undefined);
  }

  listOfTenant(tenantId: string, limit: number): Promise<WorkloadEntity[]> {
    const rows = [...this.rows.values()].filter((row) => row.tenantId === tenantId).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    return Promise.resolve(rows.slice(0, limit).map((row) => ({ ...row })));
  }

  setKillDeadline(id: string, at: Date): Promise<Date | undefined> {
    const row = this.rows.get(id);
    if (!row || !this.active(row)) return Promise.resolve(undefined);
    row.killAt = row.killAt !== null && row.killAt < at ? row.killAt : at;
    return Promise.resolve(row.killAt);
  }

  killDue(id: string, node: string): Promise<boolean> {
    const row = this.rows.get(id);
    return Promise.resolve(row !== undefined && row.node === node && this.active(row) && row.killAt !== null && row.killAt.getTime() <= Date.now());
  }

  recordChange(id: string, change: WorkloadChange, from: readonly string[]): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || !from.includes(row.state)) return Promise.resolve(false);
    Object.assign(row, change);
    this.changes.push({ id, change });
    return Promise.resolve(true);
  }

  activeOnNode(node: string): Promise<WorkloadEntity[]> {
    this.activeQueries++;
    const rows = [...this.rows.values()].filter((row) => row.node === node && this.active(row));
    return Promise.resolve(rows.map((row) => ({ ...row, tenant: { id: row.tenantId, name: this.tenantNames.get(row.tenantId) } as TenantEntity })));
  }

  activeIdsOnNode(node: string): Promise<Set<string>> {
    return Promise.resolve(new Set([...this.rows.values()].filter((row) => row.node === node && this.active(row)).map((row) => row.id)));
  }

  endedBefore(ids: string[], node: string, cutoff: Date): Promise<string[]> {
    return Promise.resolve(
      ids.filter((id) => {
        const row = this.rows.get(id);
        return row !== undefined && row.node === node && row.finishedAt !== null && row.finishedAt < cutoff;
      }),
    );
  }

  countsOnNode(node: string): Promise<WorkloadCount[]> {
    const counts = new Map<string, WorkloadCount>();
    for (const row of this.rows.values()) {
      const tenant = this.tenantNames.get(row.tenantId);
      if (row.node !== node || tenant === undefined) continue;
      const key = `${tenant}/${row.state}`;
      const entry = counts.get(key) ?? { tenant, state: row.state, count: 0, running: [] };
      entry.count += 1;
      if (row.state === 'running') entry.running.push(row.id);
      counts.set(key, entry);
    }
    return Promise.resolve([...counts.values()]);
  }
}

/** This host as the workload classes see it: monitors whose status the test sets, and every call recorded. */
export class RecordingHost implements PublicOf<WorkloadHost> {
  supervises = true;
  readonly readyTenants = new Set<string>();
  readonly monitors = new Map<string, MonitorStatus>();
  readonly oomKillsOf = new Map<string, number>();
  readonly refusedForksOf = new Map<string, number>();
  readonly launched: Array<{ tenant: string; id: string; input: StartWorkloadInput }> = [];
  readonly signalled: Array<{ id: string; signal: NodeJS.Signals }> = [];
  readonly statusReads: string[] = [];
  readonly killed: string[] = [];
  readonly removed: string[] = [];
  readonly removedMonitorCgroups: string[] = [];
  readonly stateDirs = new Set<string>();
  leftovers: WorkloadCgroups = { leaves: [], monitors: [] };
  /** what a launch throws, to stand for a monitor that did not start */
  launchError: Error | undefined;
  /** while set, a status read waits for it: a second sync can come meanwhile */
  statusGate: Gate | undefined;

  bootId(): Promise<string> {
    return Promise.resolve('boot-1');
  }

  tenantReady(tenant: string): boolean {
    return this.readyTenants.has(tenant);
  }

  requireMonitors(): void {}

  launch(tenant: string, id: string, input: StartWorkloadInput): Promise<void> {
    this.launched.push({ tenant, id, input });
    if (this.launchError) return Promise.reject(this.launchError);
    this.monitors.set(id, { state: 'running', pid: 4242 });
    return Promise.resolve();
  }

  signal(id: string, signal: NodeJS.Signals): boolean {
    this.signalled.push({ id, signal });
    return this.monitors.get(id)?.state === 'running';
  }

  async status(id: string): Promise<MonitorStatus> {
    this.statusReads.push(id);
    await this.statusGate?.opened;
    return this.monitors.get(id) ?? { state: 'lost', message: 'monitor died' };
  }

  namespaces(): Promise<Array<{ kind: string; inode: number }>> {
    return Promise.resolve([]);
  }

  oomKills(_tenant: string, id: string): Promise<number> {
    return Promise.resolve(this.oomKillsOf.get(id) ?? 0);
  }

  pidsMaxEvents(_tenant: string, id: string): Promise<number> {
    return Promise.resolve(this.refusedForksOf.get(id) ?? 0);
  }

  kill(_tenant: string, id: string): Promise<boolean> {
    this.killed.push(id);
    const status = this.monitors.get(id);
    if (status?.state === 'running') this.monitors.set(id, { state: 'killed', signal: 9 });
    return Promise.resolve(true);
  }

  remove(_tenant: string, id: string): Promise<void> {
    this.removed.push(id);
    return Promise.resolve();
  }

  /** the `tenants` each sweep asked for (undefined: every tenant) */
  readonly sweeps: Array<readonly string[] | undefined> = [];

  cgroups(tenants?: readonly string[]): WorkloadCgroups {
    this.sweeps.push(tenants === undefined ? undefined : [...tenants]);
    if (tenants === undefined) return this.leftovers;
    return {
      leaves: this.leftovers.leaves.filter((leaf) => tenants.includes(leaf.tenant)),
      monitors: this.leftovers.monitors.filter((m) => m.tenant === undefined || tenants.includes(m.tenant)),
    };
  }

  removeMonitorCgroup(monitor: { tenant?: string; id: string }): Promise<void> {
    this.removedMonitorCgroups.push(monitor.id);
    return Promise.resolve();
  }

  tailLog(id: string, stream: LogStream, lines: number): Promise<LogRead> {
    return Promise.resolve({ text: `last ${lines} lines of ${stream} of ${id}\n`, cursor: '1-10' });
  }

  readLogAfter(id: string, stream: LogStream, cursor: string): Promise<LogRead> {
    return Promise.resolve({ text: `${stream} of ${id} after ${cursor}\n`, cursor: '1-20' });
  }

  stateDirIds(): Promise<string[]> {
    return Promise.resolve([...this.stateDirs]);
  }

  removeStateDir(id: string): Promise<void> {
    this.stateDirs.delete(id);
    return Promise.resolve();
  }
}

/** The tenants a test knows, by name; a name it does not know is the service's 404. */
export class KnownTenants {
  readonly byName = new Map<string, TenantEntity>();

  add(name: string, quota: Partial<Quota> = {}): TenantEntity {
    const tenant = { id: `00000000-0000-4000-8000-${String(this.byName.size + 1).padStart(12, '0')}`, name, quota, deletionRequestedAt: null } as TenantEntity;
    this.byName.set(name, tenant);
    return tenant;
  }

  get(name: string): Promise<TenantEntity> {
    const tenant = this.byName.get(name);
    return tenant ? Promise.resolve(tenant) : Promise.reject(TenantException.notFound(name));
  }

  getAccepting(name: string): Promise<TenantEntity> {
    return this.get(name);
  }
}

/** The tenant events recorded. */
export class RecordedEvents {
  readonly events: Array<{ tenantId: string; kind: TenantEventKind; message: string; detail: Record<string, unknown> }> = [];

  record(tenantId: string, kind: Exclude<TenantEventKind, 'quota-change'>, message: string, detail: Record<string, unknown> = {}): Promise<void> {
    this.events.push({ tenantId, kind, message, detail });
    return Promise.resolve();
  }
}
