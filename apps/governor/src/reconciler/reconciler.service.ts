import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { CgroupDriver } from '../../../../libs/cgroup/src/driver';
import { firewallEntry } from '../../../../libs/network/src';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from '../metrics/governor.metrics';
import type { ChangeHandlers } from './change-listener';
import { FirewallSync } from './firewall-sync';
import { type Clock, ReconcileQueue, type ReconcileOutcome, type ReconcilePriority } from './reconcile-queue';
import { ReconcilerRepository, type TenantRecord } from './reconciler.repository';
import { desiredOf, QuietTenants } from './quiet-tenants';
import { ResyncRecords } from './resync-records';
import { DesiredStateUnavailableError, TenantReconciler } from './tenant-reconciler';
import { TenantTeardown } from './tenant-teardown';
import { TenantWaits } from './tenant-waits';

const MAX_RETRY_MS = 30_000;

/** The NOTIFY channel as the reconciler hears it: LISTEN in the service, a hand-driven fake in unit tests. */
export interface ChangeFeed {
  listen(handlers: ChangeHandlers): { stop(): Promise<void> };
}
export const CHANGE_FEED = Symbol('CHANGE_FEED');
/** The clock the resync interval, the retries and the waits run on. */
export const RECONCILER_CLOCK = Symbol('RECONCILER_CLOCK');

/** What the service needs of the host's cgroups: the writes it counts and the tenants cgroupfs has. */
export interface HostCgroups {
  readonly fs: { onWrite(listener: () => void): void };
  tenantsOnHost(): string[];
}
/** The host, once prepared: its cgroup driver (undefined before, or in a role that does not touch it) and namespaces. */
export interface ReconcilerHost<D> {
  maybeCgroups(): D | undefined;
  namespacesOnHost(): string[];
}
export interface TenantReconcile<D> {
  reconcile(driver: D, name: string, waits: TenantWaits, known?: TenantRecord): Promise<ReconcileOutcome | undefined>;
}
export interface QuarantineSweep<D> {
  /** The names whose processes are still exiting after their kill: each is reconciled again to wait for them. */
  sweepQuarantine(driver: D): Promise<string[]>;
}
export type ReconcilerStore = Pick<ReconcilerRepository, 'liveRecords'>;
export type ReconcilerFirewall = Pick<FirewallSync, 'set' | 'sync'>;
export type ReconcilerMetrics = Pick<GovernorMetrics, 'cgroupWrites' | 'reconcileTotal'>;
export type ReconcilerQuiet = Pick<QuietTenants, 'refresh' | 'quiet'>;

/**
 * The level-triggered loop's scheduling: desired state from PostgreSQL, woken by NOTIFY, by a periodic
 * resync and by every reconnect. A tenant named in a NOTIFY goes ahead of resync work; tenants are
 * reconciled by a bounded pool of workers, one worker per tenant at a time (ReconcileQueue), each by
 * TenantReconciler. A resync reads every tenant, its allocation and this node's status in one go, and hands
 * each worker its tenant's record (ResyncRecords), while a NOTIFY's reconcile reads its tenant fresh. It
 * first puts every hosted tenant's entry into the firewall table, so that after a reboot every link is
 * filtered before the first one goes up.
 */
