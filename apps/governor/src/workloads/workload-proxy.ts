import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError, ValidationError, type FieldError } from '../../../../libs/domain/src/errors';
import { NodeEntity } from '../../../../libs/persistence/src/entities';
import type { Actor } from '../admin-tokens/admin-tokens.service';
import type { Principal } from '../auth/principal';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { targetNodes, readinessOf } from '../nodes/node-readiness';
import { TenantsService } from '../tenants/tenants.service';
import { WorkloadException, WorkloadExceptionCode } from './workload.exception';
import type { StartWorkloadInput } from './workload.request';
import { type WorkloadView, WorkloadsService } from './workloads.service';

/** The header in which an API replica names, to the agent, the principal it acts for (trusted only with the agent token). */
export const ACTING_PRINCIPAL_HEADER = 'x-governor-acting-principal';
/** How long the API waits for an agent before it answers 503. */
const AGENT_TIMEOUT_MS = 30_000;
const ACTIVE = ['starting', 'running'];

/** The principal as the header carries it: base64url of its JSON. */
export function encodePrincipal(principal: Principal): string {
  return Buffer.from(JSON.stringify(principal)).toString('base64url');
}

/** The principal an API replica named in the header, checked for shape; undefined when absent or malformed. */
export function decodePrincipal(header: string | undefined): Principal | undefined {
  if (header === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
    const text = (key: string) => typeof value[key] === 'string' && value[key].length > 0;
    if (value.kind === 'admin' && text('tokenId') && text('name')) return { kind: 'admin', tokenId: value.tokenId as string, name: value.name as string };
    if (value.kind === 'tenant' && text('keyId') && text('tenantId') && text('tenantName'))
      return { kind: 'tenant', keyId: value.keyId as string, tenantId: value.tenantId as string, tenantName: value.tenantName as string };
  } catch {
    // malformed: the caller refuses it
  }
  return undefined;
}

/** The owning agent answered with an error: its status and problem document, passed on as they are. */
export class AgentAnswered extends DomainError {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string, errors: FieldError[]) {
    super(message, errors);
    this.status = status;
    this.code = code;
  }
}

/** The owning agent could not be reached, or answered with a server error. */
export class AgentUnavailable extends DomainError {
  readonly status = 503;
  readonly code = 'agent-unavailable';
}

/** What one node's agent answered to a request sent to several, or why it could not. */
export type NodeAnswer<T> = { node: string; answer: T } | { node: string; error: AgentAnswered | AgentUnavailable };

interface AgentNode {
  name: string;
  agentUrl: string | null;
  ready: boolean;
  /** no heartbeat for NODE_STALE_MS: taken as gone, its workloads as lost */
  gone: boolean;
  heartbeatAt: Date;
  capacityMemoryBytes: number;
}

/**
 * Workloads in role api: the API holds no host, so each request goes to the agent API of the node that owns the
 * workload (a start, to the node it picks). Reads of lists come from the database, where every agent syncs the
 * state of its workloads each second; a workload whose node is NotReady reads as `unknown` until the node is back,
 * and as `lost` once the node is taken as gone (no heartbeat for 5 minutes) — until it comes back after all.
 */
