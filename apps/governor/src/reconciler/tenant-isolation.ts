import { Injectable, Logger } from '@nestjs/common';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import { degraded } from '../../../../libs/cgroup/src/condition';
import { CgroupNotEmptyError } from '../../../../libs/cgroup/src/driver';
import type { TenantEntity, TenantIsolationStatus } from '../../../../libs/persistence/src/entities';
import { readTenantInit, startTenantInit, type TenantInitState } from '../../../../libs/workloads/src/tenant-init';
import { HostAccess } from '../host/host.access';
import { TenantEventsService } from '../tenant-events/tenant-events.service';

/** Sizes when the quota leaves them out (see FilesystemQuota). */
export const DEFAULT_TMP_SIZE = 64 * 1024 * 1024;
export const DEFAULT_HOME_SIZE = 256 * 1024 * 1024;

export interface IsolationResult {
  changes: string[];
  conditions: Condition[];
  status: TenantIsolationStatus;
  /**
   * The old init's leaf still had processes at the one look after its cgroup.kill: nothing else was touched,
   * and the reconciler comes back for the init later (with the tenant's kill deadline).
   */
  killPending?: CgroupNotEmptyError;
}

/**
 * A tenant's home and its init (PID 1 of its PID, mount, UTS, IPC and cgroup namespaces, native/tenant-init.c).
 * An init that is gone (killed from the host, OOM-killed, its leaf killed) took its PID namespace and every
 * workload with it: it is started again, with fresh namespaces, and that is an event and a count in the status.
 */
@Injectable()
export class TenantIsolation {
  private readonly logger = new Logger('isolation');
  /**
   * What the first pass saw of an init being replaced (dead, or stranded in lost namespaces), kept while its
   * old leaf empties after the kill: the pass that starts the new init tells that story, not what is left.
   */
  private readonly replacing = new Map<string, { before: TenantInitState; stranded: number[] }>();

  constructor(
    private readonly host: HostAccess,
    private readonly events: TenantEventsService,
  ) {}

  async ensure(tenant: TenantEntity, uidBase: number, previous: TenantIsolationStatus | null): Promise<IsolationResult> {
    const namespaces = this.host.namespaces();
    const paths = namespaces.paths(tenant.name);
    const changes: string[] = [];
    let restarts = previous?.init.restarts ?? 0;
    let restartedAt = previous?.init.restartedAt ?? null;
    const conditions: Condition[] = [];
    // A home that cannot be made (no loop device, no mkfs.ext4) degrades the tenant, which still runs: its
    // init then starts without one, and /home/tenant is an empty read-only directory until a pass makes it.
    let home: string | undefined = this.host.homes().mountPoint(tenant.name);
    try {
      changes.push(...(await this.host.homes().ensure(tenant.name, tenant.id, uidBase, tenant.quota.filesystem?.homeSize ?? DEFAULT_HOME_SIZE)));
    } catch (err) {
      home = undefined;
      conditions.push(degraded('HomeFailed', `the home could not be made or mounted: ${err instanceof Error ? err.message : String(err)}`));
    }
    const now = readTenantInit(paths);
    if (now.state === 'running') {
      this.replacing.delete(tenant.name);
      return { changes, conditions, status: this.statusOf(now, restarts, restartedAt) };
    }
    const driver = this.host.cgroups();
    // An init whose namespace files are gone (lost from the run directory, or replaced with the user and
    // network namespaces) may still run in the old namespaces, with workloads: its leaf tells.
    const { before, stranded } = this.replacing.get(tenant.name) ?? {
      before: now,
      stranded: now.state === 'absent' ? driver.initProcesses(tenant.name) : [],
    };
    let cgroupDir: string;
    try {
      // One cgroup.kill of the old leaf and one look, before anything else changes: a leaf still emptying
      // hands the tenant back to the queue with its namespace files as they were.
      cgroupDir = await driver.freshInitCgroup(tenant.name, 0);
    } catch (err) {
      if (err instanceof CgroupNotEmptyError) {
        this.replacing.set(tenant.name, { before, stranded });
        return { changes, conditions, status: this.statusOf(now, restarts, restartedAt), killPending: err };
      }
      this.replacing.delete(tenant.name);
      conditions.push(degraded('InitFailed', `the tenant init could not start: ${err instanceof Error ? err.message : String(err)}`));
      return { changes, conditions, status: this.statusOf(readTenantInit(paths), restarts, restartedAt) };
    }
    this.replacing.delete(tenant.name);
    try {
      namespaces.releaseInit(tenant.name);
      const { pid, warnings } = await startTenantInit({
        binaryPath: this.host.native().tenantInitPath(),
        tenant: tenant.name,
        paths,
        nsDir: namespaces.dir(tenant.name),
        cgroupDir,
        hostname: tenant.hostname ?? tenant.name,
        rootfs: tenant.rootfs ?? undefined,
        uidBase,
        tmpSize: tenant.quota.filesystem?.tmpSize ?? DEFAULT_TMP_SIZE,
        home,
        hide: this.host.hiddenDirs(),
        mountTemplate: this.host.mountTemplate(),
      });
      for (const warning of warnings) this.logger.warn({ tenant: tenant.name }, warning);
      changes.push(`started the tenant init, pid ${pid}`);
      if (before.state === 'dead') {
        restarts += 1;
        restartedAt = new Date().toISOString();
        const message = `the tenant init (pid ${before.pid}) was gone; started a new one (pid ${pid}) with fresh PID, mount, UTS, IPC and cgroup namespaces: the workloads that ran in the old ones were killed with it`;
        this.logger.warn({ tenant: tenant.name, old: before.pid, pid }, message);
        await this.events.record(tenant.id, 'init', message, { oldPid: before.pid, pid, restarts });
      } else if (stranded.length > 0) {
        restarts += 1;
        restartedAt = new Date().toISOString();
        const message = `the tenant's namespace files under ${namespaces.dir(tenant.name)} were lost while its init (pid ${stranded.join(', ')}) ran: that init was stopped and a new one started (pid ${pid}) with fresh namespaces; the workloads that ran in the old ones were killed with it`;
        this.logger.warn({ tenant: tenant.name, old: stranded, pid }, message);
        await this.events.record(tenant.id, 'init', message, { oldPid: stranded[0] ?? null, pid, restarts });
      }
    } catch (err) {
      conditions.push(degraded('InitFailed', `the tenant init could not start: ${err instanceof Error ? err.message : String(err)}`));
    }
    return { changes, conditions, status: this.statusOf(readTenantInit(paths), restarts, restartedAt) };
  }

  /** The init dies with the tenant's cgroup; this removes its namespace files (nsDestroy does too) and the home. */
  async remove(name: string, tenantId: string | undefined): Promise<void> {
    this.replacing.delete(name);
    this.host.namespaces().releaseInit(name);
    await this.host.homes().remove(name, tenantId);
  }

  private statusOf(init: ReturnType<typeof readTenantInit>, restarts: number, restartedAt: string | null): TenantIsolationStatus {
    return { init: { pid: init.pid, state: init.state, restarts, restartedAt }, namespaces: init.namespaces };
  }
}
