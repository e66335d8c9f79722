import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_TOKEN } from '../support/governor.harness';
import { MAIN, startService, type ServiceProcess } from '../support/service.process';
import { detach, trace } from '../support/syscall-count';
import { benchWorld, cpuSeconds, createTenants, metric, threadCpuSeconds } from './governor-process';
import { changeLatency } from './change-latency';
import { fixed, report } from './stats';

// The whole governor's pass over tenants that are in sync (database read, cgroups, namespaces, link, tc,
// firewall, status write), on this host: a real service process with N tenants, each with a veth pair, a
// shaping rate and its firewall rules. Over several resyncs it counts, per pass: the processes the governor
// and its children executed (strace -f -e trace=execve on every thread, in a window of its own, since
// tracing slows the traced), the cgroup writes (governor_cgroup_writes_total) and the CPU seconds of the
// governor and its reaped children (/proc/<pid>/stat utime + stime + cutime + cstime). GOVERNOR_BENCH_MAIN
// measures another build, GOVERNOR_BENCH_NOOP_TENANTS the sizes (default 100). GOVERNOR_BENCH_BEFORE=<main.js of
// another build> adds that build's rows: the tenants are made once, then each build restarts the service on
// them, alternating GOVERNOR_BENCH_ROUNDS times (default 1), with the load average beside each row.
// GOVERNOR_BENCH_IDLE_SECONDS=<s> (default 0: off) adds the goal's own figure per build: the whole process's CPU
// at the default 30 s resync over that many seconds. GOVERNOR_BENCH_NET_POOL overrides the address pool
// (10.242.128.0/17), GOVERNOR_BENCH_LABEL goes into the cgroup root's and firewall table's names, and
// GOVERNOR_BENCH_READY_MINUTES bounds the wait for every tenant to be Ready (default 10).
// Then, with every tenant still resyncing, the latency of a change: PATCH of one tenant's `suspended` to its
// cgroup.freeze holding the new value (a file of the cgroup v2 core, so it is there on a hybrid host too),
// GOVERNOR_BENCH_LATENCY_ROUNDS times (default 20), each at a random moment of the resync cycle.

const main = process.env.GOVERNOR_BENCH_MAIN ?? MAIN;
const before = process.env.GOVERNOR_BENCH_BEFORE;
const RESYNC_S = 5;
const IDLE_RESYNC_S = 30; // the default GOVERNOR_RESYNC_INTERVAL
const IDLE_S = Number(process.env.GOVERNOR_BENCH_IDLE_SECONDS ?? 0);
const ROUNDS = Number(process.env.GOVERNOR_BENCH_ROUNDS ?? 1);
const READY_TIMEOUT_MS = Number(process.env.GOVERNOR_BENCH_READY_MINUTES ?? 10) * 60_000;
const NET_POOL = process.env.GOVERNOR_BENCH_NET_POOL ?? '10.242.128.0/17';
const LABEL = (process.env.GOVERNOR_BENCH_LABEL ?? '').replace(/[^a-z0-9]/g, '');
// GOVERNOR_BENCH_NOOP_PROFILE=<dir>: each governor writes a V8 CPU profile there when it stops (node --cpu-prof).
const PROFILE_DIR = process.env.GOVERNOR_BENCH_NOOP_PROFILE;
const profile = PROFILE_DIR === undefined ? [] : ['sh', '-c', `exec "$0" --cpu-prof --cpu-prof-dir='${PROFILE_DIR}' "$@"`];
const PASSES = 3;
const LATENCY_ROUNDS = Number(process.env.GOVERNOR_BENCH_LATENCY_ROUNDS ?? 20);

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;

const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };

/** A tenant's turn in a resync: a full check (success), or a skip of a tenant nothing touched since its last. */
const TURN = /^governor_reconcile_total\{result="(success|skipped)"\}/;

async function passesOver(service: ServiceProcess, tenants: number, seconds: number): Promise<number> {
  const success = TURN;
  const before = await metric(service.url, success);
  await sleep(seconds * 1000);
  return ((await metric(service.url, success)) - before) / tenants;
}