@Injectable()
export class WorkloadProxy implements OnModuleInit {
  /** GOVERNOR_AGENT_CA's certificates (PEM), when set: https agents are verified against them only */
  private agentCa: string | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly tenants: TenantsService,
    private readonly workloads: WorkloadsService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  /** GOVERNOR_AGENT_CA is read and checked at boot, so that a wrong file stops the API at once rather than at the first workload request. */
  onModuleInit(): void {
    const file = this.config.agentCaFile;
    if (file === undefined || this.config.role !== 'api') return;
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
      new X509Certificate(pem);
    } catch (err) {
      throw new Error(`GOVERNOR_AGENT_CA=${file}: not a readable PEM certificate (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    this.agentCa = pem;
  }

  async start(tenantName: string, asked: unknown, input: StartWorkloadInput, actor: Actor): Promise<WorkloadView> {
    const node = await this.place(tenantName, asked);
    return this.call<WorkloadView>(node, 'POST', `tenants/${encodeURIComponent(tenantName)}/workloads`, actor, input);
  }

  async list(tenantName: string): Promise<WorkloadView[]> {
    const views = await this.workloads.list(tenantName);
    const nodes = await this.agentNodes();
    return views.map((view) => this.withNodeState(view, nodes.get(view.node)));
  }

  /** From the owning agent while its node is Ready (the agent syncs on the read); from the database, as `unknown`, while it is not. */
  async get(tenantName: string, id: string): Promise<WorkloadView> {
    const view = await this.workloads.get(tenantName, id);
    const node = (await this.agentNodes()).get(view.node);
    if (!ACTIVE.includes(view.state) || node === undefined || !node.ready) return this.withNodeState(view, node);
    return this.call<WorkloadView>(node, 'GET', `tenants/${encodeURIComponent(tenantName)}/workloads/${encodeURIComponent(id)}`);
  }

  async logs(tenantName: string, id: string, query: URLSearchParams): Promise<{ text: string; cursor?: string }> {
    const node = await this.owner(tenantName, id);
    const res = await this.fetch(node, 'GET', `tenants/${encodeURIComponent(tenantName)}/workloads/${encodeURIComponent(id)}/logs?${query.toString()}`);
    const cursor = res.headers.get('log-cursor');
    return { text: await res.text(), ...(cursor === null ? {} : { cursor }) };
  }

  async stop(tenantName: string, id: string, graceMs: number, actor: Actor): Promise<WorkloadView> {
    const node = await this.owner(tenantName, id);
    return this.call<WorkloadView>(node, 'DELETE', `tenants/${encodeURIComponent(tenantName)}/workloads/${encodeURIComponent(id)}?grace=${graceMs}ms`, actor);
  }

  /**
   * A host request of a tenant (usage, plan) sent to the agent of each of its nodes, in name order: what each
   * answered, or why it could not (NotReady, unreachable, an error), so that one node down does not hide the others.
   */
  async fanOut<T>(tenantName: string, method: string, path: string, body?: unknown): Promise<Array<NodeAnswer<T>>> {
    // A Terminating tenant takes no new work whichever node would run it (409 naming the phase), before any agent is asked.
    const tenant = await this.tenants.getAccepting(tenantName, 'new workloads');
    return this.askNodes<T>(tenant.nodes, method, `tenants/${encodeURIComponent(tenantName)}/${path}`, body);
  }

  /**
   * One agent API request (`path` below /agent/v1/) to the agent of each node a placement names (every node that is
   * not gone for an empty one), in name order: what each answered, or why it could not.
   */
  async askNodes<T>(placement: readonly string[], method: string, suffix: string, body?: unknown): Promise<Array<NodeAnswer<T>>> {
    const nodes = await this.agentNodes();
    const fleet = [...nodes.values()];
    const names = targetNodes(placement, fleet).sort((a, b) => a.localeCompare(b));
    return Promise.all(
      names.map(async (name) => {
        const node = nodes.get(name);
        try {
          if (node === undefined) throw new AgentUnavailable(`node ${name} is not registered or serves no agent API`);
          if (!node.ready) throw new AgentUnavailable(`node ${name} is NotReady: its agent cannot answer now`);
          return { node: name, answer: await this.call<T>(node, method, suffix, undefined, body) };
        } catch (err) {
          if (err instanceof AgentAnswered || err instanceof AgentUnavailable) return { node: name, error: err };
          throw err;
        }
      }),
    );
  }

  /** A host request of a tenant sent to one of its nodes' agent (an attach: a PID means something on one host only). */
  async toNode<T>(tenantName: string, asked: unknown, method: string, path: string, actor: Actor, body?: unknown): Promise<T> {
    // A Terminating tenant takes no new work whichever node would run it (409 naming the phase), before any agent is asked.
    const tenant = await this.tenants.getAccepting(tenantName, 'new workloads');
    const nodes = await this.agentNodes();
    const fleet = [...nodes.values()];
    const eligible = targetNodes(tenant.nodes, fleet)
      .filter((name) => nodes.has(name))
      .sort((a, b) => a.localeCompare(b));
    const node = typeof asked === 'string' ? nodes.get(asked) : undefined;
    if (node === undefined || !eligible.includes(node.name)) {
      throw new ValidationError([
        {
          path: 'node',
          message: `${asked === undefined ? 'is required in role api (a PID is local to one host)' : `tenant ${tenantName} is not placed on a node ${JSON.stringify(asked)} with an agent API`}; its nodes: ${eligible.join(', ') || 'none'}`,
        },
      ]);
    }
    if (!node.ready) throw new AgentUnavailable(`node ${node.name} is NotReady: its agent cannot answer now`);
    return this.call<T>(node, method, `tenants/${encodeURIComponent(tenantName)}/${path}`, actor, body);
  }

  /**
   * A workload on a NotReady node reads `unknown` while it was last seen starting or running: its agent cannot say.
   * Once the node is gone (no heartbeat for NODE_STALE_MS, or no longer registered) it reads `lost`, as a workload
   * of a rebooted host does; a node that comes back answers for its workloads again.
   */
  private withNodeState(view: WorkloadView, node: AgentNode | undefined): WorkloadView {
    if (ACTIVE.includes(view.state) && (node === undefined || node.gone)) {
      const since = node === undefined ? 'is no longer registered' : `has sent no heartbeat since ${node.heartbeatAt.toISOString()}`;
      return {
        ...view,
        state: 'lost',
        message: `node ${view.node} ${since}: it is taken as gone, and the workload, last seen ${view.state}, as lost; it is known again if the node comes back`,
      };
    }
    if (ACTIVE.includes(view.state) && !node?.ready) {
      return {
        ...view,
        state: 'unknown',
        message: `node ${view.node} is NotReady: the workload was last seen ${view.state}; its state is known again once the node is back`,
      };
    }
    return view;
  }

  private async owner(tenantName: string, id: string): Promise<AgentNode> {
    const view = await this.workloads.get(tenantName, id);
    const node = (await this.agentNodes()).get(view.node);
    if (node === undefined) throw new AgentUnavailable(`node ${view.node}, which owns workload ${id}, is not registered or serves no agent API`);
    return node;
  }

  /**
   * The node a new workload goes to: the one asked for (it must be one of the tenant's nodes and Ready), or, of the
   * tenant's Ready nodes with an agent API, the one with the most memory not guaranteed yet — its capacity minus the
   * memory.min of the workloads starting or running on it, of every tenant — the name breaking a tie. memory.min
   * is what a node has promised; it is the headroom a new workload can still be promised.
   */
  private async place(tenantName: string, asked: unknown): Promise<AgentNode> {
    if (asked !== undefined && (typeof asked !== 'string' || asked.length === 0)) {
      throw new ValidationError([{ path: 'node', message: 'must be the name of one of the tenant’s nodes (GET /v1/nodes), or absent to let the API pick' }]);
    }
    // A Terminating tenant takes no new work whichever node would run it (409 naming the phase), before any agent is asked.
    const tenant = await this.tenants.getAccepting(tenantName, 'new workloads');
    const nodes = await this.agentNodes();
    const fleet = [...nodes.values()];
    const eligible = new Set(targetNodes(tenant.nodes, fleet));
    if (typeof asked === 'string') {
      const node = nodes.get(asked);
      if (node === undefined || !eligible.has(asked)) {
        throw new ValidationError([
          {
            path: 'node',
            message: `tenant ${tenantName} is not placed on a node ${JSON.stringify(asked)} with an agent API; its nodes: ${[...eligible].join(', ') || 'none'}`,
          },
        ]);
      }
      if (!node.ready) throw new AgentUnavailable(`node ${asked} is NotReady: its agent cannot start a workload now`);
      return node;
    }
    const candidates = [...eligible].map((name) => nodes.get(name)).filter((n): n is AgentNode => n !== undefined && n.ready);
    if (candidates.length === 0) {
      throw new WorkloadException(WorkloadExceptionCode.TENANT_NOT_READY, `tenant ${tenantName} has no Ready node with an agent API to start a workload on`);
    }
    const promised = await this.db.query<Array<{ node: string; bytes: string }>>(
      `SELECT node, COALESCE(SUM(CASE WHEN jsonb_typeof(quota->'memory'->'min') = 'number' THEN (quota->'memory'->>'min')::numeric END), 0) AS bytes
         FROM workloads WHERE state IN ('starting', 'running') GROUP BY node`,
    );
    const guaranteed = new Map(promised.map((row) => [row.node, Number(row.bytes)]));
    const headroom = (n: AgentNode) => n.capacityMemoryBytes - (guaranteed.get(n.name) ?? 0);
    candidates.sort((a, b) => headroom(b) - headroom(a) || a.name.localeCompare(b.name));
    return candidates[0];
  }

  private async agentNodes(): Promise<Map<string, AgentNode>> {
    const now = Date.now();
    const rows = await this.db.getRepository(NodeEntity).find();
    return new Map(
      rows
        .filter((row) => row.role !== 'api')
        .map((row) => [row.name, { ...readinessOf(row, now), agentUrl: row.agentUrl, capacityMemoryBytes: Number(row.capacityMemoryBytes) }]),
    );
  }

  private async call<T>(node: AgentNode, method: string, path: string, actor?: Actor, body?: unknown): Promise<T> {
    const res = await this.fetch(node, method, path, actor, body);
    return (await res.json()) as T;
  }

  /** One request to a node's agent API: an error answer of the agent becomes an AgentAnswered, no answer a 503 naming the node. */
  private async fetch(node: AgentNode, method: string, path: string, actor?: Actor, body?: unknown): Promise<Response> {
    if (node.agentUrl === null) throw new AgentUnavailable(`node ${node.name} serves no agent API (it has no agent URL)`);
    if (this.config.agentToken === undefined)
      throw new AgentUnavailable(`this API replica has no GOVERNOR_AGENT_TOKEN to call the agent of node ${node.name} with`);
    const headers: Record<string, string> = { authorization: `Bearer ${this.config.agentToken}` };
    if (actor !== undefined) headers[ACTING_PRINCIPAL_HEADER] = encodePrincipal(actor.principal);
    if (actor?.requestId !== undefined) headers['x-request-id'] = actor.requestId;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      const url = `${node.agentUrl.replace(/\/$/, '')}/agent/v1/${path}`;
      const payload = body === undefined ? undefined : JSON.stringify(body);
      res =
        this.agentCa !== undefined && url.startsWith('https:')
          ? await httpsWithCa(url, method, headers, payload, this.agentCa)
          : await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(AGENT_TIMEOUT_MS) });
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new AgentUnavailable(`the agent of node ${node.name} (${node.agentUrl}) could not be reached: ${cause}; retry once the node is Ready`);
    }
    if (res.ok) return res;
    const text = await res.text();
    let problem: { type?: unknown; detail?: unknown; errors?: unknown } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // not problem+json: its text is the detail
    }
    const detail = typeof problem.detail === 'string' ? problem.detail : text;
    if (res.status >= 500) throw new AgentUnavailable(`the agent of node ${node.name} answered ${res.status}: ${detail}`);
    const code = typeof problem.type === 'string' ? problem.type.replace(/^urn:governor:problem:/, '') : `http-${res.status}`;
    throw new AgentAnswered(res.status, code, detail, Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : []);
  }
}

/** One https request verified against `ca` only (the global fetch takes no CA), answered as a fetch Response. */
function httpsWithCa(url: string, method: string, headers: Record<string, string>, body: string | undefined, ca: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca, timeout: AGENT_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') answer.set(name, value);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502, headers: answer }));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${AGENT_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
