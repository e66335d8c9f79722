import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { MAIN, type ServiceProcess, startService } from '../support/service.process';
import { creationsIn, isBeneath, isDevice, readTraces, snapshot, straceWrapper } from './file-watch';
import { type FuzzRequest, operationsOf, type Pools, requestArbitrary } from './requests';

/**
 * Property-based requests over every operation of the served OpenAPI document against a real governor
 * (role all on a scratch cgroup root and run dir, traced by strace): 0 answers 5xx, 0 crashes, and no
 * file or directory created by the governor or anything it started outside the cgroup root and the
 * run directory. GOVERNOR_FUZZ_RUNS and GOVERNOR_FUZZ_SEED change the defaults (10,000 cases, seed 12).
 */
const RUNS = Number(process.env.GOVERNOR_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.GOVERNOR_FUZZ_SEED ?? 12);
const CONCURRENCY = 4;
const WATCHED = ['/tmp', '/var/tmp', '/dev/shm', '/root', '/etc', '/run', process.cwd()];

const host = hostScratch('fuzz');
const traceDir = mkdtempSync(join(tmpdir(), 'governor-fuzz-trace-'));
const tracePrefix = join(traceDir, 'trace');
const dataDir = mkdtempSync(join(tmpdir(), 'governor-fuzz-data-'));
const sacrificial = spawn('sleep', ['3600'], { stdio: 'ignore' });
let databaseUrl: string;
let service: ServiceProcess | undefined;

interface Answer {
  status: number;
  body: string;
}

function send(base: string, req: Pick<FuzzRequest, 'method' | 'path' | 'headers' | 'body'>): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['Content-Length'] = req.body.length;
    const out = httpRequest({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    out.on('timeout', () => out.destroy(new Error('no answer within 30s')));
    out.on('error', reject);
    out.end(req.body);
  });
}

