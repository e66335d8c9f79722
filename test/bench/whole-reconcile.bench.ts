import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { CGROUP2_MOUNT } from '../support/cgroup-root';
import { ROOT_TOKEN } from '../support/governor.harness';
import { MAIN, startService, type ServiceProcess, withNodeFlags } from '../support/service.process';
import { COUNTED_CALLS, countSyscalls, detach, trace } from '../support/syscall-count';
import {
  benchWorld,
  CGROUP_WRITES,
  cpuSeconds,
  createTenants,
  forksSinceBoot,
  metric,
  metrics,
  processCpu,
  RECONCILED,
  stepMeans,
  stepTimes,
  memoryMeanwhile,
  memoryState,
  systemCpu,
  topCpu,
} from './governor-process';
import { measureFloor } from './whole-reconcile.floor';
import { fixed, report, seconds, summarize } from './stats';

// The whole reconciler (database read, cgroup, namespaces, link, shaping, firewall, home, init, status write)
// of a real service process over N tenants, against the floor of whole-reconcile.floor.ts measured in the
// same run. Meant for the kernel guest, where every controller exists (test/bench/run.sh); on a hybrid host
// the cgroup floor is n/a and the tenants end Degraded (no controllers), which still times the whole pass.
//  - cold: N tenants already in the database (made through a role api service, which reconciles nothing),
//    then a role all service started: from its spawn to every tenant's status at its generation;
//  - one change, the service idle (a 1 h resync): PATCH of a tenant's pids.max to the kernel file;
//  - no-op, the service restarted with a 1 s resync, so that passes run back to back: pass time = window ÷
//    passes (one `success` per tenant a pass), CPU of the governor and its reaped children, its own count of
//    cgroup writes, the guest's /proc/stat forks; then, under strace, execve, forks, writes to /sys and
//    /proc files and netlink requests that change something;
//  - with one tenant held in MemoryLimitPending (a process keeps 100 MiB under a memory.max lowered to 64
//    MiB; where the memory controller exists), PATCHes of random tenants' pids.max, at random moments of
//    the resync, from the PATCH's answer (its commit and NOTIFY) to the kernel file.
// GOVERNOR_BENCH_TENANTS (default 100), GOVERNOR_BENCH_LATENCY_ROUNDS (default 100), GOVERNOR_BENCH_DATA_DIR
// (where the tenants' home images go; default the tmpdir), GOVERNOR_BENCH_MAIN (another build),
// GOVERNOR_BENCH_NET (the first two octets of the /16 whose two halves the governor and the floor use; default
// 10.216), GOVERNOR_BENCH_COLD_ONLY=1 (stop after the cold pass and the idle changes: for before/after rounds of
// the cold pass), GOVERNOR_BENCH_SKIP=floor,noop (either or both: leave out the floor, or the no-op windows and with them the floor's read-back, so
// that a guest run at 1,000 tenants reaches the MemoryLimitPending latency within a session; the governor still
// runs two passes at the 1 s resync first), GOVERNOR_BENCH_STEPS_EVERY=<s> (during the cold pass, what each reconcile
// step cost a tenant, and where the system's CPU went by process, every <s> seconds; off by default, since each
// reading is a whole /metrics scrape), GOVERNOR_BENCH_PROFILE_DIR (a CPU profile of each governor started, written
// there when it stops: node's --cpu-prof; in the guest, a directory of the checkout, which is shared),
// GOVERNOR_BENCH_PERF_AT=<n>,<n> (with PROFILE_DIR: when the cold pass has applied n tenants, `perf record -a -g` of
// the whole system for 30 s into PROFILE_DIR/perf-<n>.data, for the kernel's share; read it with `perf report -i`
// on the same kernel, in the guest). The cold pass's
// figures always include each step's mean over the whole pass. Each phase's figures go to stderr as soon as they are
// measured, so a run cut short keeps them.

