import { release } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, MoreThan } from 'typeorm';
import { NodeEntity } from '../../../../libs/persistence/src/entities';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { DomainError } from '../../../../libs/domain/src/errors';
import { HostAccess } from '../host/host.access';
import { NodeHeartbeats } from '../metrics/node-heartbeats';

const HEARTBEAT_MS = 10_000;
/** A node whose heartbeat is older than this is taken as gone (deletion no longer waits for it). */
export const NODE_STALE_MS = 5 * 60_000;

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
  registeredAt: string;
  heartbeatAt: string;
  alive: boolean;
}

@Injectable()
export class NodesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('nodes');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly host: HostAccess,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
    private readonly heartbeats: NodeHeartbeats,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // An api replica registers no node, but it keeps the heartbeat list for governor_node_heartbeat_age_seconds.
    const tick = this.host.touchesHost ? () => this.heartbeat() : () => this.loadHeartbeats();
    await tick();
    this.timer = setInterval(() => void tick(), HEARTBEAT_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Registers this node, with what its kernel offers, and keeps its heartbeat fresh. */
  async heartbeat(): Promise<void> {
    const caps = this.host.maybeCgroups()?.capabilities;
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
        heartbeatAt: new Date(),
      });
    } catch (err) {
      this.logger.warn({ err }, 'heartbeat failed; retrying');
    }
    await this.loadHeartbeats();
  }

  /** Every node's heartbeat into memory, where the metrics scrape reads it without a query. */
  async loadHeartbeats(): Promise<void> {
    try {
      this.heartbeats.set(await this.db.getRepository(NodeEntity).find({ select: { name: true, heartbeatAt: true } }));
    } catch {
      // The database is away: keep the last list, whose ages keep growing (the heartbeat warning says why).
    }
  }

  async list(): Promise<NodeView[]> {
    return (await this.db.getRepository(NodeEntity).find({ order: { name: 'ASC' } })).map(view);
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

function view(node: NodeEntity): NodeView {
  return {
    name: node.name,
    role: node.role,
    kernel: node.kernel,
    cgroup: { mode: node.cgroupMode, mount: node.cgroupMount, root: node.cgroupRoot },
    controllers: { available: node.controllersAvailable, missing: node.controllersMissing },
    features: node.features,
    registeredAt: node.registeredAt.toISOString(),
    heartbeatAt: node.heartbeatAt.toISOString(),
    alive: Date.now() - node.heartbeatAt.getTime() < NODE_STALE_MS,
  };
}