async function json<T>(base: string, method: string, path: string, body?: unknown, auth = `Bearer ${ROOT_TOKEN}`): Promise<T> {
  const res = await send(base, {
    method,
    path,
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
  });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

/** The governor's own pid: the child of strace. */
function governorPid(tracer: number): number | undefined {
  for (const task of readdirSync(`/proc/${tracer}/task`)) {
    const children = readFileSync(`/proc/${tracer}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length > 0) return Number(children[0]);
  }
  return undefined;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

before(async () => {
  databaseUrl = await createDatabase();
});

after(async () => {
  if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
  sacrificial.kill('SIGKILL');
  host.cleanup();
  await dropDatabase(databaseUrl);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(traceDir, { recursive: true, force: true });
});

it(`answers ${RUNS} generated requests over every documented route without a 5xx, a crash or a stray file`, { timeout: 15 * 60_000 }, async () => {
  const started = Date.now();
  const before = new Map(WATCHED.map((dir) => [dir, snapshot(dir, dir === '/tmp' ? 2 : 1)]));
  const dataBefore = [...snapshot(dataDir, 5)];
  service = await startService(
    {
      ...host.env,
      DATABASE_URL: databaseUrl,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_NET_POOL: '10.233.0.0/24',
      GOVERNOR_RESYNC_INTERVAL: '5s',
      GOVERNOR_AUTH_FAILURES: '999999/1m',
      GOVERNOR_LOG_LEVEL: 'error',
    },
    60_000,
    MAIN,
    straceWrapper(tracePrefix),
  );
  const base = service.url;

  // What the generated requests can name: tenants with keys, a workload, a quota request, an admin token.
  const pools: Pools = {
    tenants: [],
    workloadIds: [],
    keyIds: [],
    adminTokenIds: [],
    quotaRequestIds: [],
    admins: [`Bearer ${ROOT_TOKEN}`],
    tenantKeys: [],
    sacrificialPids: [sacrificial.pid!],
  };
  for (const name of ['fz-a', 'fz-b', 'fz-c']) {
    await json(base, 'POST', '/v1/tenants', { name, quota: { pids: { max: 64 }, memory: { max: '256Mi' } } });
    const key = await json<{ id: string; key: string }>(base, 'POST', `/v1/tenants/${name}/keys`, { name: 'fuzz' });
    pools.tenants.push(name);
    pools.keyIds.push(key.id);
    pools.tenantKeys.push(`Bearer ${key.key}`);
  }
  pools.tenants.push('fz-new', 'fz-other');
  // A tenant no generated path names, so that its key keeps reaching /v1/me whatever the others go through.
  await json(base, 'POST', '/v1/tenants', { name: 'fz-keep' });
  const kept = await json<{ key: string }>(base, 'POST', '/v1/tenants/fz-keep/keys', { name: 'fuzz' });
  pools.tenantKeys.unshift(`Bearer ${kept.key}`);
  const admin = await json<{ id: string; token: string }>(base, 'POST', '/v1/admin-tokens', { name: 'fuzzer' });
  pools.adminTokenIds.push(admin.id);
  pools.admins.push(`Bearer ${admin.token}`);
  const request = await json<{ id: string }>(base, 'POST', '/v1/me/quota-requests', { quota: { pids: { max: 128 } }, reason: 'fuzz' }, pools.tenantKeys[1]);
  pools.quotaRequestIds.push(request.id);
  for (let attempt = 0; pools.workloadIds.length === 0; attempt++) {
    const res = await send(base, {
      method: 'POST',
      path: '/v1/tenants/fz-a/workloads',
      headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ command: ['/bin/sleep', '600'] })),
    });
    if (res.status === 201) pools.workloadIds.push((JSON.parse(res.body) as { id: string }).id);
    else if (attempt > 200) assert.fail(`the first workload did not start: ${res.status} ${res.body}`);
    else await sleep(100); // the tenant's cgroup and namespaces are still being made
  }

  const doc = await json<Parameters<typeof operationsOf>[0]>(base, 'GET', '/docs/openapi.json');
  const operations = operationsOf(doc);
  const cases = fc.sample(requestArbitrary(operations, pools), { numRuns: RUNS, seed: SEED });

  const byStatus = new Map<number, number>();
  const byOperation = new Map<string, number>();
  const serverErrors: string[] = [];
  const transportErrors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const req = cases[next++];
      byOperation.set(req.operation, (byOperation.get(req.operation) ?? 0) + 1);
      try {
        const res = await send(base, req);
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        if (res.status >= 500 && !(res.status === 501 && /role/.test(res.body))) {
          serverErrors.push(
            `${res.status} ${req.method} ${req.path} ${JSON.stringify(req.headers)} ${req.body?.subarray(0, 200).toString('utf8')} → ${res.body.slice(0, 500)}`,
          );
        }
      } catch (err) {
        transportErrors.push(`${req.method} ${req.path}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const healthy = await send(base, { method: 'GET', path: '/healthz', headers: {}, body: undefined });

  const tracer = service.child.pid!;
  const governor = governorPid(tracer);
  const crashed = governor === undefined || service.child.exitCode !== null;
  if (governor !== undefined) {
    process.kill(governor, 'SIGTERM');
    for (let i = 0; i < 200 && alive(governor); i++) await sleep(50);
  }
  // Monitors and workloads outlive the governor by design; strace follows them until cleanup kills them.
  host.cleanup();
  for (let i = 0; i < 200 && service.child.exitCode === null; i++) await sleep(50);
  if (service.child.exitCode === null) service.child.kill('SIGKILL');

  // Besides its two trees, the governor keeps by design one lock file for its data dir and one per firewall table.
  const dataLock = join(dataDir, 'governor.lock');
  const allowed = [host.root, host.runDir, dataLock, `/run/lock/governor/firewall-${host.firewallTable}.lock`];
  const creations = readTraces(tracePrefix).flatMap((trace) => creationsIn(trace, process.cwd()));
  const stray = creations.filter((c) => !allowed.some((root) => isBeneath(c.path, root)) && !isDevice(c.path));
  const dataAfter = [...snapshot(dataDir, 5)].filter((path) => path !== dataLock);
  const newElsewhere = WATCHED.flatMap((dir) => [...snapshot(dir, dir === '/tmp' ? 2 : 1)].filter((path) => !before.get(dir)!.has(path)));
  const ours = newElsewhere.filter(
    (path) => !allowed.some((root) => isBeneath(path, root)) && creations.some((c) => isBeneath(c.path, path) || isBeneath(path, c.path)),
  );

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const statusLine = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  process.stdout.write(
    `fuzz: ${cases.length} requests (seed ${SEED}) over ${operations.length} operations in ${seconds}s; by status: ${statusLine}\n` +
      `fuzz: ${transportErrors.length} transport errors, ${serverErrors.length} 5xx, governor ${crashed ? 'CRASHED' : 'alive'}; ` +
      `${creations.length} names created by the governor's tree, ${stray.length} outside the cgroup root and run dir; ` +
      `${newElsewhere.length} new entries in ${WATCHED.join(' ')} by any process on the machine, ${ours.length} of them the governor's\n`,
  );

  assert.deepEqual(serverErrors.slice(0, 10), [], `${serverErrors.length} answers 5xx`);
  assert.deepEqual(transportErrors.slice(0, 10), [], `${transportErrors.length} requests without an answer`);
  assert.equal(crashed, false, `the governor exited:\n${service.stderr().slice(-3000)}`);
  assert.equal(healthy.status, 200);
  assert.deepEqual(
    stray.map((c) => c.line),
    [],
    'created outside the cgroup root and the run directory',
  );
  assert.deepEqual(ours, []);
  assert.deepEqual(dataAfter, dataBefore, 'nothing but the lock in the data dir (the admin token comes from the environment)');
  assert.equal(operations.length, byOperation.size, 'every operation of the document was tried');
});