@Injectable()
export class ReconcilerService<D extends HostCgroups = CgroupDriver> implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reconciler');
  private readonly waits: TenantWaits;
  private readonly records = new ResyncRecords<TenantRecord>();
  private queue: ReconcileQueue | undefined;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  private sweepDue = false;
  private resyncTimer: { cancel(): void } | undefined;
  private retryTimer: { cancel(): void } | undefined;
  private retryMs = 1000;
  private databaseDown = false;
  private listener: { stop(): Promise<void> } | undefined;
  private stopped = false;

  constructor(
    @Inject(ReconcilerRepository) private readonly repository: ReconcilerStore,
    @Inject(HostAccess) private readonly host: ReconcilerHost<D>,
    @Inject(TenantReconciler) private readonly tenants: TenantReconcile<D>,
    @Inject(TenantTeardown) private readonly teardown: QuarantineSweep<D>,
    @Inject(FirewallSync) private readonly firewall: ReconcilerFirewall,
    @Inject(GovernorMetrics) private readonly metrics: ReconcilerMetrics,
    @Inject(GOVERNOR_CONFIG) private readonly config: Pick<GovernorConfig, 'nodeName' | 'net6Prefix' | 'reconcileWorkers' | 'resyncIntervalMs'>,
    @Inject(CHANGE_FEED) private readonly changes: ChangeFeed,
    @Inject(RECONCILER_CLOCK) private readonly clock: Clock,
    @Inject(QuietTenants) private readonly quiet: ReconcilerQuiet,
  ) {
    this.waits = new TenantWaits(clock);
  }

  onApplicationBootstrap(): void {
    const driver = this.host.maybeCgroups();
    if (!driver) return;
    driver.fs.onWrite(() => this.metrics.cgroupWrites.inc());
    this.queue = new ReconcileQueue((name, priority) => this.reconcileOne(driver, name, priority), {
      workers: this.config.reconcileWorkers,
      clock: this.clock,
      idle: () => this.whenIdle(driver),
    });
    this.listener = this.changes.listen({ changed: (tenant) => this.schedule(tenant), connected: () => this.schedule() });
    this.everyResyncInterval();
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.resyncTimer?.cancel();
    this.retryTimer?.cancel();
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

  /** Resolves once no resync is being read and no tenant is queued or running (for tests). */
  async settled(): Promise<void> {
    while (this.resyncing !== undefined || (this.queue?.depth ?? 0) > 0) {
      await this.resyncing;
      await this.queue?.settled();
    }
  }

  private everyResyncInterval(): void {
    this.resyncTimer = this.clock.after(this.config.resyncIntervalMs, () => {
      if (this.stopped) return;
      this.everyResyncInterval();
      this.schedule();
    });
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

  private async queueEveryTenant(driver: D): Promise<void> {
    try {
      const readAt = this.records.readStarts();
      const records = await this.repository.liveRecords(this.config.nodeName);
      for (const { tenant, allocation } of records) {
        const hosted = !tenant.deletionRequestedAt && (tenant.nodes.length === 0 || tenant.nodes.includes(this.config.nodeName));
        if (!hosted || !allocation || allocation.releasedAt !== null) continue;
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
      this.records.keep(readAt, new Map(records.map((record) => [record.tenant.name, record])));
      // A tenant found in sync that nothing has touched since (QuietTenants) is not read again this time.
      this.quiet.refresh();
      const quiet = new Set(records.filter((r) => this.quiet.quiet(r.tenant.name, desiredOf(r.tenant, r.allocation))).map((r) => r.tenant.name));
      if (quiet.size > 0) this.metrics.reconcileTotal.inc({ result: 'skipped' }, quiet.size);
      const names = new Set([...records.map((record) => record.tenant.name), ...driver.tenantsOnHost(), ...this.host.namespacesOnHost()]);
      for (const name of names) if (!quiet.has(name)) this.queue?.add(name, 'resync');
    } catch (err) {
      this.databaseUnavailable(err);
    }
  }

  private async reconcileOne(driver: D, name: string, priority: ReconcilePriority): Promise<ReconcileOutcome | undefined> {
    const known = this.records.start(name, priority);
    try {
      return await this.tenants.reconcile(driver, name, this.waits, known);
    } catch (err) {
      if (!(err instanceof DesiredStateUnavailableError)) throw err;
      // Every tenant fails the same way while PostgreSQL is away: one warning, and one resync when it is back.
      this.databaseUnavailable(err.cause);
      return undefined;
    } finally {
      this.records.end(name);
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
    this.retryTimer = this.clock.after(this.retryMs, () => {
      this.retryTimer = undefined;
      this.schedule();
    });
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  /** Once a resync's tenants are done: the tenants deleted while a node was away. */
  private whenIdle(driver: D): void {
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
