import { chmodSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Quota } from '../../domain/src/quota.types';
import type { GovernorNative } from '../../native/src/native.types';
import { detectCapabilities, type HostCapabilities } from './capabilities';
import { CgroupFs } from './cgroup-fs';
import { killAll, setFrozen } from './freezer';
import {
  attachedDir,
  initDir,
  isWorkloadId,
  legacyMonitorDir,
  MONITORS,
  monitorDir,
  monitorsDir,
  SUPERVISOR,
  TENANTS,
  tenantDir,
  workloadDir,
  workloadsDir,
} from './layout';
import { findCgroup2Mount, ownCgroup2Path } from './mount';
import { type ApplyOptions, type ApplyResult, applyQuota, quotaFiles } from './tenant-apply';
import { CONTROLLERS, type ControllerName } from './target';
import { parseMemoryEvents } from './stats/memory';
import { parsePidsEvents } from './stats/pids';
import { readUsage, type TenantUsage } from './usage';

export interface DriverOptions {
  /** GOVERNOR_CGROUP_ROOT; default <cgroup2 mount>/governor */
  root?: string;
  native: GovernorNative;
  /** for tests: the text of /proc/self/mountinfo and /proc/self/cgroup */
  mountinfo?: string;
  selfCgroup?: string;
}

export const FREEZE_TIMEOUT_MS = 10_000;
/** Condition reasons of a freeze or thaw that cgroup.events has not confirmed yet. */
export const FREEZE_PENDING = 'FreezeTimeout';
export const THAW_PENDING = 'ThawTimeout';
/** Read with the limits in applyTenant's one batch: the freeze state, and what workloads/ hands down where it exists. */
const WORKLOADS_CONTROL = 'workloads/cgroup.subtree_control';
const TENANT_FILES = ['cgroup.subtree_control', 'cgroup.freeze', 'cgroup.events', WORKLOADS_CONTROL];
export const KILL_TIMEOUT_MS = 10_000;
/** The tenant's processes did not all exit within the wait after cgroup.kill (tasks in D state, or still exiting). */
export class CgroupNotEmptyError extends Error {
  constructor(
    readonly dir: string,
    readonly waitedMs: number,
    /** the tenant id of the cgroup being killed, when it was another (deleted) tenant's of the same name */
    readonly owner?: string,
  ) {
    super(`${dir}: processes still running ${waitedMs}ms after the kill`);
    this.name = 'CgroupNotEmptyError';
  }
}

/**
 * The tenant id a tenant cgroup was made for, kept on the directory itself (it lives and dies with it, as
 * systemd's trusted.invocation_id does): a cgroup left by a deleted tenant of the same name is not reused.
 * trusted.*, so only the host's root can set it.
 */
export const OWNER_ATTRIBUTE = 'trusted.governor.tenant';

export interface TenantApplyOptions extends ApplyOptions {
  suspended: boolean;
  /**
   * how long to poll cgroup.events for the freeze to settle before returning (FREEZE_TIMEOUT_MS by default);
   * a reconciler that requeues instead passes 0 and gets a FreezePending condition to come back for
   */
  freezeTimeoutMs?: number;
  /** the tenant's id: a cgroup of another id is torn down and made again; one without an id is adopted */
  owner?: string;
  /**
   * how long to wait for the processes of another tenant's cgroup of the same name to exit before it is
   * removed (KILL_TIMEOUT_MS by default); a reconciler that requeues instead passes 0 and gets a
   * CgroupNotEmptyError naming that owner to come back for
   */
  killTimeoutMs?: number;
}

export interface TenantApplyResult extends ApplyResult {
  /** the cgroup directories this pass had to make (the tenant's: attached/ and workloads/ are made when first used) */
  created: string[];
  /** the id of another tenant whose cgroup of the same name was torn down first */
  replaced?: string;
}

/**
 * Governor's cgroup subtree on this host: creates ROOT, enables controllers top-down, and applies,
 * reads and removes tenant cgroups. Everything stays inside ROOT; the parent's subtree_control is never
 * written, so a controller the parent does not delegate is reported missing, not taken.
 */
export class CgroupDriver {
  private constructor(
    readonly fs: CgroupFs,
    readonly capabilities: HostCapabilities,
  ) {}

