import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CgroupDriver } from '../../../../libs/cgroup/src/driver';
import { HostWatch } from '../../../../libs/native/src/host-watch';
import { KoffiNative } from '../../../../libs/native/src/native';
import { hostLinkCounters } from '../../../../libs/network/src/link-counters';
import { TenantNamespaces } from '../../../../libs/network/src/namespaces';
import type { LinkCounters } from '../../../../libs/network/src/tenant-link';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TenantHomes } from '../../../../libs/workloads/src/home';
import { MountTemplate, MountTemplateError } from '../../../../libs/workloads/src/tenant-init';
import { WorkloadMonitors } from '../../../../libs/workloads/src/monitor';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { type InstanceLock, InstanceLockedError, lockDirectory, lockInstance } from '../instance/instance-lock';
import { HostException, HostExceptionCode } from './host.exception';

/** Where the locks of host-wide things (nftables tables) live. */
const FIREWALL_LOCKS = '/run/lock/governor';

/** The open-file limit a governor asks for (fs.nr_open's default), and the least it runs without a warning. */
const OPEN_FILES_WANTED = 1 << 20;
const OPEN_FILES_ENOUGH = 16_384;
/** fds a governor holds besides one per tenant: database pool, sockets, the host watch, libraries */
const OPEN_FILES_OWN = 200;

/**
 * This host's cgroup subtree, in the roles that touch the host (all, agent). A host that cannot be
 * prepared (no cgroup2, no permission) does not stop the API: host endpoints answer 503 with the reason,
 * and /readyz says not ready.
 */
