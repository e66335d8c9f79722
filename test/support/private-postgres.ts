import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

function binDir(): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'postgres')));
  if (versions.length === 0) throw new Error('a private PostgreSQL needs Debian PostgreSQL server binaries (test/setup.sh installs them)');
  return join('/usr/lib/postgresql', versions.sort().at(-1)!, 'bin');
}

/**
 * A PostgreSQL server of the test's own (Debian's binaries, run as user postgres, unix socket only), so that
 * a test can stop and restart it without touching the machine's server or another test. `dir` must be
 * traversable by user postgres.
 */
export class PrivateServer {
  private child: ChildProcess | undefined;
  readonly socketDir: string;
  readonly data: string;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.socketDir = join(dir, 'run');
    this.data = join(dir, 'data');
  }

  /** A URL of `database` over the unix socket. */
  url(database = 'governor'): string {
    return `postgresql://postgres@localhost:${this.port}/${database}?host=${encodeURIComponent(this.socketDir)}`;
  }

  init(): void {
    execFileSync('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '0700', this.data, this.socketDir]);
    execFileSync('runuser', ['-u', 'postgres', '--', join(binDir(), 'initdb'), '-D', this.data, '-U', 'postgres', '--auth=trust'], { stdio: 'ignore' });
  }

  async start(): Promise<void> {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    this.child = spawn(
      join(binDir(), 'postgres'),
      ['-D', this.data, '-p', String(this.port), '-c', 'listen_addresses=', '-c', `unix_socket_directories=${this.socketDir}`, '-c', 'max_connections=200'],
      { stdio: 'ignore', uid: id('-u'), gid: id('-g') },
    );
    for (let i = 0; i < 200; i += 1) {
      try {
        await this.query('postgres', 'SELECT 1');
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error('the private PostgreSQL did not start');
  }

  async query<T = Record<string, unknown>>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ host: this.socketDir, port: this.port, user: 'postgres', database });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** A fast shutdown (SIGINT), as `systemctl stop postgresql` does. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  }
}
