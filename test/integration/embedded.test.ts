import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Client } from 'pg';
import { hostScratch } from '../support/cgroup-root';
import { ROOT_TOKEN } from '../support/governor.harness';
import { loadTest } from '../support/load';
import { type ServiceProcess, startService } from '../support/service.process';

const dataDir = mkdtempSync(join(tmpdir(), 'governor-embedded-'));
const host = hostScratch('embedded');
const scratch: string[] = [];
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  host.cleanup();
});

/** A data dir of its own, removed after the file; under a mode 0700 directory, as mktemp -d and /root are. */
function freshDataDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `governor-embedded-${label}-`));
  scratch.push(dir);
  return join(dir, 'var');
}

/** The processes of the embedded server on `data`, found by their working directory. */
function serverPids(data: string): number[] {
  const out = spawnSync('sh', ['-c', `for p in /proc/[0-9]*; do [ "$p/cwd" -ef "${data}/postgres/data" ] && echo "\${p#/proc/}"; done`], { encoding: 'utf8' });
  return out.stdout.split('\n').filter(Boolean).map(Number);
}

async function embeddedClient(data: string): Promise<Client> {
  const client = new Client({ host: join(data, 'postgres', 'run'), user: 'governor', database: 'governor' });
  await client.connect();
  return client;
}

