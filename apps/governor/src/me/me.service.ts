import { Injectable } from '@nestjs/common';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import { type LinkCounters, hostInterfaceName, linkCounters } from '../../../../libs/network/src/tenant-link';
import { TenantHostService } from '../host/tenant-host.service';
import { TenantEventsService, type TenantEventView } from '../tenant-events/tenant-events.service';
import type { TenantDto } from '../tenants/dto/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';
import { type UsageHistory, UsageHistoryService } from '../usage-history/usage-history.service';

export interface MyUsage {
  node: string;
  usage: TenantUsage;
  /** the tenant's link, from its side: receive is into the tenant; null until the link exists */
  network: LinkCounters | null;
  history: UsageHistory;
}

/** The tenant's own view of itself: what the admin API shows of it, and what happened to it. */
@Injectable()
export class MeService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly host: TenantHostService,
    private readonly history: UsageHistoryService,
    private readonly events: TenantEventsService,
  ) {}

  async view(name: string): Promise<TenantDto> {
    return this.tenants.view(await this.tenants.get(name));
  }

  async usage(name: string): Promise<MyUsage> {
    const tenant = await this.tenants.get(name);
    const { node, usage } = await this.host.usageOf(tenant);
    return { node, usage, network: (await linkCounters(hostInterfaceName(tenant.id))) ?? null, history: this.history.history(name) };
  }

  async eventsOf(name: string, limit: number): Promise<TenantEventView[]> {
    const tenant = await this.tenants.get(name);
    return this.events.list(tenant.id, limit);
  }
}
