import { Inject, Injectable, Logger } from '@nestjs/common';
import { type FieldError, ValidationError } from '../../../../libs/domain/src/errors';
import type { TenantUsage } from '../../../../libs/cgroup/src/usage';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { rootfsNotADirectory } from '../tenants/tenant.request';
import { TenantsService } from '../tenants/tenants.service';
import { HostAccess } from './host.access';
import { AgentAnswered, AgentUnavailable, WorkloadProxy } from '../workloads/workload-proxy';
import { type NodePlan, type TenantPlan, TenantHostService } from './tenant-host.service';

/** One node's part of a tenant's usage in role api: its usage, or why its agent did not answer. */
export type NodeUsage = { node: string; usage: TenantUsage } | { node: string; error: { status: number; detail: string } };

/** An agent's answer to a rootfs check: the path is a directory on its node. */
export interface RootfsOnNode {
  node: string;
  rootfs: string;
  directory: true;
}

/** The usage route's answer: the usage of one node (the first that answered, in name order), and in role api every node's. */
export type RoutedUsage = TenantUsage & { node: string; nodes?: NodeUsage[] };

/**
 * What the host routes of a tenant (usage, plan, processes) act through: in role all this host, as on a single host;
 * in role api, which holds no host, the agents of the tenant's nodes (WorkloadProxy), each asked for its own part.
 */
@Injectable()
export class TenantHostRouter {
  private readonly logger = new Logger('tenants');

  constructor(
    private readonly host: TenantHostService,
    private readonly access: HostAccess,
    private readonly tenants: TenantsService,
    private readonly proxy: WorkloadProxy,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  private get proxied(): boolean {
    return this.config.role === 'api';
  }

  /**
   * Refuses (400) a tenant's rootfs that is not a directory where the tenant will run: on this host in role all; in
   * role api on each of its nodes, as that node's agent sees it (POST /agent/v1/node/rootfs), the API host's own
   * files saying nothing of the agents'. A node whose agent cannot answer now (NotReady, unreachable) is left to
   * its agent: its reconcile reports a rootfs it cannot enter as the tenant's InitFailed condition. The nodes
   * left so are returned.
   */
  async checkRootfs(rootfs: string | null, nodes: readonly string[]): Promise<string[]> {
    if (rootfs === null) return [];
    if (!this.proxied) {
      if (!this.access.isDirectory(rootfs)) throw new ValidationError([rootfsNotADirectory(rootfs, 'this host')]);
      return [];
    }
    const answers = await this.proxy.askNodes<RootfsOnNode>(nodes, 'POST', 'node/rootfs', { rootfs });
    const refused: FieldError[] = [];
    const deferred: string[] = [];
    for (const a of answers) {
      if ('answer' in a) continue;
      if (a.error instanceof AgentAnswered && a.error.status === 400)
        refused.push(...(a.error.errors.length > 0 ? a.error.errors : [{ path: 'rootfs', message: a.error.message }]));
      else deferred.push(a.node);
    }
    if (refused.length > 0) throw new ValidationError(refused);
    if (deferred.length > 0)
      this.logger.log({ rootfs, nodes: deferred }, `rootfs ${rootfs} left to the agents of ${deferred.join(', ')}, which could not check it now`);
    return deferred;
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
