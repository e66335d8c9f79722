import { cpus, release, totalmem } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, MoreThan } from 'typeorm';
import { readSubIdRanges } from '../../../../libs/persistence/src/allocation';
import { NodeEntity } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { DomainError } from '../../../../libs/domain/src/errors';
import { HostAccess } from '../host/host.access';
import { NodeHeartbeats } from '../metrics/node-heartbeats';
import { HostCpus } from './host-cpus';

import { isReady, NODE_STALE_MS, type NodeReadiness, readinessOf } from './node-readiness';

export { NODE_STALE_MS } from './node-readiness';

export class NodeNotFound extends DomainError {
  readonly status = 404;
  readonly code = 'node-not-found';
}

export interface NodeView {
  name: string;
  role: string;
  kernel: string;
  cgroup: { mode: string; mount: string; root: string };
  controllers: { available: string[]; missing: string[] };
  features: Record<string, boolean>;
  /**
   * CPUs online (their count and list) and memory (MemTotal) of the host, and what it reserves for its own system
   * (GOVERNOR_SYSTEM_RESERVED), which admission takes off before tenants' guarantees count
   */
  capacity: { cpus: number; cpuList: string | null; memoryBytes: number; reserved: { cpus: number; memoryBytes: number } };
  /** where API replicas reach its agent API; null when it serves none */
  agentUrl: string | null;
  registeredAt: string;
  heartbeatAt: string;
  heartbeatIntervalSeconds: number;
  /** Ready while its heartbeat is at most two of its intervals old, NotReady after */
  status: 'Ready' | 'NotReady';
  /** heartbeat within the last 5 minutes: a node not alive is taken as gone (deletion does not wait for it) */
  alive: boolean;
}

