import { mock } from 'node:test';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import type { Quota } from '../../../../libs/domain/src/quota.types';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import type { GovernorConfig } from '../config/governor.config';
import { TenantCatalog } from '../metrics/tenant-catalog';
import type { WorkloadEntity } from '../../../../libs/persistence/src/entities/workload.entity';
import { KnownTenants, MemoryWorkloads, RecordedEvents, RecordingHost } from './workload.doubles';
import { WorkloadExpiry } from './workload.expiry';
import { WorkloadSupervisor } from './workload.supervisor';
import { WorkloadsService } from './workloads.service';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The workload classes wired as the module wires them, on typed doubles of the database and the host. */
export class WorkloadWorld {
  readonly config = { nodeName: 'node-1', workloadLogRetentionMs: 7 * DAY_MS } as GovernorConfig;
  readonly repository = new MemoryWorkloads();
  readonly host = new RecordingHost();
  readonly tenants = new KnownTenants();
  readonly events = new RecordedEvents();
  readonly catalog = new TenantCatalog();
  /** the rows each tick handed to the run-directory check */
  readonly runDirChecks: string[][] = [];
  readonly expiry = new WorkloadExpiry(this.repository, this.host, this.config);
  readonly supervisor = new WorkloadSupervisor(
    this.repository,
    this.host,
    this.catalog,
    this.events,
    {
      check: (active) => {
        this.runDirChecks.push(active.map((row) => row.id));
        return Promise.resolve();
      },
    },
    this.expiry,
    this.config,
  );
  readonly service = new WorkloadsService(this.repository, this.tenants, this.host, this.supervisor, this.config);
  readonly admin: Actor = { principal: { kind: 'admin', tokenId: 't1', name: 'root' }, requestId: 'req-1' };

  /** A tenant set up on this node (cgroup, namespaces, init). */
  tenant(name: string, quota: Partial<Quota> = {}): TenantEntity {
    const tenant = this.tenants.add(name, quota);
    this.repository.tenantNames.set(tenant.id, name);
    this.host.readyTenants.add(name);
    return tenant;
  }

  /** A workload row, running under a live monitor unless the test says otherwise. */
  workload(tenant: TenantEntity, id: string, row: Partial<WorkloadEntity> = {}): WorkloadEntity {
    const put = this.repository.put(tenant, { id, ...row });
    if (put.state === 'running' && put.node === this.config.nodeName) this.host.monitors.set(id, { state: 'running', pid: 4242 });
    return put;
  }

  /** The supervisor started as at boot (its boot id read); the timer it sets is a mocked one. */
  async boot(): Promise<this> {
    await this.supervisor.onApplicationBootstrap();
    return this;
  }

  shutdown(): void {
    this.supervisor.onApplicationShutdown();
  }
}

/** Lets every callback and promise already due run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A booted world on mocked timers and clock (2026-12-06T08:00:00Z), as every workload spec starts from. */
export async function bootWorkloadWorld(): Promise<WorkloadWorld> {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: Date.parse('2026-12-06T08:00:00Z') });
  return new WorkloadWorld().boot();
}

/** Stops a world from bootWorkloadWorld and gives the real timers back. */
export function shutdownWorkloadWorld(world: WorkloadWorld): void {
  world.shutdown();
  mock.timers.reset();
}
