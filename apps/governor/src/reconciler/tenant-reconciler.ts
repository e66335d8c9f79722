import { basename } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Condition, degraded } from '../../../../libs/cgroup/src/condition';
import { CgroupNotEmptyError, type CgroupDriver, FREEZE_PENDING, THAW_PENDING } from '../../../../libs/cgroup/src/driver';
import { MEMORY_LIMIT_PENDING } from '../../../../libs/cgroup/src/tenant-apply';
import { applyTenantNetwork, firewallEntry } from '../../../../libs/network/src';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { appliedBefore, driftOf } from './drift';
import { FirewallSync } from './firewall-sync';
import type { ReconcileOutcome } from './reconcile-queue';
import { ReconcilerRepository, type TenantRecord } from './reconciler.repository';
import { TenantIsolation } from './tenant-isolation';
import { TenantStatusWriter } from './tenant-status.writer';
import { TenantTeardown } from './tenant-teardown';
import { type TenantWaits, type WaitKind } from './tenant-waits';

/** The database could not be read: not the tenant's failure, and nothing on the host was touched for it. */
export class DesiredStateUnavailableError extends Error {
  constructor(
    readonly tenant: string,
    cause: unknown,
  ) {
    super(`cannot read the desired state of ${tenant}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DesiredStateUnavailableError';
  }
}

interface NetworkStep {
  changes: string[];
  conditions: Condition[];
  uidBase?: number;
}

/**
 * One tenant, one reconcile: its cgroup, then its namespaces and link (filtered by the firewall before the
 * link goes up), then its init, then its status. What the kernel has not finished (reclaim, a freeze, a
 * kill) is looked at once and handed back as a requeue with the tenant's own deadline, never waited for
 * here. A failure ends up in this tenant's status and nowhere else.
 */
@Injectable()
export class TenantReconciler {
  private readonly logger = new Logger('reconciler');

  constructor(
    private readonly repository: ReconcilerRepository,
    private readonly host: HostAccess,
    private readonly metrics: GovernorMetrics,
    private readonly isolation: TenantIsolation,
    private readonly firewall: FirewallSync,
    private readonly status: TenantStatusWriter,
    private readonly teardown: TenantTeardown,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** `known`: the tenant as a resync read it with every other one; without it, the tenant is read fresh. */
  async reconcile(driver: CgroupDriver, name: string, waits: TenantWaits, known?: TenantRecord): Promise<ReconcileOutcome | undefined> {
    let tenant: TenantEntity | undefined;
    try {
      tenant = known !== undefined ? known.tenant : await this.repository.findTenant(name);
    } catch (err) {
      throw new DesiredStateUnavailableError(name, err);
    }
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      let outcome: ReconcileOutcome | undefined;
      if (!tenant || (tenant.nodes.length > 0 && !tenant.nodes.includes(this.config.nodeName))) {
        // Not (or no longer) ours to host: what cgroupfs still has of it is an orphan.
        outcome = await this.removeCgroup(driver, name, tenant?.generation ?? 0, waits);
        if (outcome === undefined) {
          await this.teardown.removeHostState(name, tenant?.id);
          await this.status.forget(name, tenant?.id);
        }
      } else if (tenant.deletionRequestedAt) {
        this.status.terminating(tenant);
        outcome = await this.removeCgroup(driver, name, tenant.generation, waits);
        if (outcome === undefined) {
          await this.teardown.removeWorkloadRemains(driver, tenant);
          await this.teardown.removeHostState(name, tenant.id);
          await this.status.save(tenant, 'Deleted', [], null);
          await this.teardown.finishDeletion(tenant);
        }
      } else {
        outcome = await this.apply(driver, tenant, waits, known);
      }
      this.metrics.reconcileTotal.inc({ result: 'success' });
      return outcome;
    } catch (err) {
      this.metrics.reconcileTotal.inc({ result: 'error' });
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ err, tenant: name }, `reconcile of ${name} failed: ${message}`);
      if (tenant) {
        await this.status
          .save(tenant, 'Error', [{ type: 'Reconciled', status: 'False', reason: 'ReconcileFailed', message }], driver.tenantPath(name), false)
          .catch(() => undefined);
      }
      return undefined;
    } finally {
      end();
    }
  }

  /**
   * cgroup.kill and one look: a tenant whose processes are still exiting comes back later, and its status
   * says so once the kill is overdue. Undefined when the cgroup is gone.
   */
  private async removeCgroup(driver: CgroupDriver, name: string, generation: number, waits: TenantWaits): Promise<ReconcileOutcome | undefined> {
    try {
      if (driver.hasTenant(name)) await driver.removeTenant(name, 0);
      waits.done(name);
      return undefined;
    } catch (err) {
      if (!(err instanceof CgroupNotEmptyError)) throw err;
      const wait = waits.wait(name, 'kill', generation);
      if (wait.overdue) this.logger.warn({ tenant: name, waitedMs: wait.waitedMs }, `${name}: processes still running ${wait.waitedMs}ms after the kill`);
      return { requeueAfterMs: wait.retryAfterMs };
    }
  }

  private async apply(driver: CgroupDriver, tenant: TenantEntity, waits: TenantWaits, known?: TenantRecord): Promise<ReconcileOutcome | undefined> {
    const previous = known !== undefined ? known.status : await this.repository.status(tenant.id, this.config.nodeName);
    const inSync = appliedBefore(previous, tenant.generation);
    const result = await driver.applyTenant(tenant.name, tenant.quota, {
      force: tenant.forceGeneration === tenant.generation,
      reclaimTimeoutMs: 0,
      freezeTimeoutMs: 0,
      waitedMs: waits.waitedMs(tenant.name, tenant.generation),
      suspended: tenant.suspended,
      owner: tenant.id,
    });
    if (result.replaced !== undefined)
      this.logger.warn({ tenant: tenant.name, tenantId: tenant.id, previous: result.replaced }, 'tore down the cgroup of a deleted tenant of the same name');
    // A change to a generation already applied here was made behind Governor's back: drift.
    for (const change of driftOf(previous, tenant.generation, result.changes)) {
      this.metrics.driftCorrections.inc({ tenant: tenant.name, file: basename(change.file) });
      this.logger.warn({ tenant: tenant.name, ...change }, 'corrected drift');
    }
    // A tenant cgroup removed behind Governor's back and made again is one correction, whatever it held.
    if (inSync && result.created.length > 0) {
      this.metrics.driftCorrections.inc({ tenant: tenant.name, file: 'cgroup' });
      this.logger.warn({ tenant: tenant.name, created: result.created }, 'corrected drift: made the tenant cgroup again');
    }
    const conditions: Condition[] = result.conditions;
    const wait = this.waitOf(conditions, tenant, waits);

    const network = await this.applyNetwork(tenant, known);
    conditions.push(...network.conditions);
    // The init joins the network namespace and the user namespace made above: without them it cannot start.
    let isolation = previous?.isolation ?? null;
    if (network.uidBase !== undefined) {
      const made = await this.isolation.ensure(tenant, network.uidBase, isolation);
      conditions.push(...made.conditions);
      isolation = made.status;
      for (const change of made.changes) this.logger.log({ tenant: tenant.name, change }, 'tenant isolation');
    }
    if (inSync) {
      for (const change of network.changes) {
        this.metrics.driftCorrections.inc({ tenant: tenant.name, file: 'network' });
        this.logger.warn({ tenant: tenant.name, change }, 'corrected network drift');
      }
    }
    // Within its deadline a wait is not news: the status keeps what it said until the kernel is done, or the
    // deadline passes and the status says what the tenant waits for.
    if (wait !== undefined && !wait.overdue) return { requeueAfterMs: wait.retryAfterMs };
    const phase = conditions.some((c) => c.type === 'Degraded') ? 'Degraded' : tenant.suspended ? 'Suspended' : 'Ready';
    await this.status.save(tenant, phase, conditions, driver.tenantPath(tenant.name), true, isolation, previous);
    return wait === undefined ? undefined : { requeueAfterMs: wait.retryAfterMs };
  }

  /** What the cgroup step left for the kernel to finish, as a wait with the tenant's deadline. */
  private waitOf(conditions: readonly Condition[], tenant: TenantEntity, waits: TenantWaits): ReturnType<TenantWaits['wait']> | undefined {
    const reasons = new Set(conditions.map((c) => c.reason));
    const kind: WaitKind | undefined = reasons.has(MEMORY_LIMIT_PENDING)
      ? 'reclaim'
      : reasons.has(FREEZE_PENDING) || reasons.has(THAW_PENDING)
        ? 'freeze'
        : undefined;
    if (kind === undefined) {
      waits.done(tenant.name);
      return undefined;
    }
    return waits.wait(tenant.name, kind, tenant.generation);
  }

  /**
   * The tenant's namespaces, veth, addresses and bandwidth, with its firewall entry in the table before its
   * link goes up. A failure here degrades the tenant (its cgroup limits still hold) rather than failing the
   * whole reconcile; a link whose filter could not be applied stays down.
   */
  private async applyNetwork(tenant: TenantEntity, known?: TenantRecord): Promise<NetworkStep> {
    const allocation = known !== undefined ? known.allocation : await this.repository.allocation(tenant.id);
    if (!allocation || allocation.releasedAt !== null) {
      return { changes: [], conditions: [degraded('NotAllocated', 'the tenant has no uid range or address block; it was created before allocation existed')] };
    }
    const addressing = {
      uidBase: allocation.uidRange.start,
      hostAddress: allocation.hostAddress,
      tenantAddress: allocation.tenantAddress,
      prefix: allocation.prefix,
      ipv6: tenantIpv6(this.config.net6Prefix, allocation),
    };
    this.firewall.set(tenant.name, firewallEntry(tenant.id, addressing, tenant.quota.network));
    try {
      const result = await applyTenantNetwork(this.host.namespaces(), tenant.name, tenant.id, addressing, tenant.quota.network, {
        beforeUp: () => this.firewall.cover(tenant.name),
      });
      const conditions: Condition[] = [];
      // A link that was up already and whose entry changed (the outside opted in or out): the table follows.
      await this.firewall.cover(tenant.name).catch((err: unknown) => {
        conditions.push(degraded('FirewallFailed', err instanceof Error ? err.message : String(err)));
      });
      return { changes: result.changes, conditions, uidBase: allocation.uidRange.start };
    } catch (err) {
      return { changes: [], conditions: [degraded('NetworkFailed', `namespaces or link not in place: ${err instanceof Error ? err.message : String(err)}`)] };
    }
  }
}