@Injectable()
export class NodesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('nodes');
  private timer: NodeJS.Timeout | undefined;
  /** the agent API's address once this process listens (GOVERNOR_AGENT_URL wins); null while it serves none */
  private agentUrl: string | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly host: HostAccess,
    private readonly hostCpus: HostCpus,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    private readonly heartbeats: NodeHeartbeats,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // An api replica registers no node, but it keeps the heartbeat list for governor_node_heartbeat_age_seconds.
    const tick = this.host.touchesHost ? () => this.heartbeat() : () => this.loadHeartbeats();
    await tick();
    this.timer = setInterval(() => void tick(), this.config.heartbeatIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Says where this node's agent API answers (GOVERNOR_AGENT_URL when set, else `listening`, the address the
   * process listens on) and writes it at once rather than at the next heartbeat.
   */
  async advertise(listening: string): Promise<void> {
    this.agentUrl = this.config.agentUrl ?? listening;
    if (this.host.touchesHost) await this.heartbeat();
  }

  /** Registers this node, with what its kernel offers, and keeps its heartbeat fresh. */
  async heartbeat(): Promise<void> {
    const caps = this.host.maybeCgroups()?.capabilities;
    const subIdRanges = await this.localSubIdRanges();
    try {
      await this.db.getRepository(NodeEntity).save({
        name: this.config.nodeName,
        role: this.config.role,
        kernel: caps?.kernel ?? release(),
        cgroupMode: caps?.mode ?? 'unknown',
        cgroupMount: caps?.mount ?? '',
        cgroupRoot: caps?.root ?? '',
        controllersAvailable: caps?.available ?? [],
        controllersMissing: caps?.missing ?? ['cpu', 'cpuset', 'io', 'memory', 'pids'],
        features: { ...(caps?.features ?? {}) },
        capacityCpus: cpus().length,
        capacityMemoryBytes: totalmem(),
        cpuList: await this.hostCpus.onlineList(),
        reservedCpus: this.config.systemReserved.cpus,
        reservedMemoryBytes: this.config.systemReserved.memoryBytes,
        // left out when the files could not be read: the row keeps what it said last
        ...(subIdRanges !== undefined && { subIdRanges }),
        agentUrl: this.agentUrl,
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        heartbeatAt: new Date(),
      });
    } catch (err) {
      this.logger.warn({ err }, 'heartbeat failed; retrying');
    }
    await this.loadHeartbeats();
  }

  /** This host's /etc/subuid and /etc/subgid entries; none in role api, which touches no host; undefined when unreadable. */
  private async localSubIdRanges(): Promise<Array<[number, number]> | undefined> {
    if (!this.host.touchesHost) return [];
    try {
      return await readSubIdRanges();
    } catch (err) {
      this.logger.warn({ err }, '/etc/subuid or /etc/subgid could not be read; the node keeps the sub-id ranges it registered before');
      return undefined;
    }
  }

  /**
   * The uid ranges no tenant may be given: every registered node's /etc/subuid and /etc/subgid entries (a tenant's
   * range is used on each node it is placed on, and its nodes can change), and, in a role that acts on this host,
   * this host's files as they are now (its node row may not be written yet). An API replica reads no host file.
   */
  async excludedIdRanges(manager: EntityManager = this.db.manager): Promise<Array<[number, number]>> {
    const rows = await manager.getRepository(NodeEntity).find({ select: { name: true, subIdRanges: true } });
    const local = this.host.touchesHost ? await readSubIdRanges() : [];
    return [...rows.flatMap((row) => row.subIdRanges), ...local];
  }

  /** Every node's heartbeat into memory, where the metrics scrape reads it without a query. */
  async loadHeartbeats(): Promise<void> {
    try {
      this.heartbeats.set(await this.db.getRepository(NodeEntity).find({ select: { name: true, heartbeatAt: true, heartbeatIntervalMs: true } }));
    } catch {
      // The database is away: keep the last list, whose ages keep growing (the heartbeat warning says why).
    }
  }

  async list(): Promise<NodeView[]> {
    return (await this.db.getRepository(NodeEntity).find({ order: { name: 'ASC' } })).map((node) => view(node));
  }

  /** Every registered node and whether it is Ready, for placement and the tenant view. */
  async fleet(): Promise<NodeReadiness[]> {
    const now = Date.now();
    const rows = await this.db.getRepository(NodeEntity).find({ select: { name: true, heartbeatAt: true, heartbeatIntervalMs: true }, order: { name: 'ASC' } });
    return rows.map((row) => readinessOf(row, now));
  }

  async get(name: string): Promise<NodeView> {
    const node = await this.db.getRepository(NodeEntity).findOneBy({ name });
    if (!node) throw new NodeNotFound(`no node is named ${JSON.stringify(name)}; GET /v1/nodes lists them`);
    return view(node);
  }

  /** Names of the nodes with a recent heartbeat. Inside a transaction pass its manager: a second connection per transaction starves the pool. */
  async alive(manager: EntityManager = this.db.manager): Promise<string[]> {
    const rows = await manager
      .getRepository(NodeEntity)
      .find({ where: { heartbeatAt: MoreThan(new Date(Date.now() - NODE_STALE_MS)) }, select: { name: true } });
    return rows.map((row) => row.name);
  }
}

function view(node: NodeEntity, now = Date.now()): NodeView {
  return {
    name: node.name,
    role: node.role,
    kernel: node.kernel,
    cgroup: { mode: node.cgroupMode, mount: node.cgroupMount, root: node.cgroupRoot },
    controllers: { available: node.controllersAvailable, missing: node.controllersMissing },
    features: node.features,
    capacity: {
      cpus: node.capacityCpus,
      cpuList: node.cpuList,
      memoryBytes: node.capacityMemoryBytes,
      reserved: { cpus: node.reservedCpus, memoryBytes: node.reservedMemoryBytes },
    },
    agentUrl: node.agentUrl,
    registeredAt: node.registeredAt.toISOString(),
    heartbeatAt: node.heartbeatAt.toISOString(),
    heartbeatIntervalSeconds: node.heartbeatIntervalMs / 1000,
    status: isReady(node.heartbeatAt, node.heartbeatIntervalMs, now) ? 'Ready' : 'NotReady',
    alive: now - node.heartbeatAt.getTime() < NODE_STALE_MS,
  };
}
