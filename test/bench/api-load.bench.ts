import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { MAIN, startService, type ServiceProcess } from '../support/service.process';
import { Client } from 'pg';
import { cpuSeconds, createTenants, RECONCILED } from './governor-process';
import { changeLatency } from './change-latency';
import { RawHttpConnection } from './raw-http';
import { cleanupOnSignal, fixed, millis, report, type Summary, summarize } from './stats';

// Issue 13's read and scrape goals, on this host: a real governor (role all, real PostgreSQL in a fresh
// database, a cgroup root in the host's cgroup2 tree, real tenant networks) with N tenants (default 1,000),
// all Ready, then while the reconciler resyncs them:
//  - GET /v1/tenants/{name} over random names from 32 keep-alive clients for ~15 s: requests/s, p50, p99;
//  - GET /metrics (with the metrics token) scraped back to back, alone and beside that GET load: p50, p99.
// Each resync interval of GOVERNOR_BENCH_API_RESYNC (default "5s,30s": a short one so passes overlap the load,
// and the default) is one restart of the same service on the same tenants; the windows start once that service
// has finished its first pass over every tenant (its time is in the setup figures). Reconcile passes counted during
// each window show that the reconciler was running. GOVERNOR_BENCH_MAIN measures another build;
// GOVERNOR_BENCH_BEFORE=<main.js of another build> adds that build's rows, restarted on the same tenants and
// database in the same run, for a side-by-side before and after. GOVERNOR_BENCH_API_TENANTS sets the size,
// GOVERNOR_BENCH_API_SECONDS the window (default 15), GOVERNOR_BENCH_API_ROUNDS how many times the builds
// alternate (default 1: after, then before, at each resync interval in turn), GOVERNOR_BENCH_API_POOL the
// tenant address pool (default 10.228.0.0/16; parallel runs on one host each need their own),
// GOVERNOR_BENCH_LABEL a word in the scratch cgroup root, run dir and firewall table names.
// GOVERNOR_BENCH_API_LATENCY_ROUNDS=<n> (default 0) then times n changes of a random tenant, PATCH to its
// cgroup.freeze, while the tenants keep resyncing (see change-latency.ts), after the GET window of each run.
// A GET's cost is also given as CPU time per GET, which a crowded host inflates far less than it cuts the
// rate: the governor's (utime + stime of /proc/<pid>/stat) and its database backends' (the server processes of
// pg_stat_activity for this database) over the GET window, divided by the GETs answered.
// GOVERNOR_BENCH_API_SCRAPES_BESIDE=0 runs the GET window without the back-to-back scrapes: issue 13's GET goal
// asks for 32 clients while the tenants resync, and a scrape back to back takes a turn of the event loop
// about as often as each of the 32 clients while costing tens of GETs' CPU.
// GOVERNOR_BENCH_API_CEILING=1 adds a second window of the same length, GET /healthz with the admin token from
// the same 32 clients beside the same scrapes: what the HTTP stack (express, Nest's middleware and filter, the
// access log, the answer's write) serves when no database read is behind the answer, the ceiling of this host
// (the tenant passes counted beside the GETs then cover both windows). The GET fast path does not serve
// /healthz: since it, the ceiling is express's, above which a tenant GET can now go.
// The 32 clients are raw keep-alive sockets with a minimal answer parser (raw-http.ts): node:http's client
// cost about as much CPU per GET as the governor, on the same 2 cores; each answer is still checked (status,
// and the body's name for a tenant GET) and a wrong one counted. GOVERNOR_BENCH_API_CLIENT=node uses
// node:http's agent, as before, to compare.

