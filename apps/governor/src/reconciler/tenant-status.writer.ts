import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import type { TenantEntity, TenantIsolationStatus } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { TenantCatalog } from '../metrics/tenant-catalog';
import { FirewallSync } from './firewall-sync';
import { ReconcilerRepository, type TenantStatusRow, type TenantStatusWrite } from './reconciler.repository';

/** The part of the repository the writer uses, so that a unit test hands it a typed fake. */
export type TenantStatusStore = Pick<ReconcilerRepository, 'status' | 'saveStatus' | 'deleteStatus'>;

/**
 * Writes a tenant's status on this node, and keeps the metrics catalog (what a scrape knows of the tenant)
 * in step with it.
 */
@Injectable()
export class TenantStatusWriter {
  constructor(
    @Inject(ReconcilerRepository) private readonly repository: TenantStatusStore,
    private readonly catalog: TenantCatalog,
    private readonly firewall: FirewallSync,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /**
   * `observed` false keeps the generation last observed (a failed reconcile applied nothing for sure);
   * `isolation` absent keeps the row's. `stored`, the row as this reconcile read it before applying: a status
   * that means the same is not written again, so a pass over tenants in sync writes no row.
   */
  async save(
    tenant: TenantEntity,
    phase: string,
    conditions: Condition[],
    cgroupPath: string | null,
    observed = true,
    isolation?: TenantIsolationStatus | null,
    stored?: TenantStatusRow,
  ): Promise<void> {
    if (phase === 'Deleted') this.catalog.deleteTenant(tenant.name);
    else this.catalog.setTenant({ name: tenant.name, id: tenant.id, hostInterface: this.firewall.entry(tenant.name)?.hostInterface, phase });
    const previous = observed ? undefined : await this.repository.status(tenant.id, this.config.nodeName);
    const status: TenantStatusWrite = {
      observedGeneration: observed ? tenant.generation : (previous?.observedGeneration ?? 0),
      phase,
      conditions,
      cgroupPath,
      ...(isolation !== undefined && { isolation }),
    };
    if (stored !== undefined && sameStatus(stored, status)) return;
    await this.repository.saveStatus(tenant.id, this.config.nodeName, status);
  }

  /** The tenant is not this node's (any more): no status, no series. */
  async forget(name: string, tenantId: string | undefined): Promise<void> {
    this.catalog.deleteTenant(name);
    if (tenantId !== undefined) await this.repository.deleteStatus(tenantId, this.config.nodeName);
  }

  terminating(tenant: TenantEntity): void {
    this.catalog.setTenant({ name: tenant.name, id: tenant.id, hostInterface: undefined, phase: 'Terminating' });
  }
}

/**
 * Whether writing `next` would leave the stored row meaning the same. The JSON columns come back from
 * PostgreSQL as jsonb gives them (keys reordered, undefined members absent), so they are compared as JSON
 * values, not as text or objects.
 */
export function sameStatus(stored: TenantStatusRow, next: TenantStatusWrite): boolean {
  const json = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
  return (
    stored.observedGeneration === next.observedGeneration &&
    stored.phase === next.phase &&
    stored.cgroupPath === next.cgroupPath &&
    isDeepStrictEqual(json(stored.conditions), json(next.conditions)) &&
    (next.isolation === undefined || isDeepStrictEqual(json(stored.isolation), json(next.isolation)))
  );
}
