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
 */
@Injectable()
export class TenantCatalog {
  private readonly tenantsByName = new Map<string, CatalogTenant>();
  private readonly workloadsByTenant = new Map<string, CatalogWorkloads>();

  setTenant(tenant: CatalogTenant): void {
    this.tenantsByName.set(tenant.name, tenant);
  }

  deleteTenant(name: string): void {
    this.tenantsByName.delete(name);
    this.workloadsByTenant.delete(name);
  }

  /** Replaces every tenant's workload summary; tenants not in the map have none. */
  setWorkloads(byTenant: Map<string, CatalogWorkloads>): void {
    this.workloadsByTenant.clear();
    for (const [name, workloads] of byTenant) this.workloadsByTenant.set(name, workloads);
  }

  tenants(): CatalogTenant[] {
    return [...this.tenantsByName.values()];
  }

  tenant(name: string): CatalogTenant | undefined {
    return this.tenantsByName.get(name);
  }

  workloads(tenant: string): CatalogWorkloads {
    return this.workloadsByTenant.get(tenant) ?? { states: {}, running: [] };
  }
}
