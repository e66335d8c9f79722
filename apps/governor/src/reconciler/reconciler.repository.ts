import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import { allocationOf, allocationsOf, quarantinedTenants, quarantineTenant, type StoredAllocation } from '../../../../libs/persistence/src/allocation';
import { TenantEntity, type TenantIsolationStatus, TenantStatusEntity, WorkloadEntity } from '../../../../libs/persistence/src/entities';

/** A tenant's status row on one node, as the reconciler reads and writes it. */
export interface TenantStatusRow {
  observedGeneration: number;
  phase: string;
  conditions: Condition[];
  cgroupPath: string | null;
  isolation: TenantIsolationStatus | null;
}

/** The status the reconciler writes; `isolation` absent keeps what the row has. */
export interface TenantStatusWrite {
  observedGeneration: number;
  phase: string;
  conditions: Condition[];
  cgroupPath: string | null;
  isolation?: TenantIsolationStatus | null;
}

/** A tenant as one reconcile needs it: its row, its uid and address blocks, and this node's status. */
export interface TenantRecord {
  tenant: TenantEntity;
  allocation: StoredAllocation | undefined;
  status: TenantStatusRow | undefined;
}

/** The SQL of the reconciler: desired state in, status out. Nothing here touches the host. */
@Injectable()
export class ReconcilerRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The live tenant of that name (deletion requested or not); undefined once it is tombstoned or never was. */
  async findTenant(name: string): Promise<TenantEntity | undefined> {
    return (await this.db.getRepository(TenantEntity).findOneBy({ name, deletedAt: IsNull() })) ?? undefined;
  }

  /**
   * Every live tenant with its allocation and this node's status: three queries for a whole resync, where
   * reading each tenant on its own costs three per tenant.
   */
  async liveRecords(node: string): Promise<TenantRecord[]> {
    const tenants = await this.db.getRepository(TenantEntity).find({ where: { deletedAt: IsNull() } });
    const ids = tenants.map((t) => t.id);
    const [allocations, statuses] = await Promise.all([
      allocationsOf(this.db.manager, ids),
      this.db.getRepository(TenantStatusEntity).find({ where: { node } }),
    ]);
    const byTenant = new Map<string, TenantStatusRow>(statuses.map((row) => [row.tenantId, row]));
    return tenants.map((tenant) => ({ tenant, allocation: allocations.get(tenant.id), status: byTenant.get(tenant.id) }));
  }

  async existsLive(name: string): Promise<boolean> {
    return this.db.getRepository(TenantEntity).existsBy({ name, deletedAt: IsNull() });
  }

  async allocation(tenantId: string): Promise<StoredAllocation | undefined> {
    return allocationOf(this.db.manager, tenantId);
  }

  async status(tenantId: string, node: string): Promise<TenantStatusRow | undefined> {
    return (await this.db.getRepository(TenantStatusEntity).findOneBy({ tenantId, node })) ?? undefined;
  }

  async saveStatus(tenantId: string, node: string, status: TenantStatusWrite): Promise<void> {
    await this.db.getRepository(TenantStatusEntity).save({ tenantId, node, ...status });
  }

  async deleteStatus(tenantId: string, node: string): Promise<void> {
    await this.db.getRepository(TenantStatusEntity).delete({ tenantId, node });
  }

  async markTornDown(tenantId: string, node: string): Promise<void> {
    await this.db.getRepository(TenantStatusEntity).update({ tenantId, node }, { phase: 'Deleted', conditions: [], cgroupPath: null });
  }

  /** The nodes that have confirmed a tenant's teardown. */
  async nodesTornDown(tenantId: string): Promise<string[]> {
    const rows = await this.db.getRepository(TenantStatusEntity).find({ where: { tenantId, phase: 'Deleted' }, select: { node: true } });
    return rows.map((row) => row.node);
  }

  async workloadIds(tenantId: string, node: string): Promise<string[]> {
    const rows = await this.db.getRepository(WorkloadEntity).find({ where: { tenantId, node }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** Tombstones the tenant and puts its blocks in quarantine; the lease holder of the quarantine release frees them. */
  async tombstone(tenantId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.getRepository(TenantEntity).update({ id: tenantId, deletedAt: IsNull() }, { deletedAt: new Date() });
      await quarantineTenant(tx, tenantId);
    });
  }

  async quarantined(): Promise<Array<{ tenantId: string; name: string }>> {
    return quarantinedTenants(this.db.manager);
  }
}
