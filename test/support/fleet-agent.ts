import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostScratch, type HostScratch } from './cgroup-root';
import { startService, type ServiceProcess } from './service.process';

/** Where this machine's PostgreSQL has its unix socket: an agent in its own network namespace reaches it there. */
const PG_SOCKET_DIR = process.env.GOVERNOR_TEST_PG_SOCKET_DIR ?? '/var/run/postgresql';

export interface FleetAgentOptions {
  /** node name, also the label of its scratch places */
  node: string;
  /** 0 to 127: its link to the test is <linkNet>.<index>.0/30 */
  index: number;
  /** the first two octets of the agent's link (default 10.249), so that test files running at once keep apart */
  linkNet?: string;
  /** the test's database (a postgres:// URL on 127.0.0.1); the agent reaches the same database over the socket */
  databaseUrl: string;
  /** the unix socket directory and port of that server (default: this machine's PostgreSQL) */
  pgSocketDir?: string;
  pgPort?: number;
  agentToken: string;
  env?: Record<string, string>;
}

/**
 * One agent as if on a host of its own: a network namespace (so that its tenant links and firewall table
 * cannot meet another agent's), linked to the test's namespace by a veth pair (<linkNet>.<index>.1 here,
 * .2 there), its own cgroup root, run directory, data directory and node name, and PostgreSQL over its
 * unix socket. The process is the built service, started with nsenter into the namespace and nothing else.
 */
export class FleetAgent {
  readonly netns: string;
  readonly address: string;
  readonly scratch: HostScratch;
  readonly dataDir: string;
  private readonly hostLink: string;
  service: ServiceProcess | undefined;

  constructor(private readonly options: FleetAgentOptions) {
    const suffix = randomBytes(3).toString('hex');
    this.netns = `gvfleet-${options.node}-${suffix}`;
    this.hostLink = `gvf${suffix}h${options.index}`;
    const linkNet = options.linkNet ?? '10.249';
    this.address = `${linkNet}.${options.index}.2`;
    this.scratch = hostScratch(`fl${options.index}`);
    this.dataDir = mkdtempSync(join(tmpdir(), `governor-fleet-${options.node}-`));
    const peer = `${linkNet}.${options.index}.1`;
    for (const args of [
      ['netns', 'add', this.netns],
      ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns],
      ['addr', 'add', `${peer}/30`, 'dev', this.hostLink],
      ['link', 'set', this.hostLink, 'up'],
      ['-n', this.netns, 'addr', 'add', `${this.address}/30`, 'dev', 'eth0'],
      ['-n', this.netns, 'link', 'set', 'eth0', 'up'],
      ['-n', this.netns, 'link', 'set', 'lo', 'up'],
    ]) {
      const done = spawnSync('ip', args, { encoding: 'utf8' });
      if (done.status !== 0) throw new Error(`ip ${args.join(' ')}: ${done.stderr}`);
    }
  }

  get node(): string {
    return this.options.node;
  }

  /** The agent's own URL, reached over its link. */
  get url(): string {
    if (!this.service) throw new Error(`agent ${this.node} is not running`);
    return this.service.url;
  }

  async start(): Promise<void> {
    const db = new URL(this.options.databaseUrl);
    this.service = await startService(
      {
        ...this.scratch.env,
        GOVERNOR_ROLE: 'agent',
        GOVERNOR_NODE_NAME: this.options.node,
        GOVERNOR_AGENT_TOKEN: this.options.agentToken,
        GOVERNOR_HOST: this.address,
        GOVERNOR_DATA_DIR: this.dataDir,
        DATABASE_URL:
          `postgres://${db.username}@${db.pathname}?host=${encodeURIComponent(this.options.pgSocketDir ?? PG_SOCKET_DIR)}` +
          (this.options.pgPort === undefined ? '' : `&port=${this.options.pgPort}`),
        ...this.options.env,
      },
      120_000,
      undefined,
      ['nsenter', `--net=/run/netns/${this.netns}`],
    );
  }

  /** Kills the agent outright (SIGKILL): no shutdown, its monitors and tenant inits go on. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.service?.stop(signal);
    this.service = undefined;
  }

  /** Stops the agent, then removes its tenants' remains, its scratch places and its namespace. */
  async cleanup(): Promise<void> {
    await this.kill('SIGTERM');
    try {
      this.scratch.cleanup();
    } finally {
      spawnSync('ip', ['netns', 'delete', this.netns]);
      spawnSync('ip', ['link', 'delete', this.hostLink]);
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}
