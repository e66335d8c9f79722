import { Inject, Injectable } from '@nestjs/common';
import { ValidationError } from '../../../../libs/domain/src/errors';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { WorkloadProxy } from './workload-proxy';
import { parseGrace, parseLogQuery, parseStartWorkload } from './workload.request';
import { type WorkloadView, WorkloadsService } from './workloads.service';

/**
 * What the workload routes (/v1/tenants/{name}/workloads and /v1/me/workloads) act through: in role api, which
 * holds no host, the owning node's agent (WorkloadProxy); in role all, this host's supervisor, as on a single host.
 * Requests are validated here in both roles, so that a bad one is refused before any agent is asked.
 */
@Injectable()
export class WorkloadRouter {
  constructor(
    private readonly workloads: WorkloadsService,
    private readonly proxy: WorkloadProxy,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  private get proxied(): boolean {
    return this.config.role === 'api';
  }

  async start(tenant: string, body: unknown, actor: Actor): Promise<WorkloadView> {
    const { node, rest } = splitNode(body);
    const input = parseStartWorkload(rest);
    if (this.proxied) return this.proxy.start(tenant, node, input, actor);
    if (node !== undefined && node !== this.config.nodeName) {
      throw new ValidationError([
        { path: 'node', message: `this governor runs workloads on its own node ${this.config.nodeName} only; got ${JSON.stringify(node)}` },
      ]);
    }
    return this.workloads.start(tenant, input, actor);
  }

  async list(tenant: string): Promise<WorkloadView[]> {
    return this.proxied ? this.proxy.list(tenant) : this.workloads.list(tenant);
  }

  async get(tenant: string, id: string): Promise<WorkloadView> {
    return this.proxied ? this.proxy.get(tenant, id) : this.workloads.get(tenant, id);
  }

  async logs(tenant: string, id: string, stream: unknown, tail: unknown, after: unknown): Promise<{ text: string; cursor?: string }> {
    const query = parseLogQuery(stream, tail, after);
    if (!this.proxied) return this.workloads.logs(tenant, id, query);
    const forwarded = new URLSearchParams();
    for (const [name, value] of Object.entries({ stream, tail, after })) if (typeof value === 'string') forwarded.set(name, value);
    return this.proxy.logs(tenant, id, forwarded);
  }

  async stop(tenant: string, id: string, grace: unknown, actor: Actor): Promise<WorkloadView> {
    const graceMs = parseGrace(grace);
    return this.proxied ? this.proxy.stop(tenant, id, graceMs, actor) : this.workloads.stop(tenant, id, graceMs, actor);
  }
}

/** `node` of a start request (which node to run it on), apart from what the supervisor validates. */
function splitNode(body: unknown): { node: unknown; rest: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('node' in body)) return { node: undefined, rest: body };
  const { node, ...rest } = body as Record<string, unknown>;
  return { node, rest };
}
