import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { hostInterfaceName } from '../../libs/network/src/tenant-link';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { seeded } from '../support/seeded';
import { HEAP_PROBE_FLAGS, probeMemory, type ServiceProcess, startService, withNodeFlags } from '../support/service.process';

/**
 * Churn: CYCLES tenants created and deleted, PARALLEL at a time, with a workload in some (fixed seed).
 * Afterwards nothing may be left of them on the host or in the pools, and the governor's open files and
 * memory must not have grown with the cycles.
 */
const CYCLES = Number(process.env.GOVERNOR_LEAK_CYCLES ?? 1000);
const PARALLEL = 16;
const SEED = 1206;

describe(`${CYCLES} tenant create/delete cycles`, { timeout: 1_800_000 }, () => {
  const host = hostScratch('leaks');
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-leaks-'));
  let databaseUrl: string;
  let gov: ServiceProcess;
  let sql: Client;

  before(async () => {
    databaseUrl = await createDatabase();
    sql = new Client({ connectionString: databaseUrl, application_name: 'governor-test' });
    await sql.connect();
    gov = await startService(
      {
        ...host.env,
        DATABASE_URL: databaseUrl,
        GOVERNOR_DATA_DIR: dataDir,
        GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
        GOVERNOR_NET_POOL: '10.244.0.0/22',
        GOVERNOR_LOG_LEVEL: 'warn',
      },
      60_000,
      undefined,
      withNodeFlags(...HEAP_PROBE_FLAGS),
    );
  });

  after(async () => {
    agent.destroy();
    await gov?.stop();
    await sql?.end();
    await dropDatabase(databaseUrl);
    host.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The clients' connections: kept alive, one per client at most, and closed by the test once the cycles are done. */
  const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
  const api = (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${gov.url}${path}`,
        {
          agent,
          method,
          headers: {
            Authorization: `Bearer ${ROOT_TOKEN}`,
            ...(payload !== undefined && { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  /** What a tenant leaves on this host and in the database while it lives; all of it must go with it. */
  const census = async () => {
    const names = new Set((await sql.query<{ id: string }>('SELECT id FROM tenants')).rows.map((row) => hostInterfaceName(row.id)));
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((line) => names.has(/^\d+: ([^@:]+)/.exec(line)?.[1] ?? '')).length;
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.split(' ')[4]?.startsWith(`${host.runDir}/ns/`)).length;
    // Subdirectories only: a cgroup directory also lists its control files.
    const dir = (path: string) => (existsSync(path) ? readdirSync(path, { withFileTypes: true }).filter((entry) => entry.isDirectory()).length : 0);
    // Every element of the table's sets that names a tenant link (its link, source address, gateway).
    const rules = spawnSync('nft', ['list', 'table', 'inet', host.firewallTable], { encoding: 'utf8' }).stdout.match(/"gv[0-9a-f]{10}"/g)?.length ?? 0;
    const [{ live }] = (await sql.query<{ live: number }>('SELECT count(*)::int AS live FROM tenant_allocations WHERE released_at IS NULL')).rows;
    return {
      cgroups: dir(join(host.root, 'tenants')),
      // A monitor's leaf sits in its tenant (tenants/<name>/monitors/<id>); ROOT/monitors held them before.
      monitorCgroups:
        dir(join(host.root, 'monitors')) +
        (existsSync(join(host.root, 'tenants'))
          ? readdirSync(join(host.root, 'tenants'), { withFileTypes: true })
              .filter((entry) => entry.isDirectory())
              .reduce((sum, entry) => sum + dir(join(host.root, 'tenants', entry.name, 'monitors')), 0)
          : 0),
      namespaces: dir(join(host.runDir, 'ns')),
      workloadDirs: dir(join(host.runDir, 'workloads')),
      mounts,
      links,
      firewallRules: rules,
      uidBlocks: live,
    };
  };

  /**
   * The inodes of the governor's TCP sockets (/proc/<pid>/net/tcp{,6}) whose number follows the load of the
   * moment, not the cycles done: its connections to PostgreSQL (remote port 5432), which its pool opens as
   * concurrent queries need them, up to its size, and closes after 30 s idle; and the connections of this
   * test's HTTP clients to it (local port its own, not the listening socket), which the clients keep alive
   * and open more of when their requests overlap.
   */
  const loadSockets = (): { database: Set<string>; http: Set<string> } => {
    const database = new Set<string>();
    const http = new Set<string>();
    const port = `:${Number(new URL(gov.url).port).toString(16).toUpperCase().padStart(4, '0')}`;
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/${gov.child.pid!}/net/${table}`, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length <= 9) continue;
        if (fields[2].endsWith(':1538')) database.add(fields[9]);
        else if (fields[1].endsWith(port) && fields[3] !== '0A') http.add(fields[9]);
      }
    }
    return { database, http };
  };

  /** What the governor's descriptors point at, by kind (database or HTTP socket, other socket, anon_inode:[eventfd], a path), for a failure to name. */
  const fdKinds = (): Record<string, number> => {
    const kinds: Record<string, number> = {};
    const { database, http } = loadSockets();
    for (const fd of readdirSync(`/proc/${gov.child.pid!}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${gov.child.pid!}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        const kind =
          inode !== undefined && database.has(inode)
            ? 'socket: PostgreSQL'
            : inode !== undefined && http.has(inode)
              ? 'socket: HTTP client'
              : link.replace(/\[\d+\]$/, '');
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      } catch {
        // closed meanwhile
      }
    }
    return kinds;
  };

  /** The governor's open files. */
  const fileFigures = () => {
    const kinds = fdKinds();
    return {
      kinds,
      /** open files but the connections that come and go with the load (each bounded below) */
      fds: Object.entries(kinds).reduce((sum, [kind, n]) => sum + (kind === 'socket: PostgreSQL' || kind === 'socket: HTTP client' ? 0 : n), 0),
      databaseConnections: kinds['socket: PostgreSQL'] ?? 0,
      httpConnections: kinds['socket: HTTP client'] ?? 0,
    };
  };

  /** The governor's open files and its memory after a full garbage collection (test/support/heap-probe.ts). */
  const processFigures = async () => {
    const files = fileFigures();
    const memory = await probeMemory(gov);
    const MiB = (bytes: number) => bytes / 1024 / 1024;
    return {
      ...files,
      rssMiB: MiB(memory.rss),
      /** what JavaScript still reaches: a leak of objects grows it, wherever V8 lets its heap settle */
      heapMiB: MiB(memory.heapUsed),
      /** memory held outside V8's heap by JavaScript objects (Buffers, koffi's) */
      externalMiB: MiB(memory.external),
    };
  };

  it('leaves no cgroup, namespace, link, mount, firewall rule, uid block or workload directory, and no growth in fds or memory', async () => {
    const random = seeded(SEED);
    const empty = await census();
    // Warm up at full parallelism before measuring the process: the first tenants load code (the HTTP clients'
    // connections and the database pool's are counted apart: see processFigures).
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) => cycle('warm', i, i % 4 === 0)));
    await sleep(1000);
    const start = await processFigures();

    let next = 0;
    let done = 0;
    let withWorkload = 0;
    const samples: ({ cycles: number } & Awaited<ReturnType<typeof processFigures>>)[] = [];
    const worker = async (): Promise<void> => {
      for (let i = next++; i < CYCLES; i = next++) {
        const workload = random.next() < 0.1;
        if (workload) withWorkload += 1;
        await cycle('churn', i, workload);
        done += 1;
        if (done % Math.max(1, Math.floor(CYCLES / 4)) === 0) samples.push({ cycles: done, ...(await processFigures()) });
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: PARALLEL }, () => worker()));
    const tookS = (Date.now() - started) / 1000;
    // The monitor cgroups and workload directories of ended workloads are reaped by the sweep; tenants are
    // gone only once their teardown finished. Give both a moment, then count.
    let left = await census();
    for (let i = 0; i < 100 && JSON.stringify(left) !== JSON.stringify({ ...empty, workloadDirs: left.workloadDirs }); i += 1) {
      await sleep(200);
      left = await census();
    }
    // A pidfd of a monitor or init still being reaped closes a moment later: a leaked descriptor stays.
    for (let i = 0; i < 50 && fileFigures().fds > start.fds + 5; i += 1) await sleep(200);
    const end = await processFigures();
    process.stdout.write(
      `# ${CYCLES} cycles (${withWorkload} with a workload) in ${tookS.toFixed(1)} s; governor fds ${start.fds} -> ${end.fds} (database connections ${start.databaseConnections} -> ${end.databaseConnections}, HTTP ${start.httpConnections} -> ${end.httpConnections}), RSS ${start.rssMiB.toFixed(0)} -> ${end.rssMiB.toFixed(0)} MiB\n`,
    );
    process.stdout.write(`# left behind: ${JSON.stringify(left)}\n`);
    process.stdout.write(
      `# samples: start: RSS ${start.rssMiB.toFixed(0)} MiB, heap ${start.heapMiB.toFixed(1)} MiB; ${samples.map((sample) => `${sample.cycles}: ${sample.fds} fds, RSS ${sample.rssMiB.toFixed(0)} MiB, heap ${sample.heapMiB.toFixed(1)} MiB, external ${sample.externalMiB.toFixed(1)} MiB`).join('; ')}\n`,
    );
    assert.deepEqual({ ...left, workloadDirs: 0 }, { ...empty, workloadDirs: 0 }, 'nothing of a deleted tenant is left');
    // An ended workload's logs stay until GOVERNOR_WORKLOAD_LOG_RETENTION, by design; its tenant's deletion removes them.
    assert.equal(left.workloadDirs, empty.workloadDirs, 'workload directories of deleted tenants are removed');
    assert.ok(
      end.fds <= start.fds + 5,
      `open files did not grow with the cycles: ${start.fds} -> ${end.fds}: ${JSON.stringify(start.kinds)} -> ${JSON.stringify(end.kinds)}`,
    );
    // The pool (10), the session that LISTENs for changes, and one session per fleet-wide lease (retention,
    // quarantine release).
    assert.ok(end.databaseConnections <= 13, `database connections stay within the pool: ${end.databaseConnections}`);
    // The clients kept their connections alive, at most one each; once they close them the governor must hold none.
    assert.ok(end.httpConnections <= PARALLEL, `one HTTP connection per client at most: ${end.httpConnections}`);
    agent.destroy();
    let http = end.httpConnections;
    for (let i = 0; i < 100 && http > 0; i += 1) {
      await sleep(200);
      http = fileFigures().httpConnections;
    }
    assert.equal(http, 0, `the governor closed every HTTP connection its clients closed (${end.httpConnections} at the end of the cycles, ${http} left)`);
    // Every figure is taken after a full garbage collection (heap-probe), so it is what is still reachable, not
    // where V8 let its heap settle (without the collection the RSS at the end varied by 80 MiB from run to run).
    // A leak keeps growing: the second half of the cycles may not add what the first half did. Measured on this
    // host (1,000 cycles; 4,000 with GOVERNOR_LEAK_CYCLES): the heap 34 MiB after the warm-up, 37.3 at 500, 37.7 at
    // 1,000, 39.8 at 3,000 and at 4,000 (code optimised and bounded caches filling); the RSS +20 MiB, then flat.
    const half = samples[1] ?? start;
    assert.ok(
      end.heapMiB <= half.heapMiB + 4,
      `the objects still reachable levelled off: ${half.heapMiB.toFixed(1)} MiB at ${half.cycles ?? 0} cycles, ${end.heapMiB.toFixed(1)} MiB at the end`,
    );
    assert.ok(
      end.rssMiB <= half.rssMiB + 24,
      `memory levelled off: ${half.rssMiB.toFixed(0)} MiB at ${half.cycles ?? 0} cycles, ${end.rssMiB.toFixed(0)} MiB at the end`,
    );
    assert.ok(end.rssMiB <= start.rssMiB + 64, `memory did not grow with the cycles: ${start.rssMiB.toFixed(0)} -> ${end.rssMiB.toFixed(0)} MiB`);
  });

  async function cycle(prefix: string, i: number, workload: boolean): Promise<void> {
    const name = `${prefix}-${i}`;
    const created = await api('POST', '/v1/tenants', { name, quota: { pids: { max: 64 } } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    if (workload) {
      for (let attempt = 0; ; attempt += 1) {
        const started = await api('POST', `/v1/tenants/${name}/workloads`, { command: ['/bin/sleep', '30'] });
        if (started.status === 201) break;
        // The tenant's namespaces are made by the reconciler just after the create: wait for them (a minute,
        // as for the deletion below: sixteen clients at once on a loaded two-core host take a while).
        assert.ok(attempt < 1200 && started.status === 409, JSON.stringify(started.json));
        await sleep(50);
      }
    }
    assert.equal((await api('DELETE', `/v1/tenants/${name}`)).status, 202);
    for (let attempt = 0; (await api('GET', `/v1/tenants/${name}`)).status !== 404; attempt += 1) {
      assert.ok(attempt < 600, `${name} is gone within a minute`);
      await sleep(100);
    }
  }
});