const main = process.env.GOVERNOR_BENCH_MAIN ?? MAIN;
const SIZES = (process.env.GOVERNOR_BENCH_TENANTS ?? '100').split(',').map(Number);
const ROUNDS = Number(process.env.GOVERNOR_BENCH_LATENCY_ROUNDS ?? 100);
const DATA_DIR = process.env.GOVERNOR_BENCH_DATA_DIR ?? tmpdir();
const COLD_ONLY = process.env.GOVERNOR_BENCH_COLD_ONLY === '1';
const SKIP = new Set((process.env.GOVERNOR_BENCH_SKIP ?? '').split(',').filter((phase) => phase !== ''));
for (const phase of SKIP)
  if (phase !== 'floor' && phase !== 'noop') throw new Error(`GOVERNOR_BENCH_SKIP: ${phase} is not a phase that can be left out (floor, noop)`);
/** the address pool: the governor's half, then the floor's */
const NET = process.env.GOVERNOR_BENCH_NET ?? '10.216';
const STEPS_EVERY_MS = Number(process.env.GOVERNOR_BENCH_STEPS_EVERY ?? 0) * 1000;
const PROFILE_DIR = process.env.GOVERNOR_BENCH_PROFILE_DIR;
const PERF_AT = (process.env.GOVERNOR_BENCH_PERF_AT ?? '')
  .split(',')
  .filter((n) => n !== '')
  .map(Number);
if (PERF_AT.some((n) => !Number.isInteger(n) || n <= 0) || (PERF_AT.length > 0 && PROFILE_DIR === undefined))
  throw new Error('GOVERNOR_BENCH_PERF_AT: tenant counts such as 500,1000, with GOVERNOR_BENCH_PROFILE_DIR for the files');
const PERF_SECONDS = 30;
const NET_POOL = `${NET}.0.0/17`;
const FLOOR_BASE = 128;
/** How many tenants GOVERNOR_UID_POOL's default holds (65536 uids each), and a pool of 8,192 for more. */
const DEFAULT_POOL_TENANTS = 4094;
const WIDE_UID_POOL = '1342177280-1879048191';
const QUOTA = {
  cpu: { max: '0.5' },
  memory: { max: '256Mi', high: '240Mi' },
  pids: { max: 100 },
  network: { ingress: '8Mbit' },
  filesystem: { homeSize: '16Mi' },
};
const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };
const log = (message: string) =>
  process.stderr.write(
    `whole-reconcile: ${message} (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})\n`,
  );

interface Governor {
  service: ServiceProcess;
  pid: number;
  spawnedAt: bigint;
}