/** One build's figures on tenants that are already there: a restart of the service, as an upgrade would be. */
async function measureBuild(
  label: string,
  build: string,
  env: Record<string, string>,
  root: string,
  tenants: number,
): Promise<Record<string, number | string>> {
  const load = loadavg()[0];
  const service = await startService({ ...env, GOVERNOR_RESYNC_INTERVAL: `${RESYNC_S}s` }, 120_000, build, profile);
  try {
    const pid = service.child.pid as number;
    await allReady(service, tenants);
    await sleep(2 * RESYNC_S * 1000); // a resync over everything, with the firewall applied once
    const writes = await metric(service.url, /^governor_cgroup_writes_total /);
    const cpu = cpuSeconds(pid);
    const passes = await passesOver(service, tenants, PASSES * RESYNC_S);
    const cpuPerPass = (cpuSeconds(pid) - cpu) / passes;
    const writesPerPass = ((await metric(service.url, /^governor_cgroup_writes_total /)) - writes) / passes;
    const dir = mkdtempSync(join(tmpdir(), 'governor-bench-strace-'));
    // Passes are counted from before strace attaches to after it has detached, so that every execve it
    // saw falls inside a counted pass (tracing slows the governor: fewer passes fit the window).
    const success = TURN;
    const tenantPassesBefore = await metric(service.url, success);
    const strace = trace(pid, join(dir, 'execve'), 'execve');
    await sleep(PASSES * RESYNC_S * 1000);
    await detach(strace);
    const tracedPasses = ((await metric(service.url, success)) - tenantPassesBefore) / tenants;
    // Only the execve that succeeded: execvp tries each PATH entry in turn, and each miss is an execve too.
    const execs = [...readFileSync(join(dir, 'execve'), 'utf8').matchAll(/execve\("([^"]+)".* = 0$/gm)].map((m) => m[1].split('/').pop());
    rmSync(dir, { recursive: true, force: true });
    const latency = await changeLatency(
      service.url,
      root,
      Array.from({ length: tenants }, (_, i) => `noop-${i}`),
      LATENCY_ROUNDS,
      RESYNC_S * 1000,
    );
    const byProgram = Object.entries(execs.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p as string]: (acc[p as string] ?? 0) + 1 }), {}))
      .map(([p, n]) => `${p} ${fixed(n / tracedPasses / tenants, 1)}`)
      .join(', ');
    return {
      build: label,
      tenants,
      'load average': fixed(load, 1),
      'passes measured': fixed(passes, 1),
      'no-op writes per pass': fixed(writesPerPass, 1),
      'no-op process starts per pass': fixed(execs.length / tracedPasses, 1),
      'per tenant, by program': byProgram || 'none',
      'no-op CPU s per pass (children included)': fixed(cpuPerPass, 3),
      [`share of a core at a ${IDLE_RESYNC_S} s resync`]: `${fixed((100 * cpuPerPass) / IDLE_RESYNC_S, 1)}%`,
      ...(LATENCY_ROUNDS > 0 && {
        'PATCH to cgroup.freeze p50 ms': fixed(percentile(latency.fromRequest, 50), 1),
        'p99 ms': fixed(percentile(latency.fromRequest, 99), 1),
        'max ms': fixed(Math.max(...latency.fromRequest), 1),
        'answer to file p50 ms': fixed(percentile(latency.fromAnswer, 50), 1),
        'answer to file p99 ms': fixed(percentile(latency.fromAnswer, 99), 1),
      }),
    };
  } finally {
    await service.stop();
  }
}

/**
 * The goal as stated: the whole idle governor at the default resync, every timer counted (resync, usage-history
 * sampler, GC), over GOVERNOR_BENCH_IDLE_SECONDS once its first pass after the start is done. Nothing scrapes it
 * inside the window: the CPU is read from /proc before and after, the passes from /metrics after.
 */
