import { Injectable } from '@nestjs/common';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import { type LinkCounters, hostInterfaceName } from '../../../../libs/network/src/tenant-link';
import { parseNetdev, readProcNetDev } from '../metrics/netdev';
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
    return { node, usage, network: await this.linkOf(hostInterfaceName(tenant.id)), history: this.history.history(name) };
  }

  /**
   * The link's counters from the tenant's side, read from /proc/net/dev, which is always that of this process's
   * network namespace (where the host ends of tenant links live). /sys/class/net is that of whoever mounted sysfs,
   * which is another namespace for an agent entered into its own with nsenter --net (as the fleet tests run them).
   */
  private async linkOf(hostInterface: string): Promise<LinkCounters | null> {
    const counters = parseNetdev(await readProcNetDev(), new Set([hostInterface])).get(hostInterface);
    if (counters === undefined) return null;
    return { receiveBytes: counters.txBytes, transmitBytes: counters.rxBytes, drops: counters.txDropped + counters.rxDropped };
  }
}
