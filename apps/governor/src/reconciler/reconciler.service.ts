import { basename, join } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import type { CgroupDriver } from '../../../../libs/cgroup/src/driver';
import { TenantEntity, TenantStatusEntity, WorkloadEntity } from '../../../../libs/persistence/src/entities';
import { removeState } from '../../../../libs/workloads/src/monitor';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { DATABASE_URL } from '../database/database.module';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { TenantCatalog } from '../metrics/tenant-catalog';
import { NodesService } from '../nodes/nodes.service';
import { CHANGES_CHANNEL } from '../tenants/tenants.service';
import { ChangeListener } from './change-listener';
import { TenantIsolation } from './tenant-isolation';
import type { TenantIsolationStatus } from '../../../../libs/persistence/src/entities';
import { allocationOf, quarantinedTenants, quarantineTenant, releaseIfTornDown } from '../../../../libs/persistence/src/allocation';
import { degraded } from '../../../../libs/cgroup/src/condition';
import {
  applyTenantNetwork,
  ensureForwarding,
  hostInterfaceName,
  removeLink,
  removeTenantNetwork,
  TenantFirewall,
  tenantsInDrift,
  type FirewallTenant,
} from '../../../../libs/network/src';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';

/** How long a lowered memory.high may take to bring usage under a new memory.max. */
const RECLAIM_TIMEOUT_MS = 5_000;
const MAX_RETRY_MS = 30_000;

