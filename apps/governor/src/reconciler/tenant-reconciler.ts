import { basename } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Condition, degraded } from '../../../../libs/cgroup/src/condition';
import { CgroupNotEmptyError, type CgroupDriver, FREEZE_PENDING, THAW_PENDING, type TenantApplyResult } from '../../../../libs/cgroup/src/driver';
import { MEMORY_LIMIT_PENDING } from '../../../../libs/cgroup/src/tenant-apply';
import { firewallEntry } from '../../../../libs/network/src';
import { tenantIpv6 } from '../../../../libs/network/src/ipv6';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { appliedBefore, driftOf } from './drift';
import { FirewallSync } from './firewall-sync';
import { desiredOf, QuietTenants } from './quiet-tenants';
import type { ReconcileOutcome } from './reconcile-queue';
import { ReconcilerRepository, type TenantRecord } from './reconciler.repository';
import { TenantIsolation } from './tenant-isolation';
import { TenantNetwork } from './tenant-network';
import { TenantStatusWriter } from './tenant-status.writer';
import { TenantTeardown } from './tenant-teardown';
import { type TenantWaits, type WaitKind, type WaitState } from './tenant-waits';

/** Condition reason of a cgroup.kill whose processes have not all exited by the tenant's kill deadline. */
export const KILL_PENDING = 'KillTimeout';

