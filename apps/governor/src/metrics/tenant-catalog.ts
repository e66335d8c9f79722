import { Injectable } from '@nestjs/common';

/** What a scrape needs to know of one tenant on this host, kept up to date by the reconciler. */
export interface CatalogTenant {
  name: string;
  id: string;
  /** the host side of its veth, once the link exists */
  hostInterface: string | undefined;
  /** the last phase the reconciler recorded for it on this node */
  phase: string;
}

/** Workloads of one tenant on this host: how many are in each state, and which are running now. */
export interface CatalogWorkloads {
  states: Record<string, number>;
  running: string[];
}

/**
 * The tenants and workloads this node enforces, held in memory so that a scrape reads only kernel files
 * and never queries PostgreSQL. The reconciler sets a tenant after each pass over it and deletes it the
 * moment its teardown is done, so a deleted tenant's series disappear with the next scrape; the workloads
 * service refreshes the workload counts on its sync tick.
 *
 * `revision` changes whenever what a scrape would see changes, and only then: the exporter rebuilds its
 * per-tenant paths and label sets on a new revision and otherwise reuses them, although the reconciler
 * sets every tenant again on each resync.
 */
@Injectable()
export class TenantCatalog {
  private readonly tenantsByName = new Map<string, CatalogTenant>();
  private readonly workloadsByTenant = new Map<string, CatalogWorkloads>();
  private readonly retiredPidsMaxByTenant = new Map<string, number>();
  private changes = 0;
  private readonly deletedListeners: Array<(name: string) => void> = [];

  get revision(): number {
    return this.changes;
  }

  setTenant(tenant: CatalogTenant): void {
    const known = this.tenantsByName.get(tenant.name);
    if (known && known.id === tenant.id && known.hostInterface === tenant.hostInterface && known.phase === tenant.phase) return;
    this.tenantsByName.set(tenant.name, { ...tenant });
    this.changes += 1;
  }

  deleteTenant(name: string): void {
    const hadTenant = this.tenantsByName.delete(name);
    const hadWorkloads = this.workloadsByTenant.delete(name);
    this.retiredPidsMaxByTenant.delete(name);
    if (hadTenant || hadWorkloads) this.changes += 1;
    for (const listener of this.deletedListeners) listener(name);
  }

  /**
   * What the leaves of ended workloads counted in pids.events max, added by the reaper once it removed a
   * leaf. Before 6.11 a refused fork counts only in the forking task's leaf, so the tenant's series is the
   * sum over its leaves, and this keeps a removed leaf's part of it.
   */
  addRetiredPidsMax(tenant: string, count: number): void {
    if (count > 0) this.retiredPidsMaxByTenant.set(tenant, (this.retiredPidsMaxByTenant.get(tenant) ?? 0) + count);
  }

  retiredPidsMax(tenant: string): number {
    return this.retiredPidsMaxByTenant.get(tenant) ?? 0;
  }

  /** Calls back on every deleteTenant, so that series kept outside the catalog can go at once too. */
  onTenantDeleted(listener: (name: string) => void): void {
    this.deletedListeners.push(listener);
  }

  /** Replaces every tenant's workload summary; tenants not in the map have none. */
  setWorkloads(byTenant: Map<string, CatalogWorkloads>): void {
    if (sameWorkloads(this.workloadsByTenant, byTenant)) return;
    this.workloadsByTenant.clear();
    for (const [name, workloads] of byTenant) this.workloadsByTenant.set(name, { states: { ...workloads.states }, running: [...workloads.running] });
    this.changes += 1;
  }

  tenants(): CatalogTenant[] {
    return [...this.tenantsByName.values()];
  }

  tenant(name: string): CatalogTenant | undefined {
    return this.tenantsByName.get(name);
  }

  /** The tenants with a running workload, each with those workloads' ids: what a per-second watch walks, not every tenant. */
  running(): Array<{ tenant: CatalogTenant; ids: readonly string[] }> {
    const running: Array<{ tenant: CatalogTenant; ids: readonly string[] }> = [];
    for (const [name, workloads] of this.workloadsByTenant) {
      const tenant = this.tenantsByName.get(name);
      if (tenant !== undefined && workloads.running.length > 0) running.push({ tenant, ids: workloads.running });
    }
    return running;
  }

  /** The tenants with workload rows on this node, in any state. */
  tenantsWithWorkloads(): string[] {
    return [...this.workloadsByTenant.keys()];
  }

  workloads(tenant: string): CatalogWorkloads {
    return this.workloadsByTenant.get(tenant) ?? { states: {}, running: [] };
  }
}

function sameWorkloads(a: ReadonlyMap<string, CatalogWorkloads>, b: ReadonlyMap<string, CatalogWorkloads>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, left] of a) {
    const right = b.get(name);
    if (right === undefined || left.running.length !== right.running.length || left.running.some((id, i) => id !== right.running[i])) return false;
    const states = Object.keys(left.states);
    if (states.length !== Object.keys(right.states).length || states.some((state) => left.states[state] !== right.states[state])) return false;
  }
  return true;
}