@Injectable()
export class HostAccess implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('host');
  private driver: CgroupDriver | undefined;
  private tenantNamespaces: TenantNamespaces | undefined;
  private tenantHomes: TenantHomes | undefined;
  private workloadMonitors: WorkloadMonitors | undefined;
  private nativeLibrary: KoffiNative | undefined;
  private watch: HostWatch | undefined;
  /** the inits' mount template while it was made; undefined once it is found gone (warned once) */
  private template: MountTemplate | undefined;
  private failure: string | undefined;
  private firewallFailure: string | undefined;
  private readonly locks: InstanceLock[] = [];

  constructor(@Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig) {}

  get touchesHost(): boolean {
    return this.config.role !== 'api';
  }

  async onModuleInit(): Promise<void> {
    if (!this.touchesHost) return;
    // Each part is prepared and reported on its own, so that a broken run directory is named as such (and
    // the cgroup limits still hold) instead of surfacing later as a failed pass that looks like a database outage.
    let step = 'locking the host state';
    try {
      const native = new KoffiNative();
      this.raiseOpenFileLimit(native);
      this.lockHostState(native, 'before');
      step = `preparing the cgroup root ${this.config.cgroupRoot ?? '(default)'}`;
      this.driver = await CgroupDriver.start({ root: this.config.cgroupRoot, native });
      this.lockHostState(native, 'after');
      const caps = this.driver.capabilities;
      this.logger.log({ root: caps.root, available: caps.available, missing: caps.missing, features: caps.features }, 'cgroup subtree ready');
      step = `preparing the namespaces under ${join(this.config.runDir, 'ns')}`;
      // Not listable by host users: it holds every tenant's name (ns/, homes/) and workload id (workloads/).
      mkdirSync(this.config.runDir, { recursive: true, mode: 0o711 });
      chmodSync(this.config.runDir, 0o711);
      const namespaces = new TenantNamespaces(native, this.config.runDir);
      namespaces.prepare();
      this.tenantNamespaces = namespaces;
      const homes = new TenantHomes(this.config.dataDir, this.config.runDir, native);
      step = `preparing the homes under ${join(this.config.runDir, 'homes')}`;
      await homes.prepare();
      this.tenantHomes = homes;
      this.workloadMonitors = new WorkloadMonitors(native, this.config.runDir);
      this.nativeLibrary = native;
      // Without it every resync reads every tenant in full, as before: slower at idle, nothing missed.
      try {
        this.watch = new HostWatch(native);
      } catch (err) {
        this.logger.warn({ err }, `no host watch (inotify, rtnetlink, the mount table): every resync checks every tenant in full`);
      }
      await this.makeMountTemplate(native);
    } catch (err) {
      // Another governor on the same state is not a host problem to report and wait out: it must not start.
      if (err instanceof InstanceLockedError) {
        this.releaseLocks();
        throw err;
      }
      this.failure = `${step} failed: ${err instanceof Error ? err.message : String(err)}`;
      this.logger.error({ err }, `host setup failed: ${this.failure}`);
    }
  }

  /**
   * A governor holds a pidfd of every tenant's init (the host watch) and a few dozen fds of its own, so the
   * kernel's default hard limit of 4,096 open files ends at about 4,000 tenants, where every open (a cgroup file,
   * a database connection, a socket) would fail with EMFILE. The limit is raised as far as the host allows
   * (workloads start with a soft limit of 1024 again: governor-monitor); one below what a large host needs is said
   * at start, with how to lift it.
   */
  private raiseOpenFileLimit(native: KoffiNative): void {
    try {
      const limit = native.raiseOpenFileLimit(OPEN_FILES_WANTED);
      if (limit >= OPEN_FILES_ENOUGH) this.logger.log({ limit }, `open-file limit ${limit}`);
      else
        this.logger.warn(
          { limit },
          `open-file limit ${limit}: the governor holds about one fd per tenant, so past about ${limit - OPEN_FILES_OWN} tenants opens fail with EMFILE; ` +
            'raise the hard limit (LimitNOFILE= under systemd, --ulimit nofile= under Docker) or give the governor CAP_SYS_RESOURCE',
        );
    } catch (err) {
      this.logger.warn({ err }, `the open-file limit could not be read or raised: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * The mount namespace the tenant inits start from (MountTemplate), made after the ns and homes mounts and before
   * any init starts, replacing one left by an earlier start. A kernel or container that refuses it (no right to
   * unshare or to bind a namespace file) costs speed, not function: one warning, and inits start from a copy of
   * the host's namespace as before.
   */
  private async makeMountTemplate(native: KoffiNative): Promise<void> {
    const template = new MountTemplate(native.tenantInitPath(), this.config.runDir);
    try {
      await template.make(this.hiddenDirs());
      this.template = template;
      this.logger.log({ path: template.path }, 'mount template for tenant inits ready');
    } catch (err) {
      this.logger.warn(
        { err, step: err instanceof MountTemplateError ? err.step : undefined },
        `${err instanceof Error ? err.message : String(err)}; tenant inits start from a copy of the host's mount namespace, which costs each start a copy of every mount on the host`,
      );
    }
  }

  /** The directories a tenant's view hides under an empty tmpfs (and the mount template leaves out): run dir, data dir, cgroup mounts. */
  hiddenDirs(): string[] {
    return [this.config.runDir, this.config.dataDir, '/sys/fs/cgroup', this.cgroups().capabilities.mount];
  }

  /**
   * The mount template's path while it is a mount namespace; undefined when it was never made or is gone (a hand
   * umount), which is warned of once: inits then start from a copy of the host's namespace until a restart.
   */
  mountTemplate(): string | undefined {
    if (this.template === undefined) return undefined;
    if (this.template.live()) return this.template.path;
    this.logger.warn(
      { path: this.template.path },
      `the mount template ${this.template.path} is no longer a mount namespace; tenant inits start from a copy of the host's mount namespace until the governor restarts`,
    );
    this.template = undefined;
    return undefined;
  }

  /**
   * What the reconciler found wrong with the firewall table (undefined once it applies again), so that
   * /readyz says so: tenant links without their filter are not a ready host.
   */
  reportFirewall(problem: string | undefined): void {
    if (problem !== undefined && this.firewallFailure === undefined)
      this.logger.error(`host setup failed: the firewall table inet ${this.config.firewallTable}: ${problem}`);
    this.firewallFailure = problem === undefined ? undefined : `applying the firewall table inet ${this.config.firewallTable} failed: ${problem}`;
  }

  /** What the kernel says changed on this host (tenant cgroups, links, namespaces, mounts, inits); undefined without it. */
  hostWatch(): HostWatch | undefined {
    return this.watch;
  }

  /** The tenants that have namespaces on this host; none while namespaces are unavailable (the reason is in /readyz). */
  namespacesOnHost(): string[] {
    return this.tenantNamespaces?.onHost() ?? [];
  }

  /**
   * One governor per run directory, cgroup root and firewall table: two on one of them unmount each other's
   * namespaces and replace each other's rules. The run directory and the firewall table are locked before
   * anything is touched; the cgroup root, a cgroup directory that may not exist yet, once the driver made it.
   */
  private lockHostState(native: KoffiNative, when: 'before' | 'after'): void {
    const hint = 'Stop that governor first, or give this one its own GOVERNOR_RUN_DIR, GOVERNOR_CGROUP_ROOT and GOVERNOR_FIREWALL_TABLE.';
    if (when === 'before') {
      mkdirSync(this.config.runDir, { recursive: true, mode: 0o711 });
      this.locks.push(lockInstance(`the run directory ${this.config.runDir}`, join(this.config.runDir, 'governor.lock'), hint, native));
      // nftables tables belong to the host (its network namespace), so their lock lives in the host's /run/lock.
      mkdirSync(FIREWALL_LOCKS, { recursive: true, mode: 0o755 });
      const table = this.config.firewallTable;
      this.locks.push(lockInstance(`the firewall table inet ${table}`, join(FIREWALL_LOCKS, `firewall-${table}.lock`), hint, native));
    } else {
      const root = this.driver!.capabilities.root;
      this.locks.push(lockDirectory(`the cgroup root ${root}`, root, hint, native));
    }
  }

  private releaseLocks(): void {
    for (const lock of this.locks.splice(0)) lock.release();
  }

  async onApplicationShutdown(): Promise<void> {
    this.watch?.close();
    this.watch = undefined;
    await this.workloadMonitors?.close();
    this.driver?.close();
    this.releaseLocks();
  }

  /** The driver, or a 501/503 that says why this process cannot act on the host. */
  cgroups(): CgroupDriver {
    if (!this.touchesHost) {
      throw new HostException(
        HostExceptionCode.NOT_IN_ROLE,
        `this governor runs as role api, which holds no host: this endpoint reads the local host and is served by role all`,
      );
    }
    if (this.driver === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `the cgroup subtree is unavailable: ${this.failure ?? 'not started'}`);
    return this.driver;
  }

  /** The tenants' namespaces, once the host is prepared. */
  namespaces(): TenantNamespaces {
    this.cgroups();
    if (this.tenantNamespaces === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `namespaces are unavailable: ${this.failure ?? 'not started'}`);
    return this.tenantNamespaces;
  }

  /** The tenants' homes (image files and their mounts), once the host is prepared. */
  homes(): TenantHomes {
    this.cgroups();
    if (this.tenantHomes === undefined) throw new HostException(HostExceptionCode.UNAVAILABLE, `homes are unavailable: ${this.failure ?? 'not started'}`);
    return this.tenantHomes;
  }

  /** The workloads' monitors (their state directories, launch, status and signals), once the host is prepared. */
  monitors(): WorkloadMonitors {
    this.cgroups();
    if (this.workloadMonitors === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `workload monitors are unavailable: ${this.failure ?? 'not started'}`);
    return this.workloadMonitors;
  }

  /** The monitors when this process can reach them; for reads that show what there is (a workload's namespaces). */
  maybeMonitors(): WorkloadMonitors | undefined {
    return this.touchesHost ? this.workloadMonitors : undefined;
  }

  /** The native library, for the paths of its programs (the monitor, the tenant init). */
  native(): KoffiNative {
    this.cgroups();
    if (this.nativeLibrary === undefined)
      throw new HostException(HostExceptionCode.UNAVAILABLE, `the native library is unavailable: ${this.failure ?? 'not started'}`);
    return this.nativeLibrary;
  }

  /** Whether `path` is a directory on this host (a tenant's rootfs is checked at create); role api asks the agents instead. */
  isDirectory(path: string): boolean {
    if (!this.touchesHost) {
      throw new HostException(
        HostExceptionCode.NOT_IN_ROLE,
        `this governor runs as role api, which holds no host: whether ${path} is a directory is for an agent to say`,
      );
    }
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  }

  /** Every link of the host's network namespace with its counters (/proc/net/dev, one read). */
  linkCounters(): Map<string, LinkCounters> {
    return hostLinkCounters();
  }

  /** The driver when there is one; for the reconciler, which idles without it. */
  maybeCgroups(): CgroupDriver | undefined {
    return this.driver;
  }

  /** Why this host is not fully prepared (the cgroup root, the namespaces or the firewall); undefined when it is. */
  get unavailableReason(): string | undefined {
    if (!this.touchesHost) return undefined;
    if (this.driver === undefined) return this.failure ?? 'not started';
    return this.failure ?? this.firewallFailure;
  }
}