/**
 * The level-triggered loop: desired state from PostgreSQL, observed state from cgroupfs, and the
 * difference written. Woken by NOTIFY, by a periodic resync and by every reconnect; tenants are handled
 * one at a time, and one tenant's failure is recorded in its status without stopping the others.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reconciler');
  private readonly pending = new Set<string>();
  private fullResync = true;
  private running: Promise<void> | undefined;
  private again = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  private listener: ChangeListener | undefined;
  private stopped = false;
  /** the firewall's view of every tenant link on this host, kept across passes */
  private readonly firewall = new Map<string, FirewallTenant>();
  /** the nftables table, which remembers the kernel's form of what it applied to compare by content */
  private nftables: TenantFirewall | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly host: HostAccess,
    private readonly nodes: NodesService,
    private readonly metrics: GovernorMetrics,
    private readonly catalog: TenantCatalog,
    private readonly isolation: TenantIsolation,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
  ) {}

  onApplicationBootstrap(): void {
    const driver = this.host.maybeCgroups();
    if (!driver) return;
    driver.fs.onWrite(() => this.metrics.cgroupWrites.inc());
    this.listener = new ChangeListener(this.databaseUrl, CHANGES_CHANNEL, { changed: (tenant) => this.schedule(tenant), connected: () => this.schedule() });
    this.listener.start();
    this.resyncTimer = setInterval(() => this.schedule(), this.config.resyncIntervalMs);
    this.resyncTimer.unref();
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    await this.listener?.stop();
    await this.running;
  }

  /** Queues one tenant, or (without a name) a full resync. */
  schedule(tenant?: string): void {
    if (tenant === undefined) this.fullResync = true;
    else this.pending.add(tenant);
    this.kick();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    const driver = this.host.maybeCgroups();
    if (!driver) return;
    try {
      const full = this.fullResync;
      if (this.fullResync) {
        this.fullResync = false;
        const rows = await this.db.getRepository(TenantEntity).find({ where: { deletedAt: IsNull() }, select: { name: true } });
        for (const name of [...rows.map((row) => row.name), ...driver.tenantsOnHost(), ...this.host.namespacesOnHost()]) this.pending.add(name);
      }
      while (this.pending.size > 0 && !this.stopped) {
        const [name] = this.pending;
        this.pending.delete(name);
        await this.reconcileOne(driver, name);
      }
      await this.applyFirewall();
      if (full) await this.sweepQuarantine(driver);
      this.retryMs = 1000;
    } catch (err) {
      // PostgreSQL is down (or the query failed): the kernel keeps the last applied state; retry.
      this.logger.warn({ err }, `reconcile pass failed; retrying in ${this.retryMs}ms with what the kernel already enforces`);
      this.fullResync = true;
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    }
  }

  private async reconcileOne(driver: CgroupDriver, name: string): Promise<void> {
    const tenant = await this.db.getRepository(TenantEntity).findOneBy({ name, deletedAt: IsNull() });
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      if (!tenant || (tenant.nodes.length > 0 && !tenant.nodes.includes(this.config.nodeName))) {
        // Not (or no longer) ours to host: what cgroupfs still has of it is an orphan.
        this.catalog.deleteTenant(name);
        if (driver.hasTenant(name)) await driver.removeTenant(name);
        await this.removeNetwork(name, tenant?.id);
        await this.isolation.remove(name, tenant?.id);
        if (tenant) await this.db.getRepository(TenantStatusEntity).delete({ tenantId: tenant.id, node: this.config.nodeName });
      } else if (tenant.deletionRequestedAt) {
        this.catalog.setTenant({ name, id: tenant.id, hostInterface: undefined, phase: 'Terminating' });
        await driver.removeTenant(name);
        await this.removeWorkloadRemains(driver, tenant);
        await this.removeNetwork(name, tenant.id);
        await this.isolation.remove(name, tenant.id);
        await this.saveStatus(tenant, 'Deleted', [], null);
        await this.finishDeletion(tenant);
      } else {
        await this.apply(driver, tenant);
      }
      this.metrics.reconcileTotal.inc({ result: 'success' });
    } catch (err) {
      this.metrics.reconcileTotal.inc({ result: 'error' });
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ err, tenant: name }, `reconcile of ${name} failed: ${message}`);
      if (tenant) {
        await this.saveStatus(
          tenant,
          'Error',
          [{ type: 'Reconciled', status: 'False', reason: 'ReconcileFailed', message }],
          driver.tenantPath(name),
          false,
        ).catch(() => undefined);
      }
    } finally {
      end();
    }
  }

  private async apply(driver: CgroupDriver, tenant: TenantEntity): Promise<void> {
    const previous = await this.db.getRepository(TenantStatusEntity).findOneBy({ tenantId: tenant.id, node: this.config.nodeName });
    const result = await driver.applyTenant(tenant.name, tenant.quota, {
      force: tenant.forceGeneration === tenant.generation,
      reclaimTimeoutMs: RECLAIM_TIMEOUT_MS,
      suspended: tenant.suspended,
      owner: tenant.id,
    });
    if (result.replaced !== undefined)
      this.logger.warn({ tenant: tenant.name, tenantId: tenant.id, previous: result.replaced }, 'tore down the cgroup of a deleted tenant of the same name');
    // A change to a generation already applied here was made behind Governor's back: drift.
    if (previous?.observedGeneration === tenant.generation && previous.phase !== 'Error') {
      for (const change of result.changes) {
        this.metrics.driftCorrections.inc({ tenant: tenant.name, file: basename(change.file) });
        this.logger.warn({ tenant: tenant.name, ...change }, 'corrected drift');
      }
      // A tenant cgroup removed behind Governor's back and made again is one correction, whatever it held.
      if (result.created.length > 0) {
        this.metrics.driftCorrections.inc({ tenant: tenant.name, file: 'cgroup' });
        this.logger.warn({ tenant: tenant.name, created: result.created }, 'corrected drift: made the tenant cgroup again');
      }
    }
    const conditions: Condition[] = result.conditions;
    const network = await this.applyNetwork(tenant);
    conditions.push(...network.conditions);
    // The init joins the network namespace and the user namespace made above: without them it cannot start.
    let isolation = previous?.isolation ?? null;
    if (network.uidBase !== undefined) {
      const made = await this.isolation.ensure(tenant, network.uidBase, isolation);
      conditions.push(...made.conditions);
      isolation = made.status;
      for (const change of made.changes) this.logger.log({ tenant: tenant.name, change }, 'tenant isolation');
    }
    if (previous?.observedGeneration === tenant.generation && previous.phase !== 'Error') {
      for (const change of network.changes) {
        this.metrics.driftCorrections.inc({ tenant: tenant.name, file: 'network' });
        this.logger.warn({ tenant: tenant.name, change }, 'corrected network drift');
      }
    }
    const phase = conditions.some((c) => c.type === 'Degraded') ? 'Degraded' : tenant.suspended ? 'Suspended' : 'Ready';
    await this.saveStatus(tenant, phase, conditions, driver.tenantPath(tenant.name), true, isolation);
  }

  /**
   * The tenant's namespaces, veth, addresses and bandwidth. A failure here degrades the tenant (its
   * cgroup limits still hold) rather than failing the whole reconcile.
   */
  private async applyNetwork(tenant: TenantEntity): Promise<{ changes: string[]; conditions: Condition[]; uidBase?: number }> {
    const allocation = await allocationOf(this.db.manager, tenant.id);
    if (!allocation || allocation.releasedAt !== null) {
      return { changes: [], conditions: [degraded('NotAllocated', 'the tenant has no uid range or address block; it was created before allocation existed')] };
    }
    try {
      const result = await applyTenantNetwork(
        this.host.namespaces(),
        tenant.name,
        tenant.id,
        {
          uidBase: allocation.uidRange.start,
          hostAddress: allocation.hostAddress,
          tenantAddress: allocation.tenantAddress,
          prefix: allocation.prefix,
          ipv6: tenantIpv6(this.config.net6Prefix, allocation),
        },
        tenant.quota.network,
      );
      this.firewall.set(tenant.name, result.firewall);
      return { changes: result.changes, conditions: [], uidBase: allocation.uidRange.start };
    } catch (err) {
      return { changes: [], conditions: [degraded('NetworkFailed', `namespaces or link not in place: ${err instanceof Error ? err.message : String(err)}`)] };
    }
  }

  /**
   * The monitors' cgroups (outside the tenant, so the tenant's removal leaves them) and state directories
   * of a deleted tenant's workloads. The monitors exit once their workload is killed.
   */
  private async removeWorkloadRemains(driver: CgroupDriver, tenant: TenantEntity): Promise<void> {
    const workloads = await this.db.getRepository(WorkloadEntity).find({ where: { tenantId: tenant.id, node: this.config.nodeName }, select: { id: true } });
    for (const { id } of workloads) {
      await driver.removeWorkload(tenant.name, id);
      await removeState(join(this.config.runDir, 'workloads', id));
    }
  }

  private async removeNetwork(name: string, tenantId: string | undefined): Promise<void> {
    this.firewall.delete(name);
    await removeTenantNetwork(this.host.namespaces(), name, tenantId);
  }

  /** One table for every tenant link on this host, replaced only when it differs; forwarding once a tenant needs it. */
  private async applyFirewall(): Promise<void> {
    try {
      const tenants = [...this.firewall.values()];
      // A hand edit of the table is drift like a hand edit of a cgroup file, counted per tenant it touched.
      this.nftables ??= new TenantFirewall(this.config.firewallTable);
      const outcome = this.nftables.ensure(tenants);
      if (outcome.written) this.logger.log({ tenants: tenants.length, drift: outcome.drift }, 'firewall table replaced');
      for (const tenant of tenantsInDrift(outcome.drift, this.firewall)) this.metrics.driftCorrections.inc({ tenant, file: 'nftables' });
      for (const change of await ensureForwarding(tenants)) this.logger.warn({ change }, 'turned on IP forwarding for tenants that may reach the outside');
      this.host.reportFirewall(undefined);
    } catch (err) {
      this.host.reportFirewall(err instanceof Error ? err.message : String(err));
    }
  }

  private async saveStatus(
    tenant: TenantEntity,
    phase: string,
    conditions: Condition[],
    cgroupPath: string | null,
    observed = true,
    isolation?: TenantIsolationStatus | null,
  ): Promise<void> {
    if (phase === 'Deleted') this.catalog.deleteTenant(tenant.name);
    else this.catalog.setTenant({ name: tenant.name, id: tenant.id, hostInterface: this.firewall.get(tenant.name)?.hostInterface, phase });
    const repo = this.db.getRepository(TenantStatusEntity);
    const previous = observed ? undefined : await repo.findOneBy({ tenantId: tenant.id, node: this.config.nodeName });
    await repo.save({
      tenantId: tenant.id,
      node: this.config.nodeName,
      observedGeneration: observed ? tenant.generation : (previous?.observedGeneration ?? 0),
      phase,
      conditions,
      cgroupPath,
      ...(isolation !== undefined && { isolation }),
    });
  }

  /**
   * Confirms this node's teardown of tenants whose uid blocks wait in quarantine (tombstoned while a node that
   * hosted them was down), tearing down what is left of them here first, and releases each block once every
   * node that hosted its tenant has confirmed. A name taken again by a live tenant is that tenant's now: only
   * the old tenant's home image, keyed by its id, is removed then.
   */
  private async sweepQuarantine(driver: CgroupDriver): Promise<void> {
    const statuses = this.db.getRepository(TenantStatusEntity);
    for (const { tenantId, name } of await quarantinedTenants(this.db.manager)) {
      const row = await statuses.findOneBy({ tenantId, node: this.config.nodeName });
      if (row && row.phase !== 'Deleted') {
        if (await this.db.getRepository(TenantEntity).existsBy({ name, deletedAt: IsNull() })) {
          // The name is the new tenant's now (its cgroup and namespaces were checked by owner and rebuilt):
          // only what is keyed by the old tenant's id is left, its home image and its link.
          await this.host.homes().removeImage(tenantId);
          await removeLink(hostInterfaceName(tenantId));
        } else {
          if (driver.hasTenant(name)) await driver.removeTenant(name);
          await this.removeNetwork(name, tenantId);
          await this.isolation.remove(name, tenantId);
        }
        await statuses.update({ tenantId, node: this.config.nodeName }, { phase: 'Deleted', conditions: [], cgroupPath: null });
        this.logger.log({ tenant: name, tenantId }, 'confirmed the teardown of a quarantined tenant on this node');
      }
      if (await releaseIfTornDown(this.db.manager, tenantId))
        this.logger.log({ tenant: name, tenantId }, 'released the uid and address blocks of a deleted tenant');
    }
  }

  /** Tombstones a deleted tenant once every live node that hosts it has torn it down; its blocks go to quarantine. */
  private async finishDeletion(tenant: TenantEntity): Promise<void> {
    const alive = await this.nodes.alive();
    const hosts = tenant.nodes.length > 0 ? tenant.nodes.filter((node) => alive.includes(node)) : alive;
    const done = await this.db.getRepository(TenantStatusEntity).find({ where: { tenantId: tenant.id, phase: 'Deleted' }, select: { node: true } });
    if (hosts.every((node) => done.some((row) => row.node === node))) {
      await this.db.transaction(async (tx) => {
        await tx.getRepository(TenantEntity).update({ id: tenant.id, deletedAt: IsNull() }, { deletedAt: new Date() });
        await quarantineTenant(tx, tenant.id);
        await releaseIfTornDown(tx, tenant.id);
      });
    }
  }
}