const main = process.env.GOVERNOR_BENCH_MAIN ?? MAIN;
const before = process.env.GOVERNOR_BENCH_BEFORE;
const TENANTS = Number(process.env.GOVERNOR_BENCH_API_TENANTS ?? 1000);
const RESYNCS = (process.env.GOVERNOR_BENCH_API_RESYNC ?? '5s,30s').split(',');
const WINDOW_S = Number(process.env.GOVERNOR_BENCH_API_SECONDS ?? 15);
const ROUNDS = Number(process.env.GOVERNOR_BENCH_API_ROUNDS ?? 1);
const POOL = process.env.GOVERNOR_BENCH_API_POOL ?? '10.228.0.0/16';
const LABEL = process.env.GOVERNOR_BENCH_LABEL ?? 'bapi';
const LATENCY_ROUNDS = Number(process.env.GOVERNOR_BENCH_API_LATENCY_ROUNDS ?? 0);
const CEILING = process.env.GOVERNOR_BENCH_API_CEILING === '1';
const SCRAPES_BESIDE = process.env.GOVERNOR_BENCH_API_SCRAPES_BESIDE !== '0';
const CLIENTS = 32;
/** "raw" (default): the lean client of raw-http.ts; "node": node:http's keep-alive agent, as before it. */
const CLIENT = process.env.GOVERNOR_BENCH_API_CLIENT ?? 'raw';
if (CLIENT !== 'raw' && CLIENT !== 'node') throw new Error(`GOVERNOR_BENCH_API_CLIENT: ${CLIENT} is neither raw nor node`);
// GOVERNOR_BENCH_API_PROFILE=<dir>: the governor writes a V8 CPU profile there when it stops (node --cpu-prof).
const PROFILE_DIR = process.env.GOVERNOR_BENCH_API_PROFILE;
const profile = PROFILE_DIR === undefined ? [] : ['sh', '-c', `exec "$0" --cpu-prof --cpu-prof-dir='${PROFILE_DIR}' "$@"`];
const METRICS_TOKEN = 'bench-metrics-token-0123456789';
const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };

interface Answer {
  status: number;
  body: string;
}

/** One request on a keep-alive agent; the body is read whole, as a client would. */
function get(agent: Agent, url: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}
const PASSES = /^governor_reconcile_total\{/;

/** Scrapes back to back until `stop.done`: each scrape's latency. */
async function scrapes(url: string, stop: { done: boolean }): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    while (!stop.done) {
      const start = process.hrtime.bigint();
      const res = await get(agent, `${url}/metrics`, METRICS_TOKEN);
      if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${res.body.slice(0, 300)}`);
      samples.push(millis(start));
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

interface ReadLoad {
  latencies: number[];
  seconds: number;
  wrong: Record<string, number>;
}

/** A path to GET, and whether an answer to it is right. */
interface Target {
  path: string;
  right: (res: Answer) => boolean;
}

/** A random tenant; a right answer is a 200 of this tenant: another tenant's view or an error would be a wrong read. */
function tenantTarget(names: string[]): Target {
  const name = names[Math.floor(Math.random() * names.length)];
  return { path: `/v1/tenants/${name}`, right: (res) => res.status === 200 && (JSON.parse(res.body) as { name?: string }).name === name };
}

const healthTarget: Target = { path: '/healthz', right: (res) => res.status === 200 };

/** CLIENTS keep-alive clients, each GETting the next target as soon as its previous answer came. */
async function readLoad(url: string, target: () => Target, seconds: number): Promise<ReadLoad> {
  const latencies: number[] = [];
  const wrong: Record<string, number> = {};
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  const { hostname, port } = new URL(url);
  const getters = Array.from({ length: CLIENTS }, (): { get: (path: string) => Promise<Answer>; close: () => void } => {
    if (CLIENT === 'node') {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      return { get: (path) => get(agent, `${url}${path}`, ROOT_TOKEN), close: () => agent.destroy() };
    }
    const connection = new RawHttpConnection(Number(port), hostname, `Authorization: Bearer ${ROOT_TOKEN}\r\n`);
    return { get: (path) => connection.get(path), close: () => connection.close() };
  });
  const client = async (getter: (path: string) => Promise<Answer>) => {
    while (Date.now() < deadline) {
      const { path, right } = target();
      const start = process.hrtime.bigint();
      const res = await getter(path).catch((err: Error) => ({ status: -1, body: err.message }));
      latencies.push(millis(start));
      if (!right(res)) wrong[`${res.status} ${res.body.slice(0, 120)}`] = (wrong[`${res.status} ${res.body.slice(0, 120)}`] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(getters.map((g) => client(g.get)));
  } finally {
    for (const g of getters) g.close();
  }
  return { latencies, seconds: millis(started) / 1000, wrong };
}

/** CPU seconds so far of each backend serving this database, by pid. */
async function backendCpu(databaseUrl: string): Promise<Map<number, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    const cpu = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        cpu.set(pid, cpuSeconds(pid));
      } catch {
        // the backend ended meanwhile
      }
    }
    return cpu;
  } finally {
    await client.end();
  }
}

/** CPU seconds the backends spent between two looks; one that started between them counts from its start. */
function backendCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, seconds] of after) sum += seconds - (before.get(pid) ?? 0);
  return sum;
}

async function allReady(service: ServiceProcess, tenants: number): Promise<void> {
  for (let deadline = Date.now() + 1_800_000; ; await sleep(2000)) {
    let ready = 0;
    let cursor: string | undefined;
    do {
      const page = (await (
        await fetch(`${service.url}/v1/tenants?limit=500${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { headers: auth })
      ).json()) as { items: Array<{ status?: { phase?: string } }>; nextCursor?: string | null };
      ready += page.items.filter((t) => t.status?.phase === 'Ready').length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    process.stderr.write(`api-load: ${ready} of ${tenants} tenants Ready\n`);
    if (ready >= tenants) return;
    if (Date.now() > deadline) throw new Error(`${ready} of ${tenants} tenants Ready after 30 minutes`);
  }
}