async function measureIdle(label: string, build: string, env: Record<string, string>, tenants: number): Promise<Record<string, number | string>> {
  const service = await startService({ ...env, GOVERNOR_RESYNC_INTERVAL: `${IDLE_RESYNC_S}s` }, 120_000, build, profile);
  try {
    const pid = service.child.pid as number;
    await allReady(service, tenants);
    await sleep(5_000);
    const load = loadavg()[0];
    const cpu = cpuSeconds(pid);
    const threads = threadCpuSeconds(pid);
    await sleep(IDLE_S * 1000);
    const used = cpuSeconds(pid) - cpu;
    const threadsAfter = threadCpuSeconds(pid);
    const loadAfter = loadavg()[0];
    return {
      build: label,
      tenants,
      'load average (start, end)': `${fixed(load, 1)}, ${fixed(loadAfter, 1)}`,
      'idle window s': IDLE_S,
      [`CPU s per ${IDLE_RESYNC_S} s (children included)`]: fixed((used * IDLE_RESYNC_S) / IDLE_S, 3),
      'share of a core': `${fixed((100 * used) / IDLE_S, 2)}%`,
      'JavaScript thread, other threads': `${fixed((100 * (threadsAfter.main - threads.main)) / IDLE_S, 2)}%, ${fixed((100 * (threadsAfter.others - threads.others)) / IDLE_S, 2)}%`,
    };
  } finally {
    await service.stop();
  }
}

/** Each row on stderr as it is measured: the cleanup of 1,000 tenants' mounts takes minutes on a loaded host. */
function progress(row: Record<string, number | string>): Record<string, number | string> {
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}

async function allReady(service: ServiceProcess, tenants: number): Promise<void> {
  for (let deadline = Date.now() + READY_TIMEOUT_MS; ; await sleep(500)) {
    const ready = await metric(service.url, /^governor_reconcile_total\{result="success"\}/);
    if (ready >= tenants && (await everyTenantReady(service))) return;
    if (Date.now() > deadline) throw new Error(`tenants not Ready within ${READY_TIMEOUT_MS / 60_000} minutes`);
  }
}

async function everyTenantReady(service: ServiceProcess): Promise<boolean> {
  for (let cursor: string | undefined; ;) {
    const page = (await (
      await fetch(`${service.url}/v1/tenants?limit=500${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { headers: auth })
    ).json()) as { items?: Array<{ status?: { phase?: string } }>; nextCursor?: string | null };
    if (!(page.items ?? []).every((t) => t.status?.phase === 'Ready')) return false;
    if (page.nextCursor === undefined || page.nextCursor === null) return true;
    cursor = page.nextCursor;
  }
}

async function measure(tenants: number): Promise<Array<Record<string, number | string>>> {
  // Ten characters at most: the firewall table name it goes into holds 31.
  const world = await benchWorld(`bn${tenants}${LABEL}`.slice(0, 10), NET_POOL);
  const { scratch, env } = world;
  try {
    // The tenants are made once, by the build measured last, and every build then restarts on them.
    const service = await startService({ ...env, GOVERNOR_RESYNC_INTERVAL: `${RESYNC_S}s` }, 120_000, main);
    try {
      const names = Array.from({ length: tenants }, (_, i) => `noop-${i}`);
      await createTenants(service.url, ROOT_TOKEN, names, { network: { ingress: '8Mbit' } }, 8);
      await allReady(service, tenants);
    } finally {
      await service.stop();
    }
    const builds: Array<[string, string]> =
      before === undefined
        ? [['this', main]]
        : [
            ['before', before],
            ['after', main],
          ];
    const rows: Array<Record<string, number | string>> = [];
    // Alternated, ROUNDS times, so that a change of the shared host's load falls on both builds alike.
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [label, build] of builds) rows.push(progress(await measureBuild(label, build, env, scratch.root, tenants)));
      if (IDLE_S > 0) for (const [label, build] of builds) rows.push(progress(await measureIdle(label, build, env, tenants)));
    }
    return rows;
  } finally {
    await world.remove();
  }
}

async function run(): Promise<void> {
  const sizes = (process.env.GOVERNOR_BENCH_NOOP_TENANTS ?? '100').split(',').map(Number);
  const rows: Array<Record<string, number | string>> = [];
  for (const n of sizes) rows.push(...(await measure(n)));
  report('noop-pass', { main, before, rows }, rows);
}

void run();