const api = (service: ServiceProcess, path: string, init: RequestInit = {}) =>
  fetch(`${service.url}${path}`, { ...init, headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json', ...init.headers } });

describe('the embedded database', () => {
  it('starts without DATABASE_URL, generates a root token once, and keeps tenants across a restart', async () => {
    // The service's own default for /metrics (the support code makes it public for the other tests).
    const first = await startService({
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_METRICS_PUBLIC: 'false',
      ...host.env,
    });
    let token: string;
    try {
      token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      assert.match(token, /^gva_/);
      assert.equal(statSync(join(dataDir, 'admin-token')).mode & 0o777, 0o600);
      assert.ok(first.stderr().includes(token), 'the generated token is shown on the terminal once');

      // A fresh start also makes a metrics token, and says how to scrape with it.
      const metricsFile = join(dataDir, 'metrics-token');
      assert.equal(statSync(metricsFile).mode & 0o777, 0o600);
      assert.ok(first.stderr().includes(`curl -H "Authorization: Bearer $(cat ${metricsFile})"`), first.stderr());
      assert.equal((await fetch(`${first.url}/metrics`)).status, 401);
      const scraped = await fetch(`${first.url}/metrics`, { headers: { Authorization: `Bearer ${readFileSync(metricsFile, 'utf8').trim()}` } });
      assert.equal(scraped.status, 200);
      assert.match(await scraped.text(), /^governor_cgroup_writes_total \d+$/m);

      const created = await fetch(`${first.url}/v1/tenants`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'survivor', quota: { memory: { max: '256Mi' } } }),
      });
      assert.equal(created.status, 201, await created.clone().text());
    } finally {
      assert.equal(await first.stop(), 0, first.stderr());
    }
    const log = first.stdout();
    assert.ok(!log.includes(token), 'the token never reaches the structured log');
    const requestLine = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { req?: { id?: string; url?: string; headers?: Record<string, string> }; res?: { statusCode?: number } })
      .find((entry) => entry.req?.url === '/v1/tenants' && entry.res?.statusCode === 201);
    assert.ok(requestLine?.req?.id, `one JSON line per request, with its request id:\n${log}`);
    assert.equal(requestLine.req.headers, undefined, 'the request line names no header, so no credential can reach it');

    const second = await startService({
      GOVERNOR_DATA_DIR: dataDir,
      ...host.env,
    });
    try {
      assert.ok(!second.stderr().includes(token), 'a later start does not print the token again');
      const res = await fetch(`${second.url}/v1/tenants/survivor`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const tenant = (await res.json()) as { quota: unknown };
      assert.deepEqual(tenant.quota, { memory: { max: 268435456 } });
    } finally {
      await second.stop();
    }
  });

  it('runs a real PostgreSQL as an unprivileged user, on a 0700 unix socket only, with durable settings', async () => {
    const data = freshDataDir('server');
    const service = await startService({ GOVERNOR_DATA_DIR: data, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN });
    try {
      const pids = serverPids(data);
      assert.ok(pids.length >= 3, `a postmaster and its helpers work in the data dir: ${pids.join(',')}`);
      for (const pid of pids) {
        const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
        assert.notEqual(uid, 0, `server process ${pid} must not run as root`);
        assert.equal(execFileSync('id', ['-nu', String(uid)], { encoding: 'utf8' }).trim(), 'governor-pg');
      }
      const inodes = new Set(pids.flatMap((pid) => spawnSync('ls', ['-l', `/proc/${pid}/fd`], { encoding: 'utf8' }).stdout.match(/socket:\[(\d+)\]/g) ?? []));
      const tcp = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) => readFileSync(file, 'utf8').split('\n').slice(1));
      const listening = tcp.filter((line) => line.split(/\s+/)[4] === '0A' && inodes.has(`socket:[${line.trim().split(/\s+/)[9]}]`));
      assert.deepEqual(listening, [], 'the server listens on no TCP port');
      assert.equal(statSync(join(data, 'postgres', 'run')).mode & 0o777, 0o700);
      assert.equal(statSync(join(data, 'postgres', 'data')).mode & 0o777, 0o700);
      const client = await embeddedClient(data);
      try {
        const settings = await client.query<{ name: string; setting: string }>(
          "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'listen_addresses', 'server_version_num') ORDER BY name",
        );
        const got = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
        assert.equal(got.fsync, 'on');
        assert.equal(got.synchronous_commit, 'on');
        assert.equal(got.listen_addresses, '');
        assert.ok(Number(got.server_version_num) >= 180000, `PostgreSQL 18: ${got.server_version_num}`);
        const exclusion = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'x'");
        assert.ok(exclusion.rows[0].n >= 2, 'the EXCLUDE constraints exist (btree_gist)');
      } finally {
        await client.end();
      }
    } finally {
      assert.equal(await service.stop(), 0, service.stderr());
    }
    assert.deepEqual(serverPids(data), [], 'the server stops with the governor');
  });

  it('refuses a second governor on the same data dir, naming the holder', async () => {
    const data = freshDataDir('second');
    const first = await startService({ GOVERNOR_DATA_DIR: data, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN });
    try {
      const before = serverPids(data);
      await assert.rejects(startService({ GOVERNOR_DATA_DIR: data, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN }), (err: Error) => {
        assert.match(err.message, /exited with 75/);
        assert.match(err.message, new RegExp(`in use by pid ${first.child.pid} on `));
        assert.match(err.message, /governor\.lock is locked/);
        return true;
      });
      assert.deepEqual(serverPids(data), before, 'no second server was started');
      assert.equal((await api(first, '/readyz')).status, 200, 'the first one is untouched');
    } finally {
      await first.stop();
    }
  });

  it('recovers from a server left running by a SIGKILLed governor, and from a stale postmaster.pid', async () => {
    const data = freshDataDir('stale');
    const env = { GOVERNOR_DATA_DIR: data, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN };
    const first = await startService(env);
    assert.equal((await api(first, '/v1/tenants', { method: 'POST', body: JSON.stringify({ name: 'kept' }) })).status, 201);
    first.child.kill('SIGKILL');
    await first.stop();
    const orphans = serverPids(data);
    assert.ok(orphans.length > 0, 'the server outlives a SIGKILLed governor');

    const second = await startService(env);
    try {
      assert.match(second.stdout(), /still running on .*shutting it down/);
      const now = serverPids(data);
      assert.ok(now.length > 0 && now.every((pid) => !orphans.includes(pid)), 'the old server was stopped and one new one runs');
      assert.equal((await api(second, '/v1/tenants/kept')).status, 200);
    } finally {
      await second.stop();
    }

    // A pid file naming a live process that is not a server here (a reused pid) must not stop the start.
    const impostor = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pidFile = join(data, 'postgres', 'data', 'postmaster.pid');
      writeFileSync(pidFile, `${impostor.pid}\n${data}/postgres/data\n1796500000\n5432\n/tmp/run\n\n  1234567     0\nready   \n`);
      const third = await startService(env);
      try {
        assert.equal((await api(third, '/v1/tenants/kept')).status, 200);
        assert.equal(impostor.exitCode, null, 'the process the stale pid file named was left alone');
      } finally {
        await third.stop();
      }
    } finally {
      impostor.kill();
    }
  });

  it('refuses a PGlite data directory of an earlier version with the command that imports it', async () => {
    const data = freshDataDir('pglite');
    mkdirSync(join(data, 'pgdata'), { recursive: true });
    writeFileSync(join(data, 'pgdata', 'PG_VERSION'), '17\n');
    await assert.rejects(startService({ GOVERNOR_DATA_DIR: data, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN }), (err: Error) => {
      assert.match(err.message, /exited with 78/);
      assert.match(err.message, /holds the data of the embedded PGlite database of an earlier Governor version/);
      assert.match(err.message, /npm run db:import-pglite -- .*pgdata/);
      return true;
    });
    assert.equal(serverPids(data).length, 0);
    assert.throws(() => statSync(join(data, 'postgres', 'data')), 'no empty cluster was made beside it');
  });

  it('answers 503 and turns /readyz red when its disk is full, and loses nothing acknowledged', { timeout: 180_000 }, async () => {
    const mountPoint = freshDataDir('full');
    mkdirSync(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m,mode=0700', 'governor-test-full', mountPoint]);
    try {
      const service = await startService({ GOVERNOR_DATA_DIR: mountPoint, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN });
      const acknowledged: string[] = [];
      try {
        assert.equal((await api(service, '/readyz')).status, 200);
        spawnSync('dd', ['if=/dev/zero', `of=${join(mountPoint, 'filler')}`, 'bs=1M'], { stdio: 'ignore' });
        const ready = await api(service, '/readyz');
        assert.equal(ready.status, 503);
        assert.match(((await ready.json()) as { detail: string }).detail, /disk is full/);
        let refused: { status: number; type: string; detail: string } | undefined;
        for (let i = 0; i < 200 && refused === undefined; i += 1) {
          const name = `full-${i}`;
          const res = await api(service, '/v1/tenants', { method: 'POST', body: JSON.stringify({ name, displayName: 'x'.repeat(200) }) });
          if (res.status === 201) acknowledged.push(name);
          else refused = { status: res.status, ...((await res.json()) as { type: string; detail: string }) };
        }
        assert.ok(refused, 'a write was refused once the disk was full');
        assert.equal(refused.status, 503, JSON.stringify(refused));
        assert.match(refused.type, /database-disk-full/);
        assert.match(refused.detail, /disk is full.*No space left on device/);

        rmSync(join(mountPoint, 'filler'));
        let readyAgain = 0;
        for (let i = 0; i < 100 && readyAgain !== 200; i += 1) {
          readyAgain = (await api(service, '/readyz')).status;
          if (readyAgain !== 200) await sleep(200);
        }
        assert.equal(readyAgain, 200, '/readyz is green again once there is room');
        assert.equal((await api(service, '/v1/tenants', { method: 'POST', body: JSON.stringify({ name: 'after-full' }) })).status, 201);
      } finally {
        await service.stop();
      }
      const again = await startService({ GOVERNOR_DATA_DIR: mountPoint, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN });
      try {
        for (const name of [...acknowledged, 'after-full']) assert.equal((await api(again, `/v1/tenants/${name}`)).status, 200, `${name} was acknowledged`);
      } finally {
        await again.stop();
      }
    } finally {
      spawnSync('umount', ['-l', mountPoint]);
    }
  });

  it('delivers a PATCH to the reconciler through NOTIFY well within a second, with a resync of an hour', async () => {
    const data = freshDataDir('notify');
    const scratchHost = hostScratch('notify');
    const service = await startService({
      GOVERNOR_DATA_DIR: data,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      GOVERNOR_RESYNC_INTERVAL: '1h',
      GOVERNOR_NET_POOL: '10.237.0.0/24',
      ...scratchHost.env,
    });
    try {
      assert.equal((await api(service, '/v1/tenants', { method: 'POST', body: JSON.stringify({ name: 'notified' }) })).status, 201);
      const observed = async (generation: number): Promise<number> => {
        const started = Date.now();
        for (;;) {
          const view = (await (await api(service, '/v1/tenants/notified')).json()) as { status: { observedGeneration?: number } };
          if ((view.status.observedGeneration ?? 0) >= generation) return Date.now() - started;
          assert.ok(Date.now() - started < 10_000, `generation ${generation} not observed within 10 s: the change waited for a resync`);
          await sleep(10);
        }
      };
      await observed(1);
      const latencies: number[] = [];
      for (let pids = 100; pids < 105; pids += 1) {
        const patched = await api(service, '/v1/tenants/notified', { method: 'PATCH', body: JSON.stringify({ quota: { pids: { max: pids } } }) });
        assert.equal(patched.status, 200);
        latencies.push(await observed(((await patched.json()) as { generation: number }).generation));
      }
      process.stdout.write(`# PATCH to observed through NOTIFY (embedded): ${latencies.join(', ')} ms\n`);
      assert.ok(Math.max(...latencies) < 1000, `every PATCH observed within a second: ${latencies.join(', ')} ms`);
    } finally {
      await service.stop();
      scratchHost.cleanup();
    }
  });

  for (const clients of [8, 32]) {
    it(`answers ${clients} clients × 200 requests with valid credentials with nothing but the expected 2xx`, { timeout: 600_000 }, async () => {
      const data = freshDataDir(`load${clients}`);
      const scratchHost = hostScratch(`load${clients}`);
      const service = await startService({
        GOVERNOR_DATA_DIR: data,
        GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
        GOVERNOR_NET_POOL: clients === 8 ? '10.238.0.0/22' : '10.239.0.0/22',
        ...scratchHost.env,
      });
      try {
        const result = await loadTest({ url: service.url, adminToken: ROOT_TOKEN, clients, requestsPerClient: 200, seed: clients });
        process.stdout.write(`# ${clients} clients × 200: ${JSON.stringify(result.byStatus)} in ${result.ms} ms\n`);
        // A 5xx names its request id; the governor's error lines say what went wrong behind it.
        const errors = (service.stdout() + service.stderr()).split('\n').filter((line) => /"level":(50|60)/.test(line));
        assert.deepEqual(
          result.unexpected,
          [],
          `every request answered as expected: ${JSON.stringify(result.unexpected.slice(0, 5))}\ngovernor errors:\n${errors.slice(0, 5).join('\n')}`,
        );
        assert.equal(result.total, clients * 200);
        assert.match(service.stdout() + service.stderr(), /^(?![\s\S]*(bind message supplies|portal "" does not exist|duplicate key))/);
      } finally {
        await service.stop();
        scratchHost.cleanup();
      }
    });
  }

  it('refuses to start with a bad setting and names the variable', async () => {
    await assert.rejects(startService({ GOVERNOR_DATA_DIR: dataDir, GOVERNOR_PORT: 'eighty', GOVERNOR_ROLE: 'boss' }), (err: Error) => {
      assert.match(err.message, /exited with 78/);
      assert.match(err.message, /GOVERNOR_PORT="eighty"/);
      assert.match(err.message, /GOVERNOR_ROLE="boss": must be one of all, api, agent/);
      return true;
    });
  });
});