/**
 * Waits for a governor's first pass over every tenant (one `success` each since it started): that pass reads
 * and checks every tenant in full, seconds of work at 1,000 tenants, while the windows measure the reconciler's
 * resyncs. Its end used to fall inside the first window or not, by a second either way, and so did its cost.
 */
async function firstPass(service: ServiceProcess, tenants: number): Promise<void> {
  for (let deadline = Date.now() + 600_000; (await metric(service.url, RECONCILED)) < tenants; await sleep(500)) {
    if (Date.now() > deadline) throw new Error(`the governor's first pass did not reach ${tenants} tenants within 10 minutes`);
  }
}

/** "5s" → 5000: the resync intervals this benchmark is given are whole seconds. */
function resyncMs(resync: string): number {
  const match = /^(\d+)s$/.exec(resync);
  if (match === null) throw new Error(`GOVERNOR_BENCH_API_RESYNC: ${resync} is not a whole number of seconds ("30s")`);
  return Number(match[1]) * 1000;
}

/** The change-latency columns of a run: empty when no rounds were asked for. */
async function latencyColumns(service: ServiceProcess, root: string, names: string[], resync: string): Promise<Record<string, string>> {
  if (LATENCY_ROUNDS === 0) return {};
  const latency = await changeLatency(service.url, root, names, LATENCY_ROUNDS, resyncMs(resync));
  const fromRequest = summarize(latency.fromRequest);
  const fromAnswer = summarize(latency.fromAnswer);
  return {
    'PATCH to cgroup.freeze p50 / p99 / max ms': `${fixed(fromRequest.p50, 0)} / ${fixed(fromRequest.p99, 0)} / ${fixed(fromRequest.max, 0)} (${fromRequest.n})`,
    'answer to file p50 / p99 ms': `${fixed(fromAnswer.p50, 0)} / ${fixed(fromAnswer.p99, 0)}`,
    'load average after (1 min)': fixed(loadavg()[0], 1),
  };
}

async function measure(service: ServiceProcess, databaseUrl: string, names: string[], resync: string, build: string): Promise<Record<string, string | number>> {
  await sleep(2000);
  const idleStop = { done: false };
  const passesIdle = await metric(service.url, PASSES);
  const idle = scrapes(service.url, idleStop);
  await sleep((WINDOW_S * 1000) / 2);
  idleStop.done = true;
  const idleScrapes = summarize(await idle);
  const passesBeside = await metric(service.url, PASSES);
  const loadStop = { done: false };
  const beside = SCRAPES_BESIDE ? scrapes(service.url, loadStop) : Promise.resolve([]);
  const pid = service.child.pid!;
  const [governorCpuBefore, backendCpuBefore] = [cpuSeconds(pid), await backendCpu(databaseUrl)];
  const clientCpuBefore = process.cpuUsage();
  const load = await readLoad(service.url, () => tenantTarget(names), WINDOW_S);
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const [governorCpuAfter, backendCpuAfter] = [cpuSeconds(pid), await backendCpu(databaseUrl)];
  const loadAverage = loadavg()[0];
  const ceiling = CEILING ? await readLoad(service.url, () => healthTarget, WINDOW_S) : undefined;
  loadStop.done = true;
  const besideSamples = await beside;
  const passesAfter = await metric(service.url, PASSES);
  const reads = summarize(load.latencies);
  const wrong = Object.values(load.wrong).reduce((a, b) => a + b, 0);
  if (wrong > 0) process.stderr.write(`wrong answers: ${JSON.stringify(load.wrong)}\n`);
  return {
    build,
    tenants: names.length,
    resync,
    'GET/s (32 clients)': fixed(reads.n / load.seconds, 0),
    'GET p50 ms': fixed(reads.p50, 1),
    'GET p99 ms': fixed(reads.p99, 1),
    'wrong answers': wrong,
    'governor CPU ms / GET': fixed(((governorCpuAfter - governorCpuBefore) * 1000) / reads.n, 3),
    // this benchmark's own 32 clients (and the scrapes beside): on the same cores as the governor, they cost against its rate
    client: CLIENT,
    'client CPU ms / GET': fixed((clientCpu.user + clientCpu.system) / 1000 / reads.n, 3),
    'PostgreSQL CPU ms / GET': fixed((backendCpuBetween(backendCpuBefore, backendCpuAfter) * 1000) / reads.n, 3),
    '/metrics alone p50 / p99 ms': `${fixed(idleScrapes.p50, 0)} / ${fixed(idleScrapes.p99, 0)} (${idleScrapes.n})`,
    '/metrics beside GETs p50 / p99 ms': besideSamples.length === 0 ? 'none' : scrapeColumn(summarize(besideSamples)),
    'tenant passes (alone, beside)': `${passesBeside - passesIdle}, ${passesAfter - passesBeside}`,
    'load average (1 min)': fixed(loadAverage, 1),
    ...(ceiling === undefined ? {} : ceilingColumns(ceiling)),
  };
}

