import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { type CatalogWorkloads, TenantCatalog } from '../metrics/tenant-catalog';
import { TenantEventsService } from '../tenant-events/tenant-events.service';
import { RunDirWatch } from './run-dir-watch';
import { WorkloadExpiry } from './workload.expiry';
import { WorkloadHost } from './workload.host';
import { ACTIVE_STATES, type WorkloadChange, WorkloadsRepository } from './workloads.repository';

const SYNC_EVERY_MS = 1000;
/**
 * With no starting or running workload on this node, one can only appear through a start on this governor
 * (workloads run on their own node's governor, and one governor holds a node's data dir), which holds it off
 * first: the query for active rows is then only repeated this often, as a safety net, instead of every tick.
 */
const IDLE_QUERY_EVERY_MS = 10_000;
/** The per-state workload counts for /metrics are recounted at least this often, and after every change. */
const RECOUNT_EVERY_MS = 10_000;
/**
 * The reaper's sweep for cgroups of ended workloads that the sync could not remove at once: every minute over
 * the tenants with workload rows on this node (a failed reap leaves its row), and every ten minutes, and first,
 * over every tenant (a leaf whose row is gone), so that a node of thousands of idle tenants is not listed
 * tenant by tenant each minute.
 */
const SWEEP_EVERY_MS = 60_000;
const FULL_SWEEP_EVERY_MS = 600_000;

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

/** The parts of its collaborators the supervisor uses, so that a unit test hands it typed doubles. */
export type SupervisedRecords = Pick<
  WorkloadsRepository,
  'find' | 'recordChange' | 'setKillDeadline' | 'killDue' | 'activeOnNode' | 'activeIdsOnNode' | 'countsOnNode'
>;
export type SupervisedHost = Pick<
  WorkloadHost,
  'supervises' | 'bootId' | 'status' | 'signal' | 'oomKills' | 'pidsMaxEvents' | 'kill' | 'remove' | 'cgroups' | 'removeMonitorCgroup'
>;
export type WorkloadEvents = Pick<TenantEventsService, 'record'>;
export type RunDirCheck = Pick<RunDirWatch, 'check'>;
export type LogExpiry = Pick<WorkloadExpiry, 'expireLogs'>;

const isActive = (state: string): boolean => ACTIVE_STATES.includes(state);

/**
 * Supervision of this node's workloads: rows in starting or running are synced with their monitor's files
 * every second (and on every read), so that an exit, an OOM kill or a reboot shows up without anyone asking;
 * a stop's kill deadline is kept; an ended workload's cgroups are reaped; the per-state counts go to the
 * metrics catalog; and once a minute, leftover cgroups are swept and old logs expired.
 */
