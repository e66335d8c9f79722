import { Inject, Injectable } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { type NodeView, NodesService } from '../nodes/nodes.service';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import type { Principal } from '../auth/principal';
import { decodePrincipal } from '../workloads/workload-proxy';
import type { LogQuery, StartWorkloadInput } from '../workloads/workload.request';
import { type WorkloadView, WorkloadsService } from '../workloads/workloads.service';
import { AgentApiException, AgentApiExceptionCode } from './agent-api.exception';
import { HostAccess } from '../host/host.access';
import type { RootfsOnNode } from '../host/tenant-host.router';
import { rootfsNotADirectory } from '../tenants/tenant.request';
import { type FieldError, ValidationError } from '../../../../libs/domain/src/errors';
import { readObject } from '../../../../libs/domain/src/json';

/** What the agent API answers: this agent's node, and the workloads whose monitors run on it. */
@Injectable()
export class AgentApiService {
  constructor(
    private readonly nodes: NodesService,
    private readonly workloads: WorkloadsService,
    private readonly host: HostAccess,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** This node's row, as its last heartbeat wrote it. */
  async node(): Promise<NodeView> {
    return this.nodes.get(this.config.nodeName);
  }

  /** Whether a tenant's rootfs (`{rootfs}`, an absolute path) is a directory on this node: 400 naming the node when not. */
  rootfs(body: unknown): RootfsOnNode {
    const errors: FieldError[] = [];
    const record = readObject(body, '', 'a rootfs check', ['rootfs'], errors);
    const rootfs = record?.rootfs;
    if (record !== undefined && (typeof rootfs !== 'string' || !rootfs.startsWith('/'))) errors.push({ path: 'rootfs', message: 'must be an absolute path' });
    if (errors.length > 0 || typeof rootfs !== 'string') throw new ValidationError(errors);
    if (!this.host.isDirectory(rootfs)) throw new ValidationError([rootfsNotADirectory(rootfs, `node ${this.config.nodeName}`)]);
    return { node: this.config.nodeName, rootfs, directory: true };
  }

  /** A workload of this node; one of another node is that node's agent's to answer for. */
  async workload(tenant: string, id: string): Promise<WorkloadView> {
    const view = await this.workloads.get(tenant, id);
    if (view.node !== this.config.nodeName) {
      throw new AgentApiException(
        AgentApiExceptionCode.NOT_ON_THIS_NODE,
        `workload ${id} of tenant ${tenant} runs on node ${view.node}, not on ${this.config.nodeName}: ask that node's agent (its agentUrl on GET /v1/nodes/${view.node})`,
      );
    }
    return view;
  }

  /** The principal an API replica acts for, from its header: the agent token vouches for it. */
  actingPrincipal(header: string | undefined): Principal {
    const principal = decodePrincipal(header);
    if (principal === undefined) {
      throw new AgentApiException(
        AgentApiExceptionCode.NO_ACTING_PRINCIPAL,
        'a start or stop through the agent API names the principal it acts for (header X-Governor-Acting-Principal: base64url of its JSON)',
      );
    }
    return principal;
  }

  async start(tenant: string, input: StartWorkloadInput, actor: Actor): Promise<WorkloadView> {
    return this.workloads.start(tenant, input, actor);
  }

  async stop(tenant: string, id: string, graceMs: number, actor: Actor): Promise<WorkloadView> {
    await this.workload(tenant, id);
    return this.workloads.stop(tenant, id, graceMs, actor);
  }

  async logs(tenant: string, id: string, query: LogQuery): Promise<{ text: string; cursor?: string }> {
    await this.workload(tenant, id);
    return this.workloads.logs(tenant, id, query);
  }
}
