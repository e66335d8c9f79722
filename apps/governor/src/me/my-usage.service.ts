import { Injectable } from '@nestjs/common';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import { type LinkCounters, hostInterfaceName, linkCounters } from '../../../../libs/network/src/tenant-link';
import { TenantHostService } from '../host/tenant-host.service';
import { TenantsService } from '../tenants/tenants.service';
import { type UsageHistory, UsageHistoryService } from '../usage-history/usage-history.service';

/** What a tenant sees of itself on one node: its cgroup's usage, its link's counters and the sampled history. */
export interface MyUsage {
  node: string;
  usage: TenantUsage;
  /** the tenant's link, from its side: receive is into the tenant; null until the link exists */
  network: LinkCounters | null;
  history: UsageHistory;
}

/**
 * A tenant's self-service usage on this host. The cgroup, the link (in this host's network namespace) and the
 * in-memory history all live where the tenant runs, so in a fleet each agent answers for its own node (the agent
 * API's `my-usage`), and role api gathers the answers (MeService).
 */
@Injectable()
export class MyUsageService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly host: TenantHostService,
    private readonly history: UsageHistoryService,
  ) {}

  async onThisNode(name: string): Promise<MyUsage> {
    const tenant = await this.tenants.get(name);
    const { node, usage } = await this.host.usageOf(tenant);
    return { node, usage, network: (await linkCounters(hostInterfaceName(tenant.id))) ?? null, history: this.history.history(name) };
  }
}
