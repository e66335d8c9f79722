import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CgroupNotEmptyError, type CgroupDriver } from '../../../../libs/cgroup/src/driver';
import { hostInterfaceName, removeLink, removeTenantNetwork } from '../../../../libs/network/src';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { removeState } from '../../../../libs/workloads/src/monitor';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { HostAccess } from '../host/host.access';
import { NodesService } from '../nodes/nodes.service';
import { QuarantineRelease } from '../quarantine/quarantine.release';
import { FirewallSync } from './firewall-sync';
import { ReconcilerRepository } from './reconciler.repository';
import { TenantIsolation } from './tenant-isolation';

/** What the teardown needs of the reconciler's SQL (a typed double in unit tests). */
export type TenantTeardownStore = Pick<
  ReconcilerRepository,
  'workloadIds' | 'nodesTornDown' | 'tombstone' | 'quarantined' | 'status' | 'existsLive' | 'markTornDown'
>;

/**
 * Takes a tenant off this host: its cgroups (the caller kills them first), workload remains, link,
 * namespaces, init and home; confirms the teardown, and tombstones the tenant once every node has.
 */
@Injectable()
export class TenantTeardown {
  private readonly logger = new Logger('reconciler');

  constructor(
    @Inject(ReconcilerRepository) private readonly repository: TenantTeardownStore,
    @Inject(HostAccess) private readonly host: Pick<HostAccess, 'namespaces' | 'homes'>,
    @Inject(NodesService) private readonly nodes: Pick<NodesService, 'alive'>,
    @Inject(TenantIsolation) private readonly isolation: Pick<TenantIsolation, 'remove'>,
    @Inject(FirewallSync) private readonly firewall: Pick<FirewallSync, 'delete' | 'sync'>,
    @Inject(QuarantineRelease) private readonly release: Pick<QuarantineRelease, 'kick'>,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** Everything of the tenant but its cgroup: link and namespaces, init and home. */
  async removeHostState(name: string, tenantId: string | undefined): Promise<void> {
    const inTable = this.firewall.delete(name);
    await removeTenantNetwork(this.host.namespaces(), name, tenantId);
    // The link is gone, so its rules match nothing; the table drops them in the next apply, coalesced with others.
    if (inTable) await this.firewall.sync().catch(() => undefined);
    await this.isolation.remove(name, tenantId);
  }

  /**
   * The state directories of a deleted tenant's workloads, and monitor cgroups that an older governor left
   * outside the tenant (the tenant's own removal takes the monitors' leaves inside it).
   */
  async removeWorkloadRemains(driver: Pick<CgroupDriver, 'removeWorkload'>, tenant: TenantEntity): Promise<void> {
    for (const id of await this.repository.workloadIds(tenant.id, this.config.nodeName)) {
      await driver.removeWorkload(tenant.name, id);
      await removeState(join(this.config.runDir, 'workloads', id));
    }
  }

  /**
   * Tombstones a deleted tenant once every live node that hosts it has torn it down; its blocks go to quarantine,
   * and the quarantine release (the fleet's lease holder) frees them once every node that hosted it confirmed.
   */
  async finishDeletion(tenant: TenantEntity): Promise<void> {
    const alive = await this.nodes.alive();
    const hosts = tenant.nodes.length > 0 ? tenant.nodes.filter((node) => alive.includes(node)) : alive;
    const done = await this.repository.nodesTornDown(tenant.id);
    if (!hosts.every((node) => done.includes(node))) return;
    await this.repository.tombstone(tenant.id);
    this.release.kick();
  }

  /**
   * Confirms this node's teardown of tenants whose uid blocks wait in quarantine (tombstoned while a node that
   * hosted them was down), tearing down what is left of them here first. Releasing a block once every node that
   * hosted its tenant has confirmed is the quarantine release's, a fleet-wide job under a lease: this node only
   * wakes it after a confirmation (it acts if this process holds the lease). A name taken again by a live tenant is that tenant's now: only
   * the old tenant's home image, keyed by its id, is removed then.
   *
   * A cgroup whose processes are still exiting after its cgroup.kill is not waited for: its name is returned,
   * for the caller to queue. The reconcile of that name (an orphan now) owns the wait with the tenant's kill
   * deadline, and a later sweep confirms the teardown. A host that cannot tear a tenant down (its namespaces
   * unavailable after a failed setup, say) is logged as that, for that tenant: only the database's failures
   * end the sweep, so that a host problem is never reported as a database outage.
   */
  async sweepQuarantine(driver: Pick<CgroupDriver, 'hasTenant' | 'removeTenant'>): Promise<string[]> {
    const emptying: string[] = [];
    let confirmed = 0;
    for (const { tenantId, name } of await this.repository.quarantined()) {
      const row = await this.repository.status(tenantId, this.config.nodeName);
      if (row && row.phase !== 'Deleted') {
        const live = await this.repository.existsLive(name);
        let left: 'nothing' | 'emptying';
        try {
          left = await this.tearDownQuarantined(driver, name, tenantId, live);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.logger.error({ err, tenant: name, tenantId }, `the teardown of quarantined tenant ${name} on this node failed: ${message}`);
          continue;
        }
        if (left === 'emptying') {
          emptying.push(name);
          continue;
        }
        await this.repository.markTornDown(tenantId, this.config.nodeName);
        confirmed += 1;
        this.logger.log({ tenant: name, tenantId }, 'confirmed the teardown of a quarantined tenant on this node');
      }
    }
    if (confirmed > 0) this.release.kick();
    return emptying;
  }

  private async tearDownQuarantined(
    driver: Pick<CgroupDriver, 'hasTenant' | 'removeTenant'>,
    name: string,
    tenantId: string,
    nameTakenAgain: boolean,
  ): Promise<'nothing' | 'emptying'> {
    if (nameTakenAgain) {
      // The name is the new tenant's now (its cgroup and namespaces were checked by owner and rebuilt):
      // only what is keyed by the old tenant's id is left, its home image and its link.
      await this.host.homes().removeImage(tenantId);
      await removeLink(hostInterfaceName(tenantId));
      return 'nothing';
    }
    try {
      if (driver.hasTenant(name)) await driver.removeTenant(name, 0);
    } catch (err) {
      if (err instanceof CgroupNotEmptyError) return 'emptying';
      throw err;
    }
    await this.removeHostState(name, tenantId);
    return 'nothing';
  }
}
