import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan } from 'typeorm';
import { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import { readLogAfter, tailLog } from '../../../../libs/workloads/src/logs';
import { currentBootId } from '../../../../libs/workloads/src/monitor';
import { readTenantInit } from '../../../../libs/workloads/src/tenant-init';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { AuditService } from '../audit/audit.service';
import { actorOf } from '../auth/principal';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { type CatalogWorkloads, TenantCatalog } from '../metrics/tenant-catalog';
import { TenantEventsService } from '../tenant-events/tenant-events.service';
import { TenantsService } from '../tenants/tenants.service';
import { RunDirWatch } from './run-dir-watch';
import { WorkloadException, WorkloadExceptionCode } from './workload.exception';
import { DEFAULT_WORKLOADS_MAX } from '../../../../libs/domain/src/quota';
import type { LogQuery, StartWorkloadInput } from './workload.request';

const LOG_MAX_BYTES = 8 * 1024 * 1024;
const LOG_FILES = 2;
const SYNC_EVERY_MS = 1000;
const ACTIVE = ['starting', 'running'];
/** The per-state workload counts for /metrics are recounted at least this often, and after every change. */
const RECOUNT_EVERY_MS = 10_000;
/** The reaper's sweep for cgroups of ended workloads that the sync could not remove at once. */
const SWEEP_EVERY_MS = 60_000;

export interface WorkloadView {
  id: string;
  tenant: string;
  node: string;
  command: string[];
  envNames: string[];
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
  /** the namespaces its monitor put it in (kind and nsfs inode); empty before it started or when it could not */
  namespaces: Array<{ kind: string; inode: number }>;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

/**
 * Workloads: started through a monitor that outlives the governor, their state read back from the
 * monitor's files. Rows in starting or running are synced every second (and on every read), so an exit,
 * an OOM kill or a reboot shows up without anyone asking.
 */
@Injectable()
export class WorkloadsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('workloads');
  private timer: NodeJS.Timeout | undefined;
  private bootId = '';
  private recountDue = true;
  private recountedAt = 0;
  private sweptAt = 0;
  /** workloads whose start() is still preparing cgroups or launching the monitor: not yet the sync's to judge */
  private readonly launching = new Set<string>();
  /** workloads whose leaf is being removed right now, so that two syncs do not reap (and count) one twice */
  private readonly reaping = new Set<string>();
  /** the sync of each workload under way: a second caller (a read, the tick) waits for it instead of syncing again */
  private readonly syncing = new Map<string, Promise<WorkloadEntity>>();
  /** the tick under way, so that a slow one is never overlapped by the next */
  private ticking = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly host: HostAccess,
    private readonly audit: AuditService,
    private readonly catalog: TenantCatalog,
    private readonly events: TenantEventsService,
    private readonly runDir: RunDirWatch,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.host.maybeCgroups()) return;
    this.bootId = await currentBootId();
    this.timer = setInterval(() => void this.tickOnce(), SYNC_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private stateDir(id: string): string {
    return join(this.config.runDir, 'workloads', id);
  }

  async start(tenantName: string, input: StartWorkloadInput, actor: Actor): Promise<WorkloadView> {
    const tenant = await this.tenants.getAccepting(tenantName, 'new workloads');
    const driver = this.host.cgroups();
    const ns = this.host.namespaces().paths(tenantName);
    if (!driver.hasTenant(tenantName) || !existsSync(ns.net) || !existsSync(ns.user) || readTenantInit(ns).state !== 'running') {
      throw new WorkloadException(
        WorkloadExceptionCode.TENANT_NOT_READY,
        `tenant ${tenantName} is not set up on this node yet (cgroup, namespaces and init); retry once its status is Ready`,
      );
    }
    const id = randomBytes(9)
      .toString('base64url')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '0')
      .slice(0, 12);
    // From before its row exists until its monitor runs, the sync must not take the missing monitor state
    // for a lost workload (and reap the leaf being prepared).
    this.launching.add(id);
    try {
      const repo = this.db.getRepository(WorkloadEntity);
      const max = tenant.quota.workloads?.max ?? DEFAULT_WORKLOADS_MAX;
      // Counted and inserted under a per-tenant lock, so that concurrent starts cannot all pass the count.
      const row = await this.db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`workloads:${tenant.id}`]);
        const active = await tx.getRepository(WorkloadEntity).countBy({ tenantId: tenant.id, node: this.config.nodeName, state: In(ACTIVE) });
        if (active >= max) {
          throw new WorkloadException(
            WorkloadExceptionCode.TOO_MANY,
            `tenant ${tenantName} runs ${active} workloads on node ${this.config.nodeName}, its maximum (quota workloads.max ${max}${tenant.quota.workloads?.max === undefined ? ', the default' : ''}); stop one first`,
          );
        }
        return tx.getRepository(WorkloadEntity).save(
          repo.create({
            id,
            tenantId: tenant.id,
            node: this.config.nodeName,
            command: input.command,
            envNames: Object.keys(input.env).sort(),
            cwd: input.cwd,
            quota: input.quota,
            state: 'starting',
            createdBy: actorOf(actor.principal),
          }),
        );
      });
      await this.db.transaction((tx) =>
        this.audit.record(tx, {
          actor: actor.principal,
          action: 'workload.start',
          target: `tenants/${tenantName}/workloads/${id}`,
          requestId: actor.requestId,
          detail: { command: input.command },
        }),
      );
      this.recountDue = true;
      try {
        const { leaf, monitor } = await driver.prepareWorkload(tenantName, id, input.quota);
        await this.host.monitors().launch(id, {
          cgroupDir: leaf,
          monitorCgroupDir: monitor,
          netnsPath: ns.net,
          usernsPath: ns.user,
          tenantNamespaces: { pid: ns.pid, mnt: ns.mnt, uts: ns.uts, ipc: ns.ipc },
          cwd: input.cwd,
          command: input.command,
          env: input.env,
          logMaxBytes: LOG_MAX_BYTES,
          logFiles: LOG_FILES,
        });
      } catch (err) {
        await repo.update({ id }, { state: 'failed', message: err instanceof Error ? err.message : String(err), finishedAt: new Date() });
        await this.reap(tenantName, id);
        return this.view(tenantName, await repo.findOneByOrFail({ id }));
      }
      this.launching.delete(id);
      return this.view(tenantName, await this.sync(tenantName, row));
    } finally {
      this.launching.delete(id);
    }
  }

  async list(tenantName: string): Promise<WorkloadView[]> {
    const tenant = await this.tenants.get(tenantName);
    const rows = await this.db.getRepository(WorkloadEntity).find({ where: { tenantId: tenant.id }, order: { createdAt: 'DESC' }, take: 500 });
    return Promise.all(rows.map(async (row) => this.view(tenantName, await this.sync(tenantName, row))));
  }

  async get(tenantName: string, id: string): Promise<WorkloadView> {
    return this.view(tenantName, await this.sync(tenantName, await this.find(tenantName, id)));
  }

  /** The last lines of one or both streams, or what one stream got after a cursor; with one stream, the cursor to follow it. */
  async logs(tenantName: string, id: string, query: LogQuery): Promise<{ text: string; cursor?: string }> {
    await this.find(tenantName, id);
    const dir = this.stateDir(id);
    if (query.after !== undefined) return readLogAfter(dir, query.streams[0], query.after);
    const parts = await Promise.all(query.streams.map((stream) => tailLog(dir, stream, query.lines)));
    return parts.length === 1 ? parts[0] : { text: `==> stdout <==\n${parts[0].text}==> stderr <==\n${parts[1].text}` };
  }

  /**
   * SIGTERM now, through the workload's monitor (which holds a pidfd of it), and cgroup.kill of its leaf once the
   * grace period is over if it still runs. The deadline is kept in its row, so that a governor started meanwhile
   * honours it. A workload of another node is refused: its pid and cgroup mean nothing here.
   */
  async stop(tenantName: string, id: string, graceMs: number, actor: Actor): Promise<WorkloadView> {
    const found = await this.find(tenantName, id);
    if (found.node !== this.config.nodeName) {
      throw new WorkloadException(
        WorkloadExceptionCode.ON_OTHER_NODE,
        `workload ${id} runs on node ${found.node}, and this governor is node ${this.config.nodeName}: a governor stops only the workloads of its own node; send the request to the governor of node ${found.node}`,
      );
    }
    const monitors = this.host.monitors();
    const row = await this.sync(tenantName, found);
    await this.db.transaction((tx) =>
      this.audit.record(tx, {
        actor: actor.principal,
        action: 'workload.stop',
        target: `tenants/${tenantName}/workloads/${id}`,
        requestId: actor.requestId,
        detail: { graceMs },
      }),
    );
    if (ACTIVE.includes(row.state)) {
      // An earlier stop's deadline stands when it is sooner.
      const [updated] = await this.db.query<[Array<{ kill_at: Date }>, number]>(
        `UPDATE workloads SET kill_at = LEAST(COALESCE(kill_at, $2), $2) WHERE id = $1 AND state IN ('starting', 'running') RETURNING kill_at`,
        [id, new Date(Date.now() + graceMs)],
      );
      if (updated.length > 0) {
        row.killAt = updated[0].kill_at;
        // A monitor that is gone has nothing to forward it to: the sync then finds the workload ended or lost.
        if (!monitors.signal(id, 'SIGTERM')) this.logger.warn({ id }, 'no live monitor to forward SIGTERM to');
        // Only for promptness: the tick kills at the deadline too, and a restarted governor from the row.
        setTimeout(() => void this.killIfDue(tenantName, id), Math.max(0, row.killAt.getTime() - Date.now())).unref();
      }
    }
    return this.view(tenantName, row);
  }

  /** cgroup.kill of a workload whose stop deadline has passed, if it still runs. */
  private async killIfDue(tenantName: string, id: string): Promise<void> {
    try {
      const due = await this.db
        .getRepository(WorkloadEntity)
        .createQueryBuilder('w')
        .where('w.id = :id AND w.node = :node AND w.state IN (:...active) AND w.kill_at <= now()', { id, node: this.config.nodeName, active: ACTIVE })
        .getExists();
      if (due) await this.host.cgroups().killWorkload(tenantName, id);
    } catch (err) {
      this.logger.warn({ err, id }, 'the kill after the grace period failed; the next sync retries');
    }
  }

  private async find(tenantName: string, id: string): Promise<WorkloadEntity> {
    const tenant = await this.tenants.get(tenantName);
    const row = /^[a-z0-9]{12}$/.test(id) ? await this.db.getRepository(WorkloadEntity).findOneBy({ id, tenantId: tenant.id }) : null;
    if (!row) throw new WorkloadException(WorkloadExceptionCode.NOT_FOUND, `tenant ${tenantName} has no workload ${JSON.stringify(id)}`);
    return row;
  }

  /**
   * Reads a starting or running workload's monitor files and records what changed. One sync per workload at a
   * time: a read that comes while one is under way gets its result.
   */
  private async sync(tenantName: string, row: WorkloadEntity): Promise<WorkloadEntity> {
    if (!ACTIVE.includes(row.state) || row.node !== this.config.nodeName || this.bootId === '' || this.launching.has(row.id)) return row;
    const underway = this.syncing.get(row.id);
    if (underway !== undefined) return underway;
    const sync = this.syncOnce(tenantName, row).finally(() => this.syncing.delete(row.id));
    this.syncing.set(row.id, sync);
    return sync;
  }

  private async syncOnce(tenantName: string, row: WorkloadEntity): Promise<WorkloadEntity> {
    const status = await this.host.monitors().status(row.id, this.bootId);
    const patch: Partial<WorkloadEntity> = {};
    if (status.state === 'running') {
      if (row.state !== 'running') Object.assign(patch, { state: 'running', pid: status.pid, startedAt: new Date() });
    } else if (status.state === 'exited') {
      Object.assign(patch, { state: 'exited', exitCode: status.code, finishedAt: new Date() });
    } else if (status.state === 'killed') {
      const oom = status.signal === 9 && (await this.host.cgroups().workloadOomKills(tenantName, row.id)) > 0;
      Object.assign(patch, {
        state: oom ? 'oom-killed' : 'killed',
        signal: SIGNALS[status.signal] ?? String(status.signal),
        message: oom ? 'killed by the OOM killer: memory.max reached' : null,
        finishedAt: new Date(),
      });
    } else {
      Object.assign(patch, { state: status.state, message: status.message, finishedAt: new Date() });
    }
    if (Object.keys(patch).length === 0) return row;
    // Conditional, so that of two writers (another sync, a governor that was stopping) one records the change, once.
    const from = patch.state === 'running' ? ['starting'] : ACTIVE;
    const result = await this.db
      .createQueryBuilder()
      .update(WorkloadEntity)
      .set(patch)
      .where('id = :id AND state IN (:...from)', { id: row.id, from })
      .execute();
    if (result.affected === 0) return (await this.db.getRepository(WorkloadEntity).findOneBy({ id: row.id })) ?? row;
    this.recountDue = true;
    if (!ACTIVE.includes(patch.state ?? row.state)) await this.reap(tenantName, row.id);
    if (patch.state !== undefined && patch.state !== 'running' && patch.state !== 'exited') await this.recordEnd(row, patch);
    return Object.assign(row, patch);
  }

  /** A workload that did not end on its own terms is an event for its tenant. */
  private async recordEnd(row: WorkloadEntity, patch: Partial<WorkloadEntity>): Promise<void> {
    const what =
      patch.state === 'oom-killed' ? 'was killed by the OOM killer' : patch.state === 'killed' ? `was killed by ${patch.signal}` : `is ${patch.state}`;
    const message = `workload ${row.id} (${row.command[0]}) ${what}${patch.message ? `: ${patch.message}` : ''}`;
    await this.events
      .record(row.tenantId, 'workload', message, { workload: row.id, state: patch.state, signal: patch.signal ?? null })
      .catch((err: unknown) => this.logger.warn({ err, id: row.id }, 'could not record the workload event'));
  }

  /**
   * Once a workload's command has ended, whatever it left running in its leaf is killed (a workload is
   * its command, as a container is its init), and its leaf and monitor cgroups are removed; its state
   * directory (logs and exit status) stays. A failure here is left to the sweep.
   */
  private async reap(tenantName: string, id: string): Promise<void> {
    if (this.reaping.has(id)) return;
    this.reaping.add(id);
    const driver = this.host.cgroups();
    try {
      const refusedForks = await driver.workloadPidsMaxEvents(tenantName, id);
      await driver.killWorkload(tenantName, id);
      await driver.removeWorkload(tenantName, id);
      // Only once the leaf is gone, so that a scrape never counts it both live and retired.
      this.catalog.addRetiredPidsMax(tenantName, refusedForks);
    } catch (err) {
      this.logger.warn({ err, id }, 'could not remove the cgroups of an ended workload yet; the sweep retries');
    } finally {
      this.reaping.delete(id);
    }
  }

  /**
   * Removes workload leaves and monitor cgroups that no starting or running workload owns: left by a
   * failed reap, or by a governor that stopped before it could reap. The cgroups are listed before the
   * rows are read, and a row is written before its cgroups are made, so a workload being started now is
   * never taken for a leftover.
   */
  private async sweep(): Promise<void> {
    this.sweptAt = Date.now();
    await this.expireLogs();
    const driver = this.host.cgroups();
    const { leaves, monitors } = driver.workloadCgroups();
    if (leaves.length === 0 && monitors.length === 0) return;
    const active = new Set(
      (await this.db.getRepository(WorkloadEntity).find({ where: { node: this.config.nodeName, state: In(ACTIVE) }, select: { id: true } })).map(
        (row) => row.id,
      ),
    );
    for (const leaf of leaves) if (!active.has(leaf.id)) await this.reap(leaf.tenant, leaf.id);
    for (const monitor of monitors) {
      if (!active.has(monitor.id))
        await driver.removeMonitorCgroup(monitor).catch((err: unknown) => this.logger.warn({ err, id: monitor.id }, 'a monitor cgroup is still busy'));
    }
  }

  /**
   * Removes the state directories (logs and exit status) of workloads that ended longer ago than
   * GOVERNOR_WORKLOAD_LOG_RETENTION, so that many workloads over time cannot fill /run. The rows stay:
   * their logs then read as empty.
   */
  private async expireLogs(): Promise<void> {
    const dir = join(this.config.runDir, 'workloads');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => /^[a-z0-9]{12}$/.test(name));
    if (names.length === 0) return;
    const cutoff = new Date(Date.now() - this.config.workloadLogRetentionMs);
    const expired = await this.db
      .getRepository(WorkloadEntity)
      .find({ where: { id: In(names), node: this.config.nodeName, finishedAt: LessThan(cutoff) }, select: { id: true } });
    for (const { id } of expired) await rm(this.stateDir(id), { recursive: true, force: true });
    if (expired.length > 0) this.logger.log({ removed: expired.length }, 'removed the logs of workloads past GOVERNOR_WORKLOAD_LOG_RETENTION');
  }

  private async tickOnce(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.tick();
    } catch (err) {
      this.logger.warn({ err }, 'workload sync failed');
    } finally {
      this.ticking = false;
    }
  }

  private async tick(): Promise<void> {
    await this.syncActive();
    if (Date.now() - this.sweptAt >= SWEEP_EVERY_MS) await this.sweep();
    if (this.recountDue || Date.now() - this.recountedAt >= RECOUNT_EVERY_MS) await this.recount();
  }

  /** Counts this node's workloads per tenant and state for the exporter, which never queries PostgreSQL itself. */
  private async recount(): Promise<void> {
    this.recountDue = false;
    this.recountedAt = Date.now();
    const rows: Array<{ tenant: string; state: string; count: string; running: string[] | null }> = await this.db.query(
      `SELECT t.name AS tenant, w.state, count(*) AS count, array_agg(w.id) FILTER (WHERE w.state = 'running') AS running
         FROM workloads w JOIN tenants t ON t.id = w.tenant_id
        WHERE w.node = $1 AND t.deleted_at IS NULL
        GROUP BY t.name, w.state`,
      [this.config.nodeName],
    );
    const byTenant = new Map<string, CatalogWorkloads>();
    for (const row of rows) {
      const entry = byTenant.get(row.tenant) ?? { states: {}, running: [] };
      entry.states[row.state] = Number(row.count);
      entry.running.push(...(row.running ?? []));
      byTenant.set(row.tenant, entry);
    }
    this.catalog.setWorkloads(byTenant);
  }

  private async syncActive(): Promise<void> {
    const rows = await this.db.getRepository(WorkloadEntity).find({ where: { node: this.config.nodeName, state: In(ACTIVE) }, relations: { tenant: true } });
    for (const row of rows) {
      if (!row.tenant) continue;
      const synced = await this.sync(row.tenant.name, row);
      if (ACTIVE.includes(synced.state) && row.killAt !== null && row.killAt.getTime() <= Date.now()) await this.killIfDue(row.tenant.name, row.id);
    }
    await this.runDir.check(rows.filter((row) => ACTIVE.includes(row.state)));
  }

  private async view(tenant: string, row: WorkloadEntity): Promise<WorkloadView> {
    return {
      id: row.id,
      tenant,
      node: row.node,
      command: row.command,
      envNames: row.envNames,
      cwd: row.cwd,
      state: row.state,
      pid: row.pid,
      exitCode: row.exitCode,
      signal: row.signal,
      message: row.message,
      createdBy: row.createdBy,
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      finishedAt: row.finishedAt?.toISOString() ?? null,
      namespaces: row.node === this.config.nodeName ? ((await this.host.maybeMonitors()?.namespaces(row.id)) ?? []) : [],
    };
  }
}