@Injectable()
export class WorkloadSupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('workloads');
  private timer: NodeJS.Timeout | undefined;
  private bootId = '';
  private recountDue = true;
  private recountedAt = 0;
  private sweptAt = 0;
  private fullySweptAt = 0;
  /** workloads whose start is still preparing cgroups or launching the monitor: not yet the sync's to judge */
  private readonly launching = new Set<string>();
  /** workloads whose leaf is being removed right now, so that two syncs do not reap (and count) one twice */
  private readonly reaping = new Set<string>();
  /** the sync of each workload under way: a second caller (a read, the tick) waits for it instead of syncing again */
  private readonly syncing = new Map<string, Promise<WorkloadEntity>>();
  /** the tick under way, so that a slow one is never overlapped by the next */
  private ticking = false;
  /** when a query last found no active workload on this node, if none has been started since */
  private idleSince: number | undefined;
  /** counts the starts, so that a query that ran across one does not pass for idle */
  private starts = 0;

  constructor(
    @Inject(WorkloadsRepository) private readonly repository: SupervisedRecords,
    @Inject(WorkloadHost) private readonly host: SupervisedHost,
    private readonly catalog: TenantCatalog,
    @Inject(TenantEventsService) private readonly events: WorkloadEvents,
    @Inject(RunDirWatch) private readonly runDir: RunDirCheck,
    @Inject(WorkloadExpiry) private readonly expiry: LogExpiry,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.host.supervises) return;
    this.bootId = await this.host.bootId();
    this.timer = setInterval(() => void this.tickOnce(), SYNC_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * From before its row exists until its monitor runs, the sync must not take the missing monitor state for a
   * lost workload (and reap the leaf being prepared): a start holds its workload off the sync meanwhile.
   */
  holdOff(id: string): void {
    this.launching.add(id);
    this.starts++;
    this.idleSince = undefined;
  }

  release(id: string): void {
    this.launching.delete(id);
  }

  /** A workload was added or changed: the counts for /metrics are taken again at the next tick. */
  changed(): void {
    this.recountDue = true;
  }

  /**
   * Reads a starting or running workload's monitor files and records what changed. One sync per workload at a
   * time: a read that comes while one is under way gets its result.
   */
  async sync(tenantName: string, row: WorkloadEntity): Promise<WorkloadEntity> {
    if (!isActive(row.state) || row.node !== this.config.nodeName || this.bootId === '' || this.launching.has(row.id)) return row;
    const underway = this.syncing.get(row.id);
    if (underway !== undefined) return underway;
    const sync = this.syncOnce(tenantName, row).finally(() => this.syncing.delete(row.id));
    this.syncing.set(row.id, sync);
    return sync;
  }

  /**
   * SIGTERM now, through the workload's monitor, and cgroup.kill of its leaf once `graceMs` is over if it still
   * runs. The deadline is kept in its row (an earlier stop's stands when it is sooner), so that a governor
   * started meanwhile honours it. Updates `row.killAt`; nothing happens to a workload that is no longer active.
   */
  async terminate(tenantName: string, row: WorkloadEntity, graceMs: number): Promise<void> {
    if (!isActive(row.state)) return;
    const killAt = await this.repository.setKillDeadline(row.id, new Date(Date.now() + graceMs));
    if (killAt === undefined) return;
    row.killAt = killAt;
    // A monitor that is gone has nothing to forward it to: the sync then finds the workload ended or lost.
    if (!this.host.signal(row.id, 'SIGTERM')) this.logger.warn({ id: row.id }, 'no live monitor to forward SIGTERM to');
    // Only for promptness: the tick kills at the deadline too, and a restarted governor from the row.
    setTimeout(() => void this.killIfDue(tenantName, row.id), Math.max(0, killAt.getTime() - Date.now())).unref();
  }

  /**
   * Once a workload's command has ended, whatever it left running in its leaf is killed (a workload is
   * its command, as a container is its init), and its leaf and monitor cgroups are removed; its state
   * directory (logs and exit status) stays. A failure here is left to the sweep.
   */
  async reap(tenantName: string, id: string): Promise<void> {
    if (this.reaping.has(id)) return;
    this.reaping.add(id);
    try {
      const refusedForks = await this.host.pidsMaxEvents(tenantName, id);
      await this.host.kill(tenantName, id);
      await this.host.remove(tenantName, id);
      // Only once the leaf is gone, so that a scrape never counts it both live and retired.
      this.catalog.addRetiredPidsMax(tenantName, refusedForks);
    } catch (err) {
      this.logger.warn({ err, id }, 'could not remove the cgroups of an ended workload yet; the sweep retries');
    } finally {
      this.reaping.delete(id);
    }
  }

  /** One pass of the supervision, which the timer starts every second; never two at once. */
  async tickOnce(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.syncActive();
      if (Date.now() - this.sweptAt >= SWEEP_EVERY_MS) await this.sweep();
      if (this.recountDue || Date.now() - this.recountedAt >= RECOUNT_EVERY_MS) await this.recount();
    } catch (err) {
      this.logger.warn({ err }, 'workload sync failed');
    } finally {
      this.ticking = false;
    }
  }

  private async syncOnce(tenantName: string, row: WorkloadEntity): Promise<WorkloadEntity> {
    const status = await this.host.status(row.id, this.bootId);
    const change: WorkloadChange = {};
    if (status.state === 'running') {
      if (row.state !== 'running') Object.assign(change, { state: 'running', pid: status.pid, startedAt: new Date() });
    } else if (status.state === 'exited') {
      Object.assign(change, { state: 'exited', exitCode: status.code, finishedAt: new Date() });
    } else if (status.state === 'killed') {
      const oom = status.signal === 9 && (await this.host.oomKills(tenantName, row.id)) > 0;
      Object.assign(change, {
        state: oom ? 'oom-killed' : 'killed',
        signal: SIGNALS[status.signal] ?? String(status.signal),
        message: oom ? 'killed by the OOM killer: memory.max reached' : null,
        finishedAt: new Date(),
      });
    } else {
      Object.assign(change, { state: status.state, message: status.message, finishedAt: new Date() });
    }
    if (Object.keys(change).length === 0) return row;
    const from = change.state === 'running' ? ['starting'] : ACTIVE_STATES;
    if (!(await this.repository.recordChange(row.id, change, from))) return (await this.repository.find(row.id)) ?? row;
    this.recountDue = true;
    if (!isActive(change.state ?? row.state)) await this.reap(tenantName, row.id);
    if (change.state !== undefined && change.state !== 'running' && change.state !== 'exited') await this.recordEnd(row, change);
    return Object.assign(row, change);
  }

  /** A workload that did not end on its own terms is an event for its tenant. */
  private async recordEnd(row: WorkloadEntity, change: WorkloadChange): Promise<void> {
    const what =
      change.state === 'oom-killed' ? 'was killed by the OOM killer' : change.state === 'killed' ? `was killed by ${change.signal}` : `is ${change.state}`;
    const message = `workload ${row.id} (${row.command[0]}) ${what}${change.message ? `: ${change.message}` : ''}`;
    await this.events
      .record(row.tenantId, 'workload', message, { workload: row.id, state: change.state, signal: change.signal ?? null })
      .catch((err: unknown) => this.logger.warn({ err, id: row.id }, 'could not record the workload event'));
  }

  /** cgroup.kill of a workload whose stop deadline has passed, if it still runs. */
  private async killIfDue(tenantName: string, id: string): Promise<void> {
    try {
      if (await this.repository.killDue(id, this.config.nodeName)) await this.host.kill(tenantName, id);
    } catch (err) {
      this.logger.warn({ err, id }, 'the kill after the grace period failed; the next sync retries');
    }
  }

  private async syncActive(): Promise<void> {
    if (this.idleSince !== undefined && this.launching.size === 0 && Date.now() - this.idleSince < IDLE_QUERY_EVERY_MS) return;
    const starts = this.starts;
    const queriedAt = Date.now();
    const rows = await this.repository.activeOnNode(this.config.nodeName);
    this.idleSince = rows.length === 0 && starts === this.starts ? queriedAt : undefined;
    for (const row of rows) {
      if (!row.tenant) continue;
      const synced = await this.sync(row.tenant.name, row);
      if (isActive(synced.state) && row.killAt !== null && row.killAt.getTime() <= Date.now()) await this.killIfDue(row.tenant.name, row.id);
    }
    await this.runDir.check(rows.filter((row) => isActive(row.state)));
  }

  /**
   * Removes workload leaves and monitor cgroups that no starting or running workload owns: left by a
   * failed reap, or by a governor that stopped before it could reap. The cgroups are listed before the
   * rows are read, and a row is written before its cgroups are made, so a workload being started now is
   * never taken for a leftover.
   */
  private async sweep(): Promise<void> {
    this.sweptAt = Date.now();
    await this.expiry.expireLogs();
    const full = this.fullySweptAt === 0 || this.sweptAt - this.fullySweptAt >= FULL_SWEEP_EVERY_MS;
    if (full) this.fullySweptAt = this.sweptAt;
    const { leaves, monitors } = this.host.cgroups(full ? undefined : this.catalog.tenantsWithWorkloads());
    if (leaves.length === 0 && monitors.length === 0) return;
    const active = await this.repository.activeIdsOnNode(this.config.nodeName);
    for (const leaf of leaves) if (!active.has(leaf.id)) await this.reap(leaf.tenant, leaf.id);
    for (const monitor of monitors) {
      if (!active.has(monitor.id))
        await this.host.removeMonitorCgroup(monitor).catch((err: unknown) => this.logger.warn({ err, id: monitor.id }, 'a monitor cgroup is still busy'));
    }
  }

  /** Counts this node's workloads per tenant and state for the exporter, which never queries PostgreSQL itself. */
  private async recount(): Promise<void> {
    this.recountDue = false;
    this.recountedAt = Date.now();
    const byTenant = new Map<string, CatalogWorkloads>();
    for (const row of await this.repository.countsOnNode(this.config.nodeName)) {
      const entry = byTenant.get(row.tenant) ?? { states: {}, running: [] };
      entry.states[row.state] = row.count;
      entry.running.push(...row.running);
      byTenant.set(row.tenant, entry);
    }
    this.catalog.setWorkloads(byTenant);
  }
}