async function startGovernor(env: Record<string, string>, resync: string): Promise<Governor> {
  const spawnedAt = process.hrtime.bigint();
  // A CPU profile of each governor, written when it stops (node's --cpu-prof, which NODE_OPTIONS may not carry).
  const profile = PROFILE_DIR === undefined ? [] : withNodeFlags('--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`);
  const service = await startService({ ...env, GOVERNOR_RESYNC_INTERVAL: resync }, 1_800_000, main, profile);
  return { service, pid: service.child.pid as number, spawnedAt };
}

/** Why the tenants that are not Ready are not: each condition's reason, how many tenants have it, and one message. */
async function notReady(db: Client): Promise<string> {
  const { rows } = await db.query<{ reason: string; n: number; example: string }>(
    `SELECT c->>'reason' AS reason, count(*)::int AS n, min(t.name || ': ' || (c->>'message')) AS example
       FROM tenants t JOIN tenant_statuses s ON s.tenant_id = t.id, jsonb_array_elements(s.conditions) c
      WHERE s.phase <> 'Ready' AND c->>'status' = 'True' AND c->>'type' <> 'Ready'
      GROUP BY 1 ORDER BY 2 DESC`,
  );
  return rows.length === 0 ? 'none' : rows.map((r) => `${r.reason} ×${r.n} (${r.example})`).join('; ');
}

/** Tenants whose status is at their generation, by phase (one query on the benchmark's own connection). */
async function phases(db: Client): Promise<Map<string, number>> {
  const { rows } = await db.query<{ phase: string; n: number }>(
    'SELECT s.phase, count(*)::int AS n FROM tenants t JOIN tenant_statuses s ON s.tenant_id = t.id AND s.observed_generation = t.generation GROUP BY s.phase',
  );
  return new Map(rows.map((r) => [r.phase, r.n]));
}

/**
 * `perf record` of the whole system for PERF_SECONDS, in the background, then its report by symbol, flat and with
 * the callers of the top ones, as text next to it (made here: the guest's kernel symbols are not the host's), and
 * this boot's /proc/kallsyms for other reports later. A failure is said, not thrown.
 */
function perfRecord(applied: number): void {
  const file = join(PROFILE_DIR ?? '.', `perf-${applied}.data`);
  log(`${applied} tenants applied: perf record -a -g for ${PERF_SECONDS} s into ${file}`);
  const script = [
    `perf record -a -g -q -o '${file}' -- sleep ${PERF_SECONDS}`,
    // This boot's kernel symbols, so that the data can be read again elsewhere: perf report --kallsyms <file>.kallsyms.
    `cp /proc/kallsyms '${file}.kallsyms'`,
    `perf report -i '${file}' --stdio --no-children --sort comm,sym -g none --percent-limit 0.3 > '${file}.flat.txt' 2>&1`,
    `perf report -i '${file}' --stdio --no-children --sort sym -g caller,0.5,callee,function,percent --percent-limit 2 > '${file}.callers.txt' 2>&1`,
  ].join(' && ');
  const perf = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
  perf.on('error', (err) => log(`perf could not start: ${err.message}`));
  perf.on('exit', (code) => log(`perf at ${applied} tenants: ${code === 0 ? `reports in ${file}.flat.txt and ${file}.callers.txt` : `exited with ${code}`}`));
}

/**
 * Waits for every tenant's status at its generation, saying every 30 s how many are; with STEPS_EVERY, also what
 * each reconcile step cost a tenant meanwhile (so that a pass that slows as it goes says which step grew). That
 * reading is a whole /metrics scrape, which at 1,000 tenants holds the guest's governor for seconds: off by default.
 */
async function allApplied(db: Client, tenants: number, url: string): Promise<Map<string, number>> {
  let steps = new Map<string, { seconds: number; count: number }>();
  let stepsAt = Date.now();
  let cpu = { processes: processCpu(), system: systemCpu(), memory: memoryState() };
  let perfNext = 0;
  for (let deadline = Date.now() + 7_200_000, told = Date.now(); ; await sleep(500)) {
    const now = await phases(db);
    const done = [...now.values()].reduce((a, b) => a + b, 0);
    if (done >= tenants) return now;
    for (; perfNext < PERF_AT.length && done >= PERF_AT[perfNext]; perfNext += 1) perfRecord(PERF_AT[perfNext]);
    if (Date.now() - told > 30_000) {
      let meanwhile = '';
      if (STEPS_EVERY_MS > 0 && Date.now() - stepsAt >= STEPS_EVERY_MS) {
        const later = await stepTimes(url).catch(() => steps);
        const cpuNow = { processes: processCpu(), system: systemCpu(), memory: memoryState() };
        meanwhile = `; mean ms a tenant by step meanwhile: ${stepMeans(steps, later)}; CPU meanwhile: ${topCpu(cpu, cpuNow)}; memory: ${memoryMeanwhile(cpu.memory, cpuNow.memory)}`;
        steps = later;
        cpu = cpuNow;
        stepsAt = Date.now();
      }
      log(`${done} of ${tenants} tenants applied${meanwhile}`);
      told = Date.now();
    }
    if (Date.now() > deadline) throw new Error(`${done} of ${tenants} tenants applied after 2 hours`);
  }
}

async function patch(url: string, name: string, body: object): Promise<void> {
  const res = await fetch(`${url}/v1/tenants/${name}`, {
    method: 'PATCH',
    headers: { ...auth, 'Content-Type': 'application/merge-patch+json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`PATCH ${name}: ${res.status} ${await res.text()}`);
}

/** A change that ends in one kernel file: pids.max where the controller exists, else cgroup.freeze (core). */
function changeOf(root: string, name: string, round: number): { body: object; file: string; value: string } {
  const dir = join(root, 'tenants', name);
  if (existsSync(join(dir, 'pids.max'))) return { body: { quota: { pids: { max: 101 + round } } }, file: join(dir, 'pids.max'), value: String(101 + round) };
  const suspended = readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim() !== '1';
  return { body: { suspended }, file: join(dir, 'cgroup.freeze'), value: suspended ? '1' : '0' };
}

/** PATCH to kernel file: milliseconds from the request and from its answer. */
async function change(url: string, root: string, name: string, round: number): Promise<{ fromRequest: number; fromAnswer: number }> {
  const { body, file, value } = changeOf(root, name, round);
  const start = performance.now();
  await patch(url, name, body);
  const answered = performance.now();
  for (const deadline = Date.now() + 600_000; readFileSync(file, 'utf8').trim() !== value; await sleep(2)) {
    if (Date.now() > deadline) throw new Error(`${file} not ${value} within 10 minutes`);
  }
  const applied = performance.now();
  return { fromRequest: applied - start, fromAnswer: applied - answered };
}

/** Passes (one `success` per tenant each) over `windowS` seconds: how long a pass took, and what it cost. */
async function noopWindow(gov: Governor, tenants: number, windowS: number) {
  const url = gov.service.url;
  // The window runs from one scrape's answer to the next's: a pass counted is inside it, the scrapes are not.
  const [reconciled, writes] = await metrics(url, [RECONCILED, CGROUP_WRITES]);
  const start = process.hrtime.bigint();
  const [cpu, forks] = [cpuSeconds(gov.pid), forksSinceBoot()];
  await sleep(windowS * 1000);
  const [cpuAfter, forksAfter] = [cpuSeconds(gov.pid), forksSinceBoot()];
  const [reconciledAfter, writesAfter] = await metrics(url, [RECONCILED, CGROUP_WRITES]);
  const elapsed = seconds(start);
  const passes = (reconciledAfter - reconciled) / tenants;
  return {
    passes,
    passSeconds: elapsed / passes,
    cpuPerPass: (cpuAfter - cpu) / passes,
    cgroupWritesPerPass: (writesAfter - writes) / passes,
    forksPerPass: (forksAfter - forks) / passes,
  };
}

/** The same passes under strace: what the governor wrote to the kernel and which processes it started. */
async function tracedWindow(gov: Governor, tenants: number, windowS: number) {
  const dir = mkdtempSync(join(tmpdir(), 'governor-bench-whole-strace-'));
  try {
    const before = await metric(gov.service.url, RECONCILED);
    const strace = trace(gov.pid, join(dir, 'log'), COUNTED_CALLS, ['-yy', '-s', '1']);
    await sleep(windowS * 1000);
    await detach(strace);
    const passes = ((await metric(gov.service.url, RECONCILED)) - before) / tenants;
    const count = countSyscalls(readFileSync(join(dir, 'log'), 'utf8'));
    if (count.netlinkSamples.length > 0 || count.kernelFileWrites.length > 0) {
      log(`writes seen under strace: ${[...count.kernelFileWrites.slice(0, 5), ...count.netlinkSamples].join('\n  ')}`);
    }
    return { passes, count };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One change under strace, to show that the count sees writes when there are some. */
async function tracedChange(gov: Governor, root: string, name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'governor-bench-whole-strace-'));
  try {
    const strace = trace(gov.pid, join(dir, 'log'), COUNTED_CALLS, ['-yy', '-s', '1']);
    // strace attaches to one thread after another: on a loaded host that takes seconds.
    await sleep(5000);
    await change(gov.service.url, root, name, 7);
    await sleep(2000);
    await detach(strace);
    return countSyscalls(readFileSync(join(dir, 'log'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tenant whose lowered memory.max waits for reclaim: a process holds 100 MiB under a limit of 64 MiB. */
async function stuckTenant(url: string, root: string): Promise<ChildProcess> {
  const res = await fetch(`${url}/v1/tenants`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'stuck', quota: { memory: { max: '256Mi', swapMax: '0' }, filesystem: { homeSize: '16Mi' } } }),
  });
  if (res.status !== 201) throw new Error(`POST stuck: ${res.status} ${await res.text()}`);
  for (const deadline = Date.now() + 600_000; !existsSync(join(root, 'tenants', 'stuck', 'memory.max')); await sleep(200)) {
    if (Date.now() > deadline) throw new Error('the stuck tenant has no cgroup after 10 minutes');
  }
  const holder = spawn('/bin/sh', ['-c', 'read go; exec /usr/bin/python3 -c "b = bytearray(100 * 1024 * 1024); import time; time.sleep(3600)"'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const attach = await fetch(`${url}/v1/tenants/stuck/processes`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ pid: holder.pid }),
  });
  if (attach.status !== 201) throw new Error(`attach: ${attach.status} ${await attach.text()}`);
  holder.stdin?.end('go\n');
  const current = join(root, 'tenants', 'stuck', 'memory.current');
  for (const deadline = Date.now() + 120_000; Number(readFileSync(current, 'utf8')) < 100 * 1024 * 1024; await sleep(200)) {
    if (Date.now() > deadline) throw new Error('the holder did not allocate 100 MiB within 2 minutes');
  }
  await patch(url, 'stuck', { quota: { memory: { max: '64Mi' } } });
  for (const deadline = Date.now() + 600_000; !(await memoryLimitPending(url)); await sleep(500)) {
    if (Date.now() > deadline) throw new Error('the stuck tenant never reported MemoryLimitPending');
  }
  return holder;
}

async function memoryLimitPending(url: string): Promise<boolean> {
  const tenant = (await (await fetch(`${url}/v1/tenants/stuck`, { headers: auth })).json()) as { status?: { conditions?: Array<{ reason: string }> } };
  return (tenant.status?.conditions ?? []).some((c) => c.reason === 'MemoryLimitPending');
}

/** The no-op windows, plain and under strace, against the floor's read-back where it was measured. */
async function noopPhase(gov: Governor, tenants: number, windowS: number, root: string, name: string, floor: ReturnType<typeof measureFloor> | undefined) {
  const noop = await noopWindow(gov, tenants, windowS);
  const traced = await tracedWindow(gov, tenants, windowS);
  const tracedOne = await tracedChange(gov, root, name);
  log(`${tenants} tenants: no-op ${JSON.stringify(noop)}; traced ${JSON.stringify({ passes: traced.passes, ...traced.count })}`);
  const floorRead = floor?.networkReadSeconds == null ? NaN : (floor.cgroupReadSeconds ?? NaN) + floor.networkReadSeconds;
  return {
    'floor read-back s (cgroup + network)':
      floor === undefined
        ? 'skipped'
        : `${floor.cgroupReadSeconds === null ? 'n/a' : fixed(floor.cgroupReadSeconds, 3)} + ${fixed(floor.networkReadSeconds ?? NaN, 2)}${
            floor.networkReadTenants < tenants ? ` (the network of ${floor.networkReadTenants} read, scaled)` : ''
          }`,
    'no-op pass s': `${fixed(noop.passSeconds, 2)}${noop.passSeconds < 1.2 ? ' (at most: passes start every 1 s)' : ''}`,
    'no-op ÷ floor read-back': floor === undefined ? 'skipped' : fixed(noop.passSeconds / floorRead, 2),
    'no-op ÷ floor read-back without its process starts':
      floor === undefined ? 'skipped' : fixed(noop.passSeconds / (floorRead - floor.processStartSeconds), 2),
    'no-op passes measured': fixed(noop.passes, 1),
    'no-op CPU s per pass (children included)': fixed(noop.cpuPerPass, 2),
    'no-op cgroup writes per pass (governor count)': fixed(noop.cgroupWritesPerPass, 1),
    'no-op forks per pass (whole system, threads included)': fixed(noop.forksPerPass, 1),
    'traced passes': fixed(traced.passes, 1),
    'traced execve': traced.count.execs.length === 0 ? 0 : traced.count.execs.join(' '),
    'traced process forks': traced.count.forks,
    'traced writes to /sys and /proc files': traced.count.kernelFileWrites.length,
    'traced netlink change requests': traced.count.netlinkWrites,
    'traced one change: file writes, netlink change requests, execve': `${tracedOne.kernelFileWrites.length}, ${tracedOne.netlinkWrites}, ${tracedOne.execs.length}`,
  };
}

async function measure(tenants: number): Promise<Record<string, number | string>> {
  const label = randomBytes(2).toString('hex');
  const load = [loadavg()[0]];
  log(`${tenants} tenants: ${SKIP.has('floor') ? 'no floor (GOVERNOR_BENCH_SKIP)' : 'the floor'}`);
  const floor = SKIP.has('floor')
    ? undefined
    : measureFloor(
        CGROUP2_MOUNT,
        label,
        tenants,
        (i) => {
          const net = `${NET}.${FLOOR_BASE + (i >> 7)}`;
          return { host: `${net}.${(i & 127) * 2}`, tenant: `${net}.${(i & 127) * 2 + 1}` };
        },
        // The read-back is what a no-op pass is compared with: without the no-op windows it is not timed.
        { readBack: !SKIP.has('noop') },
      );
  if (floor !== undefined) log(`${tenants} tenants: floor ${JSON.stringify(floor)}`);
  const ofFloor = (figure: (measured: NonNullable<typeof floor>) => string) => (floor === undefined ? 'skipped' : figure(floor));
  const world = await benchWorld(`gb${label}`, NET_POOL, DATA_DIR);
  const { scratch, databaseUrl } = world;
  // The default uid pool holds 4,094 tenants; past that, the stretch below it (systemd leaves it to containers).
  const env = tenants > DEFAULT_POOL_TENANTS ? { ...world.env, GOVERNOR_UID_POOL: WIDE_UID_POOL } : world.env;
  const db = new Client({ connectionString: databaseUrl });
  const names = Array.from({ length: tenants }, (_, i) => `w${i}`);
  let gov: Governor | undefined;
  let holder: ChildProcess | undefined;
  try {
    log(`${tenants} tenants: creating them through a role api service`);
    const api = await startService({ ...env, GOVERNOR_ROLE: 'api' }, 1_800_000, main);
    const creating = process.hrtime.bigint();
    let toldAt = Date.now();
    await createTenants(api.url, ROOT_TOKEN, names, QUOTA, 4, 10, (created) => {
      if (Date.now() - toldAt < 60_000) return;
      log(`${created} of ${tenants} tenants created`);
      toldAt = Date.now();
    });
    const creation = seconds(creating);
    log(`${tenants} tenants: created in ${fixed(creation, 1)} s`);
    await api.stop();
    await db.connect();

    log(`${tenants} tenants: cold pass`);
    const forks = forksSinceBoot();
    gov = await startGovernor(env, '1h');
    const listening = seconds(gov.spawnedAt);
    const applied = await allApplied(db, tenants, gov.service.url);
    const cold = seconds(gov.spawnedAt);
    const coldStepsEnd = await stepTimes(gov.service.url);
    const coldCpu = cpuSeconds(gov.pid);
    const coldForks = forksSinceBoot() - forks;
    const coldWrites = await metric(gov.service.url, CGROUP_WRITES);
    if ((applied.get('Ready') ?? 0) < tenants) log(`${tenants} tenants: not Ready after the cold pass: ${await notReady(db)}`);
    const changes = [];
    for (let round = 0; round < 5; round += 1) changes.push(await change(gov.service.url, scratch.root, names[round % tenants], round));
    const changeWrites = ((await metric(gov.service.url, CGROUP_WRITES)) - coldWrites) / changes.length;
    // Said at once: a long guest run that fails later keeps these.
    log(
      `${tenants} tenants: cold ${fixed(cold, 2)} s (listening at ${fixed(listening, 2)} s), CPU ${fixed(coldCpu, 1)} s, forks ${coldForks}, phases ${JSON.stringify([...applied])}, one change p50 ${fixed(summarize(changes.map((c) => c.fromRequest)).p50, 1)} ms`,
    );
    await gov.service.stop();
    const floorCold = (f: NonNullable<typeof floor>) => (f.cgroupSeconds ?? NaN) + f.networkSeconds;
    const coldFigures = {
      tenants,
      'creation s (POST, 4 at a time, role api)': fixed(creation, 1),
      'floor cgroup s': ofFloor((f) => (f.cgroupSeconds === null ? 'n/a' : fixed(f.cgroupSeconds, 3))),
      'floor network s': ofFloor((f) => fixed(f.networkSeconds, 2)),
      'floor of which process starts s': ofFloor((f) => fixed(f.processStartSeconds, 2)),
      'cold s (spawn to all applied)': fixed(cold, 2),
      'of which spawn to listening s': fixed(listening, 2),
      'cold ÷ floor': ofFloor((f) => fixed(cold / floorCold(f), 2)),
      'cold ÷ floor without its process starts': ofFloor((f) => fixed(cold / (floorCold(f) - f.processStartSeconds), 2)),
      'cold phases': [...applied].map(([phase, n]) => `${phase} ${n}`).join(', '),
      'cold mean ms a tenant by step (count)': stepMeans(new Map(), coldStepsEnd),
      'cold CPU s (children included)': fixed(coldCpu, 1),
      'cold forks (whole system)': coldForks,
      'cold cgroup writes': coldWrites,
      'one change p50 ms (idle, PATCH to file)': fixed(summarize(changes.map((c) => c.fromRequest)).p50, 1),
      'one change cgroup writes': fixed(changeWrites, 1),
    };
    if (COLD_ONLY) return { ...coldFigures, 'load average (start, end)': [...load, loadavg()[0]].map((l) => l.toFixed(1)).join(', ') };

    log(`${tenants} tenants: no-op passes`);
    gov = await startGovernor(env, '1s');
    // Looked at every 30 s: each look is a whole scrape, seconds of the guest governor's loop at 1,000 tenants.
    for (const deadline = Date.now() + 3_600_000; (await metric(gov.service.url, RECONCILED)) < 2 * tenants; await sleep(30_000)) {
      if (Date.now() > deadline) throw new Error('the restarted governor did not finish two passes within an hour');
    }
    const windowS = Math.min(300, Math.max(15, cold));
    const noopFigures = SKIP.has('noop') ? undefined : await noopPhase(gov, tenants, windowS, scratch.root, names[0], floor);
    load.push(loadavg()[0]);

    const stuck = existsSync(join(scratch.root, 'tenants', names[0], 'memory.max'));
    if (stuck) {
      log(`${tenants} tenants: holding a tenant in MemoryLimitPending`);
      holder = await stuckTenant(gov.service.url, scratch.root);
    }
    log(`${tenants} tenants: ${ROUNDS} changes while every tenant resyncs`);
    const before = await metric(gov.service.url, RECONCILED);
    const latency = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      await sleep(Math.random() * 1000);
      latency.push(await change(gov.service.url, scratch.root, names[Math.floor(Math.random() * tenants)], 10 + round));
    }
    const passesDuring = ((await metric(gov.service.url, RECONCILED)) - before) / tenants;
    const stillStuck = stuck ? await memoryLimitPending(gov.service.url) : false;
    load.push(loadavg()[0]);
    log(`${tenants} tenants: changes ${JSON.stringify({ passesDuring, stillStuck, fromAnswer: summarize(latency.map((l) => l.fromAnswer)) })}`);

    const fromAnswer = summarize(latency.map((l) => l.fromAnswer));
    const fromRequest = summarize(latency.map((l) => l.fromRequest));
    return {
      ...coldFigures,
      ...(noopFigures ?? { 'no-op pass s': 'skipped' }),
      'stuck tenant in MemoryLimitPending': stuck ? (stillStuck ? 'yes, to the end' : 'yes, not at the end') : 'n/a (no memory controller)',
      'changes measured': latency.length,
      'resync passes during them': fixed(passesDuring, 1),
      'answer to file p50 / p99 ms': `${fixed(fromAnswer.p50, 1)} / ${fixed(fromAnswer.p99, 1)}`,
      'PATCH to file p50 / p99 ms': `${fixed(fromRequest.p50, 1)} / ${fixed(fromRequest.p99, 1)}`,
      'load average (start, mid, end)': load.map((l) => l.toFixed(1)).join(', '),
    };
  } finally {
    holder?.kill('SIGKILL');
    await gov?.service.stop();
    await db.end().catch(() => undefined);
    await world.remove();
  }
}

async function run(): Promise<void> {
  const rows: Array<Record<string, number | string>> = [];
  for (const n of SIZES) {
    rows.push(await measure(n));
    log(`${n} tenants: ${JSON.stringify(rows.at(-1))}`);
  }
  // One line per figure and a column per size: the figures are too many for a line per size.
  const table = Object.keys(rows[0] ?? {}).map((figure) => ({ figure, ...Object.fromEntries(rows.map((row) => [`${row.tenants} tenants`, row[figure]])) }));
  report('whole-reconcile', { main, kernel: process.env.GOVERNOR_KERNEL_GUEST ? 'guest' : 'host', rows }, table);
}

void run();
