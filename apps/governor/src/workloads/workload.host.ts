import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { type LogRead, type LogStream, readLogAfter, tailLog } from '../../../../libs/workloads/src/logs';
import { currentBootId, type MonitorStatus } from '../../../../libs/workloads/src/monitor';
import { readTenantInit } from '../../../../libs/workloads/src/tenant-init';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import type { StartWorkloadInput } from './workload.request';

const LOG_MAX_BYTES = 8 * 1024 * 1024;
const LOG_FILES = 2;

/** A workload leaf or monitor cgroup found on the host (no tenant for a monitor an older governor left outside the tenants). */
export interface WorkloadCgroups {
  leaves: Array<{ tenant: string; id: string }>;
  monitors: Array<{ tenant?: string; id: string }>;
}

/**
 * What the workload classes ask of this host, in their words: the cgroup driver, the tenants' namespaces and
 * the monitors (all libs/, reached through HostAccess), and the monitors' state directories under
 * GOVERNOR_RUN_DIR/workloads. Nothing here reads the database or decides anything; the unit specs put a typed
 * double in its place.
 */
@Injectable()
export class WorkloadHost {
  constructor(
    private readonly host: HostAccess,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** Whether this process supervises the workloads of this host: its cgroup driver started. */
  get supervises(): boolean {
    return this.host.maybeCgroups() !== undefined;
  }

  async bootId(): Promise<string> {
    return currentBootId();
  }

  /**
   * Whether the tenant's cgroup, network and user namespaces and init are all there, so that a workload can
   * join them. A 501/503 when this process cannot act on the host at all.
   */
  tenantReady(tenant: string): boolean {
    const driver = this.host.cgroups();
    const ns = this.host.namespaces().paths(tenant);
    return driver.hasTenant(tenant) && existsSync(ns.net) && existsSync(ns.user) && readTenantInit(ns).state === 'running';
  }

  /** A 503 when the monitors cannot be reached (before a stop records anything). */
  requireMonitors(): void {
    this.host.monitors();
  }

  /** The one place a workload is launched: its leaf and its monitor's cgroup made, then its monitor started in the tenant's namespaces. */
  async launch(tenant: string, id: string, input: StartWorkloadInput): Promise<void> {
    const ns = this.host.namespaces().paths(tenant);
    const { leaf, monitor } = await this.host.cgroups().prepareWorkload(tenant, id, input.quota);
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
  }

  /** Sends `signal` through the workload's monitor (which holds a pidfd of it); false when no monitor holds its lock. */
  signal(id: string, signal: NodeJS.Signals): boolean {
    return this.host.monitors().signal(id, signal);
  }

  async status(id: string, bootId: string): Promise<MonitorStatus> {
    return this.host.monitors().status(id, bootId);
  }

  /** The namespaces its monitor put the workload in; none when this process has no monitors to ask. */
  async namespaces(id: string): Promise<Array<{ kind: string; inode: number }>> {
    return (await this.host.maybeMonitors()?.namespaces(id)) ?? [];
  }

  async oomKills(tenant: string, id: string): Promise<number> {
    return this.host.cgroups().workloadOomKills(tenant, id);
  }

  async pidsMaxEvents(tenant: string, id: string): Promise<number> {
    return this.host.cgroups().workloadPidsMaxEvents(tenant, id);
  }

  /** cgroup.kill of the workload's leaf, waiting for it to empty. */
  async kill(tenant: string, id: string): Promise<boolean> {
    return this.host.cgroups().killWorkload(tenant, id);
  }

  /** Removes the workload's leaf and its monitor's cgroup. */
  async remove(tenant: string, id: string): Promise<void> {
    await this.host.cgroups().removeWorkload(tenant, id);
  }

  /** The workload leaves and monitor cgroups on this host, or (`tenants`) of those tenants only. */
  cgroups(tenants?: readonly string[]): WorkloadCgroups {
    return this.host.cgroups().workloadCgroups(tenants);
  }

  async removeMonitorCgroup(monitor: { tenant?: string; id: string }): Promise<void> {
    await this.host.cgroups().removeMonitorCgroup(monitor);
  }

  async tailLog(id: string, stream: LogStream, lines: number): Promise<LogRead> {
    return tailLog(this.stateDir(id), stream, lines);
  }

  async readLogAfter(id: string, stream: LogStream, cursor: string): Promise<LogRead> {
    return readLogAfter(this.stateDir(id), stream, cursor);
  }

  /** The names in GOVERNOR_RUN_DIR/workloads that are workload ids; none when it does not exist. */
  async stateDirIds(): Promise<string[]> {
    const names = await readdir(join(this.config.runDir, 'workloads')).catch(() => [] as string[]);
    return names.filter((name) => /^[a-z0-9]{12}$/.test(name));
  }

  /** Removes a workload's logs and exit status. */
  async removeStateDir(id: string): Promise<void> {
    await rm(this.stateDir(id), { recursive: true, force: true });
  }

  private stateDir(id: string): string {
    return join(this.config.runDir, 'workloads', id);
  }
}