/** What a reconcile needs of the cgroup driver (the service hands it the real one; unit tests a typed double). */
export type TenantCgroups = Pick<CgroupDriver, 'applyTenant' | 'hasTenant' | 'removeTenant' | 'tenantPath' | 'removeWorkload'>;
/** What a reconcile needs of the reconciler's SQL. */
export type TenantReconcileStore = Pick<ReconcilerRepository, 'findTenant' | 'status' | 'allocation'>;

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
  /** the allocation applied (undefined: none) */
  allocation?: TenantRecord['allocation'];
  /** what the kernel's link events name, when nothing was changed */
  link?: { hostIndex: number; nsid: number };
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
    @Inject(ReconcilerRepository) private readonly repository: TenantReconcileStore,
    @Inject(TenantNetwork) private readonly network: Pick<TenantNetwork, 'apply'>,
    private readonly metrics: GovernorMetrics,
    @Inject(TenantIsolation) private readonly isolation: Pick<TenantIsolation, 'ensure'>,
    @Inject(FirewallSync) private readonly firewall: Pick<FirewallSync, 'set' | 'cover'>,
    @Inject(TenantStatusWriter) private readonly status: Pick<TenantStatusWriter, 'save' | 'forget' | 'terminating'>,
    @Inject(TenantTeardown) private readonly teardown: Pick<TenantTeardown, 'removeWorkloadRemains' | 'removeHostState' | 'finishDeletion'>,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    @Inject(QuietTenants) private readonly quiet: Pick<QuietTenants, 'starts' | 'inSync' | 'forget'>,
  ) {}

  /** `known`: the tenant as a resync read it with every other one; without it, the tenant is read fresh. */
  async reconcile(driver: TenantCgroups, name: string, waits: TenantWaits, known?: TenantRecord): Promise<ReconcileOutcome | undefined> {
    let tenant: TenantEntity | undefined;
    try {
      tenant = known !== undefined ? known.tenant : await this.step('read', () => this.repository.findTenant(name));
    } catch (err) {
      throw new DesiredStateUnavailableError(name, err);
    }
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      let outcome: ReconcileOutcome | undefined;
      if (!tenant || tenant.deletionRequestedAt || (tenant.nodes.length > 0 && !tenant.nodes.includes(this.config.nodeName))) this.quiet.forget(name);
      if (!tenant || (tenant.nodes.length > 0 && !tenant.nodes.includes(this.config.nodeName))) {
        // Not (or no longer) ours to host: what cgroupfs still has of it is an orphan.
        outcome = await this.removeCgroup(driver, name, tenant, waits);
        if (outcome === undefined) {
          await this.teardown.removeHostState(name, tenant?.id);
          await this.status.forget(name, tenant?.id);
        }
      } else if (tenant.deletionRequestedAt) {
        this.status.terminating(tenant);
        outcome = await this.removeCgroup(driver, name, tenant, waits);
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
      this.quiet.forget(name);
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

  /** One step of a reconcile, timed into governor_reconcile_step_duration_seconds{step}. */
  private async step<T>(step: 'read' | 'cgroup' | 'network' | 'isolation' | 'status', run: () => Promise<T>): Promise<T> {
    const end = this.metrics.reconcileStepDuration.startTimer({ step });
    try {
      return await run();
    } finally {
      end();
    }
  }

  /**
   * cgroup.kill and one look: a tenant whose processes are still exiting comes back later. Once the kill is
   * overdue it is said once: in the log, and in the status of a tenant being deleted (an orphan has none).
   * Undefined when the cgroup is gone.
   */
  private async removeCgroup(driver: TenantCgroups, name: string, tenant: TenantEntity | undefined, waits: TenantWaits): Promise<ReconcileOutcome | undefined> {
    try {
      if (driver.hasTenant(name)) await driver.removeTenant(name, 0);
      waits.done(name);
      return undefined;
    } catch (err) {
      if (!(err instanceof CgroupNotEmptyError)) throw err;
      const wait = waits.wait(name, 'kill', tenant?.generation ?? 0);
      if (wait.newlyOverdue) {
        const message = `processes of ${err.dir} still running ${wait.waitedMs}ms after cgroup.kill (tasks in D state?); the cgroup is removed once they have exited`;
        this.logger.warn({ tenant: name, waitedMs: wait.waitedMs }, `${name}: ${message}`);
        if (tenant?.deletionRequestedAt) await this.status.save(tenant, 'Terminating', [degraded(KILL_PENDING, message)], driver.tenantPath(name), false);
      }
      return { requeueAfterMs: wait.retryAfterMs };
    }
  }

  private async apply(driver: TenantCgroups, tenant: TenantEntity, waits: TenantWaits, known?: TenantRecord): Promise<ReconcileOutcome | undefined> {
    const previous = known !== undefined ? known.status : await this.step('read', () => this.repository.status(tenant.id, this.config.nodeName));
    const inSync = appliedBefore(previous, tenant.generation);
    // Watched from here on: a change after this check's reads makes the tenant's next resync a full check again.
    const check = await this.quiet.starts(tenant.name, driver.tenantPath(tenant.name), previous?.isolation?.init.pid);
    let result: TenantApplyResult;
    try {
      result = await this.step('cgroup', () =>
        driver.applyTenant(tenant.name, tenant.quota, {
          force: tenant.forceGeneration === tenant.generation,
          reclaimTimeoutMs: 0,
          freezeTimeoutMs: 0,
          killTimeoutMs: 0,
          waitedMs: waits.waitedMs(tenant.name, tenant.generation),
          suspended: tenant.suspended,
          owner: tenant.id,
        }),
      );
    } catch (err) {
      if (!(err instanceof CgroupNotEmptyError)) throw err;
      // A deleted tenant's cgroup of the same name is still emptying after its kill: nothing of this tenant
      // goes in before it is gone, and the worker is free meanwhile.
      const wait = waits.wait(tenant.name, 'kill', tenant.generation);
      if (wait.newlyOverdue) {
        const message = `the cgroup ${err.dir} of a deleted tenant of the same name (id ${err.owner ?? 'unknown'}) still has processes ${wait.waitedMs}ms after cgroup.kill (tasks in D state?); this tenant's cgroup is made once it is empty`;
        this.logger.warn({ tenant: tenant.name, tenantId: tenant.id, previous: err.owner, waitedMs: wait.waitedMs }, message);
        await this.status.save(tenant, 'Degraded', [degraded(KILL_PENDING, message)], driver.tenantPath(tenant.name), false);
      }
      return { requeueAfterMs: wait.retryAfterMs };
    }
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

    const network = await this.step('network', () => this.applyNetwork(tenant, known));
    conditions.push(...network.conditions);
    // The init joins the network namespace and the user namespace made above: without them it cannot start.
    let isolation = previous?.isolation ?? null;
    let initKill: CgroupNotEmptyError | undefined;
    let isolationChanges = 0;
    if (network.uidBase !== undefined) {
      const uidBase = network.uidBase;
      const made = await this.step('isolation', () => this.isolation.ensure(tenant, uidBase, isolation));
      conditions.push(...made.conditions);
      isolation = made.status;
      initKill = made.killPending;
      isolationChanges = made.changes.length;
      for (const change of made.changes) this.logger.log({ tenant: tenant.name, change }, 'tenant isolation');
    }
    const wait = this.waitOf(conditions, initKill, tenant, waits);
    if (initKill !== undefined && wait?.overdue === true) {
      const message = `the old tenant init's leaf ${initKill.dir} still has processes ${wait.waitedMs}ms after cgroup.kill (tasks in D state?); a new init starts once it is empty`;
      conditions.push(degraded(KILL_PENDING, message));
      if (wait.newlyOverdue) this.logger.warn({ tenant: tenant.name, waitedMs: wait.waitedMs }, message);
    }
    if (inSync) {
      for (const change of network.changes) {
        this.metrics.driftCorrections.inc({ tenant: tenant.name, file: 'network' });
        this.logger.warn({ tenant: tenant.name, change }, 'corrected network drift');
      }
    }
    // Within its deadline a wait is not news: the status keeps what it said until the kernel is done, or the
    // deadline passes and the status says what the tenant waits for.
    if (wait !== undefined && !wait.overdue) {
      this.quiet.forget(tenant.name);
      return { requeueAfterMs: wait.retryAfterMs };
    }
    const phase = conditions.some((c) => c.type === 'Degraded') ? 'Degraded' : tenant.suspended ? 'Suspended' : 'Ready';
    await this.step('status', () => this.status.save(tenant, phase, conditions, driver.tenantPath(tenant.name), true, isolation, previous));
    const untouched =
      wait === undefined &&
      phase !== 'Degraded' &&
      result.changes.length === 0 &&
      result.created.length === 0 &&
      result.replaced === undefined &&
      network.changes.length === 0 &&
      isolationChanges === 0;
    if (untouched) this.quiet.inSync(tenant.name, check, desiredOf(tenant, network.allocation), isolation?.init.pid ?? null, network.link);
    else this.quiet.forget(tenant.name);
    return wait === undefined ? undefined : { requeueAfterMs: wait.retryAfterMs };
  }

  /**
   * What the cgroup step (reclaim, a freeze) or the init step (the old init's leaf emptying after its kill)
   * left for the kernel to finish, as a wait with the tenant's deadline; the cgroup's wait is looked at first.
   */
  private waitOf(conditions: readonly Condition[], initKill: CgroupNotEmptyError | undefined, tenant: TenantEntity, waits: TenantWaits): WaitState | undefined {
    const reasons = new Set(conditions.map((c) => c.reason));
    const kind: WaitKind | undefined = reasons.has(MEMORY_LIMIT_PENDING)
      ? 'reclaim'
      : reasons.has(FREEZE_PENDING) || reasons.has(THAW_PENDING)
        ? 'freeze'
        : initKill !== undefined
          ? 'kill'
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
      const result = await this.network.apply(tenant.name, tenant.id, addressing, tenant.quota.network, {
        beforeUp: () => this.firewall.cover(tenant.name),
      });
      const conditions: Condition[] = [];
      // A link that was up already and whose entry changed (the outside opted in or out): the table follows.
      await this.firewall.cover(tenant.name).catch((err: unknown) => {
        conditions.push(degraded('FirewallFailed', err instanceof Error ? err.message : String(err)));
      });
      return { changes: result.changes, conditions, uidBase: allocation.uidRange.start, allocation, link: result.link };
    } catch (err) {
      return { changes: [], conditions: [degraded('NetworkFailed', `namespaces or link not in place: ${err instanceof Error ? err.message : String(err)}`)] };
    }
  }
}
