import { Inject, Injectable } from '@nestjs/common';
import { ValidationError } from '../../../../libs/domain/src/errors';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { TenantsService } from '../tenants/tenants.service';
import { AgentAnswered, AgentUnavailable, WorkloadProxy } from '../workloads/workload-proxy';
import { type NodePlan, type TenantPlan, TenantHostService } from './tenant-host.service';

/** One node's part of a tenant's usage in role api: its usage, or why its agent did not answer. */
export type NodeUsage = { node: string; usage: TenantUsage } | { node: string; error: { status: number; detail: string } };

/** The usage route's answer: the usage of one node (the first that answered, in name order), and in role api every node's. */
export type RoutedUsage = TenantUsage & { node: string; nodes?: NodeUsage[] };

/**
 * What the host routes of a tenant (usage, plan, processes) act through: in role all this host, as on a single host;
 * in role api, which holds no host, the agents of the tenant's nodes (WorkloadProxy), each asked for its own part.
 */
@Injectable()
export class TenantHostRouter {
  constructor(
    private readonly host: TenantHostService,
    private readonly tenants: TenantsService,
    private readonly proxy: WorkloadProxy,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  private get proxied(): boolean {
    return this.config.role === 'api';
  }

  async usage(name: string): Promise<RoutedUsage> {
    if (!this.proxied) {
      const { node, usage } = await this.host.usage(name);
      return { ...usage, node };
    }
    const answers = await this.proxy.fanOut<TenantUsage>(name, 'GET', 'usage');
    const nodes: NodeUsage[] = answers.map((a) => ('answer' in a ? { node: a.node, usage: a.answer } : { node: a.node, error: problemOf(a.error) }));
    const first = answers.find((a) => 'answer' in a);
    if (first === undefined) throw noneAnswered(name, answers);
    return { ...first.answer, node: first.node, nodes };
  }

  async plan(name: string, body: unknown): Promise<TenantPlan> {
    if (!this.proxied) return this.host.plan(name, body);
    // A bad patch is refused here, before any agent is asked.
    await this.tenants.preview(name, body);
    const answers = await this.proxy.fanOut<TenantPlan>(name, 'POST', 'plan', body);
    const first = answers.find((a) => 'answer' in a);
    if (first === undefined) {
      const refused = answers.find((a) => 'error' in a && a.error instanceof AgentAnswered);
      if (refused !== undefined && 'error' in refused) throw refused.error;
      throw noneAnswered(name, answers);
    }
    const nodes: NodePlan[] = answers.flatMap((a) =>
      'answer' in a ? a.answer.nodes : [{ node: a.node, writes: [], warnings: [`node ${a.node} could not plan: ${a.error.message}`], unavailable: true }],
    );
    return { ...first.answer, nodes };
  }

  async attach(name: string, body: unknown, parsePid: (body: unknown) => number, actor: Actor): Promise<{ pid: number; cgroup: string; node: string }> {
    const { node, rest } = splitNode(body);
    const pid = parsePid(rest);
    if (this.proxied) {
      const attached = await this.proxy.toNode<{ pid: number; cgroup: string }>(name, node, 'POST', 'processes', actor, { pid });
      return { ...attached, node: node as string };
    }
    if (node !== undefined && node !== this.config.nodeName) {
      throw new ValidationError([
        { path: 'node', message: `this governor attaches processes of its own node ${this.config.nodeName} only; got ${JSON.stringify(node)}` },
      ]);
    }
    return { ...(await this.host.attach(name, pid, actor)), node: this.config.nodeName };
  }
}

function problemOf(error: AgentAnswered | AgentUnavailable): { status: number; detail: string } {
  return { status: error.status, detail: error.message };
}

function noneAnswered(name: string, answers: Array<{ node: string }>): AgentUnavailable {
  const why = answers.map((a) => ('error' in a ? (a.error as Error).message : a.node)).join('; ');
  return new AgentUnavailable(`no node of tenant ${name} answered: ${why || 'the tenant has no node with an agent API'}`);
}

/** `node` of a request body (which node to act on), apart from the rest. */
function splitNode(body: unknown): { node: unknown; rest: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('node' in body)) return { node: undefined, rest: body };
  const { node, ...rest } = body as Record<string, unknown>;
  return { node, rest };
}