  static async start(options: DriverOptions): Promise<CgroupDriver> {
    const mount = findCgroup2Mount(options.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
    if (mount === undefined) throw new Error('no cgroup2 filesystem is mounted (see /proc/self/mountinfo); Governor needs cgroup v2');
    const root = options.root ?? join(mount, 'governor');
    const rel = relative(mount, root);
    if (rel === '' || rel.startsWith('..')) throw new Error(`GOVERNOR_CGROUP_ROOT ${root} must be a directory below the cgroup2 mount ${mount}`);

    const fs = CgroupFs.open(root, options.native);
    // A process may not sit in a cgroup that hands controllers to children ("no internal processes"),
    // so a governor started inside ROOT moves itself to ROOT/supervisor first.
    const own = ownCgroup2Path(options.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
    if (own !== undefined && join(mount, own) === root) {
      await fs.ensureDir(SUPERVISOR);
      await fs.write(SUPERVISOR, 'cgroup.procs', String(process.pid));
    }
    const offered = ((await fs.read('', 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter(Boolean);
    await enableControllers(fs, '', offered);
    await fs.ensureDir(TENANTS);
    await fs.ensureDir(MONITORS);
    // ROOT is 0711 already, but "tenants" and "monitors" are well-known names: each must refuse a listing of
    // its own, or any host user (or a tenant, before issue 11) could read every tenant name and workload id.
    for (const dir of [TENANTS, MONITORS]) chmodSync(fs.absolute(dir), 0o711);
    await enableControllers(fs, TENANTS, offered);
    const capabilities = await detectCapabilities(fs, mount, TENANTS, options.native.pageSize());
    return new CgroupDriver(fs, capabilities);
  }

  tenantPath(name: string): string {
    return this.fs.absolute(tenantDir(name));
  }

  /** The tenants that have a cgroup on this host, from cgroupfs itself (the truth after a restart). */
  tenantsOnHost(): string[] {
    return this.fs.children(TENANTS);
  }

  /**
   * Creates the tenant's cgroups if needed, brings its files to the quota, and freezes or thaws it.
   * cgroup.freeze is desired state like any limit: a hand thaw of a suspended tenant is drift.
   */
  async applyTenant(name: string, quota: Quota, options: TenantApplyOptions): Promise<TenantApplyResult> {
    const dir = tenantDir(name);
    const files = [...quotaFiles(this.capabilities), ...TENANT_FILES];
    let replaced: string | undefined;
    if (options.owner !== undefined) {
      const owner = await this.fs.attribute(dir, OWNER_ATTRIBUTE);
      if (owner !== undefined && owner !== '' && owner !== options.owner) {
        // Another tenant's, deleted while this node was away: its processes and limits are not this one's.
        try {
          await this.removeTenant(name, options.killTimeoutMs ?? KILL_TIMEOUT_MS);
        } catch (err) {
          if (err instanceof CgroupNotEmptyError) throw new CgroupNotEmptyError(err.dir, err.waitedMs, owner);
          throw err;
        }
        replaced = owner;
      } else if (owner === '') {
        // Made before cgroups carried their owner (or by hand): adopted.
        this.fs.setAttribute(dir, OWNER_ATTRIBUTE, options.owner);
      }
    }
    // One batch tells whether the cgroups exist, which controllers they hand down, and every limit and
    // the freeze state: a tenant in sync costs this one native call and nothing else.
    let snapshot = await this.fs.readMany(dir, files);
    const created: string[] = [];
    if (snapshot === undefined) {
      if (await this.fs.ensureDir(dir)) {
        created.push(this.fs.absolute(dir));
        if (options.owner !== undefined) this.fs.setAttribute(dir, OWNER_ATTRIBUTE, options.owner);
      }
      snapshot = (await this.fs.readMany(dir, files)) ?? new Map<string, string | undefined>();
    }
    await enableControllers(this.fs, dir, this.capabilities.available, snapshot.get('cgroup.subtree_control'));
    // workloads/ is made by the first workload start, and from then on it hands down every controller too.
    const workloadsControl = snapshot.get(WORKLOADS_CONTROL);
    if (workloadsControl !== undefined) await enableControllers(this.fs, workloadsDir(name), this.capabilities.available, workloadsControl);
    const result = await applyQuota(this.fs, this.capabilities, dir, quota, options, false, snapshot);
    const freezeTimeoutMs = options.freezeTimeoutMs ?? FREEZE_TIMEOUT_MS;
    const freeze = await setFrozen(this.fs, dir, options.suspended, freezeTimeoutMs, {
      freeze: snapshot.get('cgroup.freeze'),
      events: snapshot.get('cgroup.events'),
    });
    if (freeze.written)
      result.changes.push({ file: this.fs.absolute(`${dir}/cgroup.freeze`), from: options.suspended ? '0' : '1', to: options.suspended ? '1' : '0' });
    if (!freeze.settled) {
      const waited = options.waitedMs ?? freezeTimeoutMs;
      result.conditions.push({
        type: 'Degraded',
        status: 'True',
        reason: options.suspended ? FREEZE_PENDING : THAW_PENDING,
        message: `cgroup.events did not report frozen ${options.suspended ? 1 : 0} within ${waited}ms (tasks in D state?)`,
      });
    }
    return { ...result, created, ...(replaced !== undefined && { replaced }) };
  }

  /** What applyTenant would write, without writing; a tenant with no cgroup yet is planned from defaults. */
  async planTenant(name: string, quota: Quota): Promise<ApplyResult> {
    return applyQuota(this.fs, this.capabilities, tenantDir(name), quota, { force: false, reclaimTimeoutMs: 0 }, true);
  }

  /**
   * Kills every process of the tenant, waits (up to `waitMs`, KILL_TIMEOUT_MS by default) for it to empty,
   * and removes its cgroups leaves first. Throws CgroupNotEmptyError when it did not empty in time: a caller
   * that passes 0 comes back later rather than holding a worker while the processes exit.
   */
  async removeTenant(name: string, waitMs = KILL_TIMEOUT_MS): Promise<void> {
    const dir = tenantDir(name);
    if (!this.fs.exists(dir)) return;
    const emptied = await killAll(this.fs, dir, waitMs, this.capabilities.features.kill);
    if (!emptied) throw new CgroupNotEmptyError(this.fs.absolute(dir), waitMs);
    await this.fs.removeTree(dir);
  }

  /** Moves a process into the tenant's `attached` leaf, made at the first attach. */
  async attach(name: string, pid: number): Promise<void> {
    await this.fs.ensureDir(attachedDir(name));
    await this.fs.write(attachedDir(name), 'cgroup.procs', String(pid));
  }

  /** Live usage from the tenant's own files. */
  async usage(name: string): Promise<TenantUsage> {
    return readUsage(this.fs, tenantDir(name));
  }

  /**
   * Creates a workload's leaf inside the tenant cap, with its own limits (inside the cap, never above
   * it: the kernel enforces the tighter of the two), and its monitor's leaf next to it (issue 11: a
   * monitor counts in its tenant's pids and memory; the monitor keeps the OOM killer off itself with
   * oom_score_adj -1000, and a cgroup.kill of the workload's leaf does not reach it). Returns both
   * absolute paths.
   */
  async prepareWorkload(tenant: string, id: string, quota: Quota): Promise<{ leaf: string; monitor: string; result: ApplyResult }> {
    const leaf = workloadDir(tenant, id);
    // workloads/ is made at the tenant's first workload start; enabling reads first, so a start that finds it
    // made (by another start, perhaps still enabling) writes only what is missing.
    await this.fs.ensureDir(workloadsDir(tenant));
    await enableControllers(this.fs, workloadsDir(tenant), this.capabilities.available);
    await this.fs.ensureDir(leaf);
    const result = await applyQuota(this.fs, this.capabilities, leaf, quota, { force: false, reclaimTimeoutMs: 0 });
    await this.fs.ensureDir(monitorsDir(tenant));
    await this.fs.ensureDir(monitorDir(tenant, id));
    return { leaf: this.fs.absolute(leaf), monitor: this.fs.absolute(monitorDir(tenant, id)), result };
  }

  /**
   * A fresh leaf for the tenant's init: whatever was left in the old one is killed (an init that died takes its
   * PID namespace with it, but a half-started one may linger) and the leaf is made again, since Linux 6.18
   * kills what is cloned into a cgroup that has been through cgroup.kill (see native/governor.h). Returns its
   * absolute path. Throws CgroupNotEmptyError when the old leaf did not empty within `waitMs`
   * (KILL_TIMEOUT_MS by default): a caller that passes 0 comes back later rather than holding a worker.
   */
  async freshInitCgroup(tenant: string, waitMs = KILL_TIMEOUT_MS): Promise<string> {
    const dir = initDir(tenant);
    if (this.fs.exists(dir)) {
      if (!(await killAll(this.fs, dir, waitMs, this.capabilities.features.kill))) throw new CgroupNotEmptyError(this.fs.absolute(dir), waitMs);
      await this.fs.removeTree(dir);
    }
    await this.fs.ensureDir(dir);
    return this.fs.absolute(dir);
  }

  /** The processes in the tenant init's leaf (an init still running, or what is left of one). */
  initProcesses(tenant: string): number[] {
    const text = this.fs.readSync(initDir(tenant), 'cgroup.procs') ?? '';
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number);
  }

  /** cgroup.kill on the workload's leaf (everything it forked goes too) and wait for it to empty. */
  async killWorkload(tenant: string, id: string): Promise<boolean> {
    return killAll(this.fs, workloadDir(tenant, id), KILL_TIMEOUT_MS, this.capabilities.features.kill);
  }

  /** oom_kill from the leaf's memory.events: how a SIGKILL is told apart as an OOM kill. */
  async workloadOomKills(tenant: string, id: string): Promise<number> {
    const events = await this.fs.read(workloadDir(tenant, id), 'memory.events');
    return (events === undefined ? undefined : parseMemoryEvents(events)?.oomKill) ?? 0;
  }

  /**
   * Forks its leaf's pids.max refused (pids.events max) where that count is not hierarchical (before
   * 6.11), so that it can be kept once the leaf is removed; 0 when it is hierarchical or the leaf is gone.
   */
  async workloadPidsMaxEvents(tenant: string, id: string): Promise<number> {
    if (!this.capabilities.available.includes('pids') || this.capabilities.features.pidsEventsLocal) return 0;
    const text = await this.fs.read(workloadDir(tenant, id), 'pids.events');
    return (text === undefined ? undefined : parsePidsEvents(text)?.max) ?? 0;
  }

  /** The workload leaf's pids.events max as the kernel shows it (hierarchical from 6.11), or undefined. */
  async workloadPidsEvents(tenant: string, id: string): Promise<number | undefined> {
    if (!this.capabilities.available.includes('pids')) return undefined;
    const text = await this.fs.read(workloadDir(tenant, id), 'pids.events');
    return text === undefined ? undefined : parsePidsEvents(text)?.max;
  }

  /** Removes an ended workload's leaf and its monitor's cgroup (where a monitor started before the move left it, too). */
  async removeWorkload(tenant: string, id: string): Promise<void> {
    await this.fs.removeTree(workloadDir(tenant, id));
    await this.fs.removeTree(monitorDir(tenant, id));
    await this.fs.removeTree(legacyMonitorDir(id));
  }

  /**
   * Every workload leaf and every monitor cgroup on this host (tenant and id; no tenant for a monitor left
   * outside the tenants by an older governor), for the reaper; with `only`, those of these tenants (and the
   * older governor's).
   */
  workloadCgroups(only?: readonly string[]): { leaves: Array<{ tenant: string; id: string }>; monitors: Array<{ tenant?: string; id: string }> } {
    const onHost = this.tenantsOnHost();
    const tenants = only === undefined ? onHost : only.filter((tenant) => onHost.includes(tenant));
    const under = (dir: (tenant: string) => string) =>
      tenants.flatMap((tenant) =>
        this.fs
          .children(dir(tenant))
          .filter(isWorkloadId)
          .map((id) => ({ tenant, id })),
      );
    const legacy = this.fs
      .children(MONITORS)
      .filter(isWorkloadId)
      .map((id) => ({ id }));
    return { leaves: under(workloadsDir), monitors: [...under(monitorsDir), ...legacy] };
  }

  async removeMonitorCgroup(monitor: { tenant?: string; id: string }): Promise<void> {
    await this.fs.removeTree(monitor.tenant === undefined ? legacyMonitorDir(monitor.id) : monitorDir(monitor.tenant, monitor.id));
  }

  hasTenant(name: string): boolean {
    return this.fs.exists(tenantDir(name));
  }

  close(): void {
    this.fs.close();
  }
}

/**
 * Enables controllers in a cgroup's subtree_control, all at once and, when the kernel refuses the batch
 * (one controller is busy or missing), one at a time, as runc does.
 */
async function enableControllers(fs: CgroupFs, dir: string, controllers: readonly string[], known?: string): Promise<void> {
  const enabled = (known ?? (await fs.read(dir, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/);
  const wanted = controllers.filter((c) => CONTROLLERS.includes(c as ControllerName) && !enabled.includes(c));
  if (wanted.length === 0) return;
  try {
    await fs.write(dir, 'cgroup.subtree_control', wanted.map((c) => `+${c}`).join(' '));
  } catch {
    for (const controller of wanted) await fs.write(dir, 'cgroup.subtree_control', `+${controller}`).catch(() => undefined);
  }
}
