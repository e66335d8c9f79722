import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { CgroupDriver } from '../../../../libs/cgroup/src/driver';
import { firewallEntry } from '../../../../libs/network/src';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { DATABASE_URL } from '../database/database.module';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { CHANGES_CHANNEL } from '../tenants/tenants.service';
import { ChangeListener } from './change-listener';
import { FirewallSync } from './firewall-sync';
import { ReconcileQueue, type ReconcileOutcome, systemClock } from './reconcile-queue';
import { ReconcilerRepository } from './reconciler.repository';
import { DesiredStateUnavailableError, TenantReconciler } from './tenant-reconciler';
import { TenantTeardown } from './tenant-teardown';
import { TenantWaits } from './tenant-waits';

const MAX_RETRY_MS = 30_000;

/**
 * The level-triggered loop's scheduling: desired state from PostgreSQL, woken by NOTIFY, by a periodic
 * resync and by every reconnect. A tenant named in a NOTIFY goes ahead of resync work; tenants are
 * reconciled by a bounded pool of workers, one worker per tenant at a time (ReconcileQueue), each by
 * TenantReconciler. A resync first puts every hosted tenant's entry into the firewall table, so that after
 * a reboot every link is filtered before the first one goes up.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reconciler');
  private readonly waits = new TenantWaits(systemClock);
  private queue: ReconcileQueue | undefined;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  private sweepDue = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  private databaseDown = false;
  private listener: ChangeListener | undefined;
  private stopped = false;

  constructor(
    private readonly repository: ReconcilerRepository,
    private readonly host: HostAccess,
    private readonly tenants: TenantReconciler,
    private readonly teardown: TenantTeardown,
    private readonly firewall: FirewallSync,
    private readonly metrics: GovernorMetrics,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    @Inject(DATABASE_URL) private readonly databaseUrl: string,
  ) {}

  onApplicationBootstrap(): void {
    const driver = this.host.maybeCgroups();
    if (!driver) return;
    driver.fs.onWrite(() => this.metrics.cgroupWrites.inc());
    this.queue = new ReconcileQueue((name) => this.reconcileOne(driver, name), {
      workers: this.config.reconcileWorkers,
      idle: () => this.whenIdle(driver),
    });
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
    await this.resyncing;
    await this.queue?.stop();
  }

  /** Queues one tenant ahead of resync work, or (without a name) a resync of every tenant. */
  schedule(tenant?: string): void {
    if (this.stopped || !this.queue) return;
    if (tenant !== undefined) this.queue.add(tenant, 'change');
    else this.resync();
  }

  private resync(): void {
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    const driver = this.host.maybeCgroups();
    if (!driver) return;
    this.resyncing = this.queueEveryTenant(driver).finally(() => {
      this.resyncing = undefined;
      if (this.resyncAgain && !this.stopped) {
        this.resyncAgain = false;
        this.resync();
      }
    });
  }

  private async queueEveryTenant(driver: CgroupDriver): Promise<void> {
    try {
      const rows = await this.repository.liveTenants();
      const hosted = rows.filter((t) => !t.deletionRequestedAt && (t.nodes.length === 0 || t.nodes.includes(this.config.nodeName)));
      const allocations = await this.repository.allocations(hosted.map((t) => t.id));
      for (const tenant of hosted) {
        const allocation = allocations.get(tenant.id);
        if (!allocation || allocation.releasedAt !== null) continue;
        const addressing = { ...allocation, ipv6: tenantIpv6(this.config.net6Prefix, allocation) };
        this.firewall.set(tenant.name, firewallEntry(tenant.id, addressing, tenant.quota.network));
      }
      // One transaction for every hosted tenant, before any of their links is brought up by a worker; in
      // sync, it only compares the table with what was applied (a hand edit is repaired here). A failure is
      // in /readyz, and each link that would go up stays down with the reason.
      await this.firewall.sync().catch(() => undefined);
      if (this.databaseDown) this.logger.log('the database is back: reconciling every tenant');
      this.databaseDown = false;
      this.retryMs = 1000;
      this.sweepDue = true;
      for (const name of new Set([...rows.map((row) => row.name), ...driver.tenantsOnHost(), ...this.host.namespacesOnHost()])) this.queue?.add(name, 'resync');
    } catch (err) {
      this.databaseUnavailable(err);
    }
  }

  private async reconcileOne(driver: CgroupDriver, name: string): Promise<ReconcileOutcome | undefined> {
    try {
      return await this.tenants.reconcile(driver, name, this.waits);
    } catch (err) {
      if (!(err instanceof DesiredStateUnavailableError)) throw err;
      // Every tenant fails the same way while PostgreSQL is away: one warning, and one resync when it is back.
      this.databaseUnavailable(err.cause);
      return undefined;
    }
  }

  /** PostgreSQL is down (or the query failed): the kernel keeps the last applied state; a resync retries. */
  private databaseUnavailable(err: unknown): void {
    if (this.stopped) return;
    if (!this.databaseDown || this.retryTimer === undefined) {
      this.logger.warn({ err }, `reconcile pass failed; retrying in ${this.retryMs}ms with what the kernel already enforces`);
    }
    this.databaseDown = true;
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  /** Once a resync's tenants are done: the tenants deleted while a node was away. */
  private whenIdle(driver: CgroupDriver): void {
    if (!this.sweepDue || this.stopped) return;
    this.sweepDue = false;
    this.teardown
      .sweepQuarantine(driver)
      // A quarantined tenant's processes still exiting: its reconcile waits for them and frees the worker meanwhile.
      .then((emptying) => {
        for (const name of emptying) this.queue?.add(name, 'change');
      })
      .catch((err: unknown) => this.databaseUnavailable(err));
  }
}