function scrapeColumn(scrapes: Summary): string {
  return `${fixed(scrapes.p50, 0)} / ${fixed(scrapes.p99, 0)} (${scrapes.n})`;
}

function ceilingColumns(ceiling: ReadLoad): Record<string, string | number> {
  const answers = summarize(ceiling.latencies);
  return {
    'GET /healthz/s (32 clients)': fixed(answers.n / ceiling.seconds, 0),
    'GET /healthz p50 / p99 ms': `${fixed(answers.p50, 1)} / ${fixed(answers.p99, 1)}`,
    'GET /healthz wrong': Object.values(ceiling.wrong).reduce((a, b) => a + b, 0),
  };
}

async function run(): Promise<void> {
  const scratch = hostScratch(LABEL);
  const databaseUrl = await createDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-bench-api-'));
  const env = (resync: string) => ({
    ...scratch.env,
    DATABASE_URL: databaseUrl,
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    GOVERNOR_METRICS_TOKEN: METRICS_TOKEN,
    GOVERNOR_LOG_LEVEL: process.env.GOVERNOR_BENCH_LOG_LEVEL ?? 'info',
    GOVERNOR_NET_POOL: POOL,
    GOVERNOR_RESYNC_INTERVAL: resync,
  });
  let service: ServiceProcess | undefined;
  const removeHandlers = cleanupOnSignal(() => {
    service?.child.kill('SIGKILL');
    scratch.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const rows: Array<Record<string, string | number>> = [];
  const setup: Record<string, number> = {};
  try {
    const names = Array.from({ length: TENANTS }, (_, i) => `api-${i}`);
    // Alternating builds, so that a change in the host's load between runs falls on both alike.
    const builds =
      before === undefined
        ? [{ build: 'this', main }]
        : [
            { build: 'after', main },
            { build: 'before', main: before },
          ];
    const runs = Array.from({ length: ROUNDS }, () => RESYNCS.flatMap((resync) => builds.map((b) => ({ ...b, resync })))).flat();
    for (const [i, run] of runs.entries()) {
      const started = process.hrtime.bigint();
      service = await startService(env(run.resync), 300_000, run.main, profile);
      process.stderr.write(`api-load: ${run.build} governor at ${service.url}, resync ${run.resync}\n`);
      if (i === 0) {
        await createTenants(service.url, ROOT_TOKEN, names);
        setup['create s'] = millis(started) / 1000;
      }
      await allReady(service, TENANTS);
      setup[`run ${i + 1}, ${run.build} at ${run.resync}: Ready after s`] = millis(started) / 1000;
      await firstPass(service, TENANTS);
      setup[`run ${i + 1}: its first pass over every tenant done after s`] = millis(started) / 1000;
      const row = await measure(service, databaseUrl, names, run.resync, run.build);
      rows.push({ ...row, ...(await latencyColumns(service, scratch.root, names, run.resync)) });
      // Each row as soon as it is measured: the cleanup of 1,000 tenants' mounts and links takes minutes.
      process.stderr.write(`api-load row: ${JSON.stringify(rows[rows.length - 1])}\n`);
      await service.stop();
      service = undefined;
    }
  } finally {
    await service?.stop();
    await dropDatabase(databaseUrl);
    rmSync(dataDir, { recursive: true, force: true });
    scratch.cleanup();
    removeHandlers();
  }
  report('api-load', { main, before, clients: CLIENTS, windowSeconds: WINDOW_S, setup, rows }, rows);
}

void run();
