import { Inject, Injectable } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { TenantEventsService, type TenantEventView } from '../tenant-events/tenant-events.service';
import type { TenantDto } from '../tenants/dto/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';
import { AgentUnavailable, WorkloadProxy } from '../workloads/workload-proxy';
import { type MyUsage, MyUsageService } from './my-usage.service';

export type { MyUsage } from './my-usage.service';

/** One node's part of a tenant's own usage in role api: what its agent answered, or why it did not. */
export type NodeMyUsage = MyUsage | { node: string; error: { status: number; detail: string } };

/**
 * /v1/me/usage: the usage of one node (in role all this host; in role api the first of the tenant's nodes that
 * answered, in name order) and, in role api, every node's part.
 */
export type RoutedMyUsage = MyUsage & { nodes?: NodeMyUsage[] };

/** The tenant's own view of itself: what the admin API shows of it, and what happened to it. */
@Injectable()
export class MeService {
  constructor(
    private readonly tenants: TenantsService,
    private readonly usageHere: MyUsageService,
    private readonly agents: WorkloadProxy,
    private readonly events: TenantEventsService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  async view(name: string): Promise<TenantDto> {
    return this.tenants.view(await this.tenants.get(name));
  }

  /** Role all reads this host; role api, which holds no host, asks the agent of each of the tenant's nodes. */
  async usage(name: string): Promise<RoutedMyUsage> {
    if (this.config.role !== 'api') return this.usageHere.onThisNode(name);
    const answers = await this.agents.fanOut<MyUsage>(name, 'GET', 'my-usage');
    const nodes: NodeMyUsage[] = answers.map((a) =>
      'answer' in a ? { ...a.answer, node: a.node } : { node: a.node, error: { status: a.error.status, detail: a.error.message } },
    );
    const first = answers.find((a) => 'answer' in a);
    if (first === undefined) {
      const why = answers.map((a) => ('error' in a ? a.error.message : a.node)).join('; ');
      throw new AgentUnavailable(`no node of your tenant answered: ${why || 'it is on no node with an agent API'}`);
    }
    return { ...first.answer, node: first.node, nodes };
  }

  async eventsOf(name: string, limit: number): Promise<TenantEventView[]> {
    const tenant = await this.tenants.get(name);
    return this.events.list(tenant.id, limit);
  }
}
