import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { MAIN, startService, type ServiceProcess } from '../support/service.process';
import { changeLatency } from './change-latency';
import { fixed, report } from './stats';

// The whole governor's pass over tenants that are in sync (database read, cgroups, namespaces, link, tc,
// firewall, status write), on this host: a real service process with N tenants, each with a veth pair, a
// shaping rate and its firewall rules. Over several resyncs it counts, per pass: the processes the governor
// and its children executed (strace -f -e trace=execve on every thread, in a window of its own, since
// tracing slows the traced), the cgroup writes (governor_cgroup_writes_total) and the CPU seconds of the
// governor and its reaped children (/proc/<pid>/stat utime + stime + cutime + cstime). GOVERNOR_BENCH_MAIN
// measures another build (for a before/after), GOVERNOR_BENCH_NOOP_TENANTS the sizes (default 100).
// Then, with every tenant still resyncing, the latency of a change: PATCH of one tenant's `suspended` to its
// cgroup.freeze holding the new value (a file of the cgroup v2 core, so it is there on a hybrid host too),
// GOVERNOR_BENCH_LATENCY_ROUNDS times (default 20), each at a random moment of the resync cycle.
// GOVERNOR_BENCH_NOOP_POOL sets the tenant address pool (default 10.242.128.0/17; parallel runs on one host
// each need their own), GOVERNOR_BENCH_NOOP_READY_MINUTES how long the tenants may take to be Ready (default
// 10; 1,000 tenants on a loaded host take longer).

const main = process.env.GOVERNOR_BENCH_MAIN ?? MAIN;
const RESYNC_S = 5;
const PASSES = 3;
const TICKS = 100; // USER_HZ
const LATENCY_ROUNDS = Number(process.env.GOVERNOR_BENCH_LATENCY_ROUNDS ?? 20);
const POOL = process.env.GOVERNOR_BENCH_NOOP_POOL ?? '10.242.128.0/17';
const READY_MINUTES = Number(process.env.GOVERNOR_BENCH_NOOP_READY_MINUTES ?? 10);

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;

const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime, stime, cutime, cstime are fields 14-17 of stat(5); after "pid (comm) " they are 11-14.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / TICKS;
}

function trace(pid: number, out: string): ChildProcess {
  const threads = readdirSync(`/proc/${pid}/task`).flatMap((tid) => ['-p', tid]);
  return spawn('strace', ['-f', '-qq', '-e', 'trace=execve', '-o', out, ...threads], { stdio: 'ignore' });
}

async function passesOver(service: ServiceProcess, tenants: number, seconds: number): Promise<number> {
  const success = /^governor_reconcile_total\{result="success"\}/;
  const before = await metric(service.url, success);
  await sleep(seconds * 1000);
  return ((await metric(service.url, success)) - before) / tenants;
}

async function measure(tenants: number): Promise<Record<string, number | string>> {
  const scratch = hostScratch(`bn${tenants}`);
  const databaseUrl = await createDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-bench-noop-'));
  const service = await startService(
    {
      ...scratch.env,
      DATABASE_URL: databaseUrl,
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      GOVERNOR_LOG_LEVEL: 'warn',
      GOVERNOR_NET_POOL: POOL,
      GOVERNOR_RESYNC_INTERVAL: `${RESYNC_S}s`,
    },
    120_000,
    main,
  );
  try {
    const pid = service.child.pid as number;
    for (let i = 0; i < tenants; i += 8) {
      await Promise.all(
        Array.from({ length: Math.min(8, tenants - i) }, (_, j) =>
          fetch(`${service.url}/v1/tenants`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: `noop-${i + j}`, quota: { network: { ingress: '8Mbit' } } }),
          }),
        ),
      );
    }
    for (let deadline = Date.now() + READY_MINUTES * 60_000; ; await sleep(500)) {
      const list = (await (await fetch(`${service.url}/v1/tenants?limit=500`, { headers: auth })).json()) as { items?: Array<{ status?: { phase?: string } }> };
      const ready = await metric(service.url, /^governor_reconcile_total\{result="success"\}/);
      if (ready >= tenants && (list.items ?? []).every((t) => t.status?.phase === 'Ready')) break;
      if (Date.now() > deadline) throw new Error(`tenants not Ready within ${READY_MINUTES} minutes`);
    }
    await sleep(2 * RESYNC_S * 1000); // a resync over everything, with the firewall applied once
    const writes = await metric(service.url, /^governor_cgroup_writes_total /);
    const cpu = cpuSeconds(pid);
    const passes = await passesOver(service, tenants, PASSES * RESYNC_S);
    const cpuPerPass = (cpuSeconds(pid) - cpu) / passes;
    const writesPerPass = ((await metric(service.url, /^governor_cgroup_writes_total /)) - writes) / passes;
    const dir = mkdtempSync(join(tmpdir(), 'governor-bench-strace-'));
    // Passes are counted from before strace attaches to after it has detached, so that every execve it
    // saw falls inside a counted pass (tracing slows the governor: fewer passes fit the window).
    const success = /^governor_reconcile_total\{result="success"\}/;
    const tenantPassesBefore = await metric(service.url, success);
    const strace = trace(pid, join(dir, 'execve'));
    await sleep(PASSES * RESYNC_S * 1000);
    strace.kill('SIGINT');
    await new Promise((resolve) => strace.once('exit', resolve));
    const tracedPasses = ((await metric(service.url, success)) - tenantPassesBefore) / tenants;
    // Only the execve that succeeded: execvp tries each PATH entry in turn, and each miss is an execve too.
    const execs = [...readFileSync(join(dir, 'execve'), 'utf8').matchAll(/execve\("([^"]+)".* = 0$/gm)].map((m) => m[1].split('/').pop());
    rmSync(dir, { recursive: true, force: true });
    const latency = await changeLatency(
      service.url,
      scratch.root,
      Array.from({ length: tenants }, (_, i) => `noop-${i}`),
      LATENCY_ROUNDS,
      RESYNC_S * 1000,
    );
    const byProgram = Object.entries(execs.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p as string]: (acc[p as string] ?? 0) + 1 }), {}))
      .map(([p, n]) => `${p} ${fixed(n / tracedPasses / tenants, 1)}`)
      .join(', ');
    return {
      tenants,
      'passes measured': fixed(passes, 1),
      'no-op writes per pass': fixed(writesPerPass, 1),
      'no-op process starts per pass': fixed(execs.length / tracedPasses, 1),
      'per tenant, by program': byProgram || 'none',
      'no-op CPU s per pass (children included)': fixed(cpuPerPass, 3),
      [`share of a core at a ${30} s resync`]: `${fixed((100 * cpuPerPass) / 30, 1)}%`,
      'PATCH to cgroup.freeze p50 ms': fixed(percentile(latency.fromRequest, 50), 1),
      'p99 ms': fixed(percentile(latency.fromRequest, 99), 1),
      'max ms': fixed(Math.max(...latency.fromRequest), 1),
      'answer to file p50 ms': fixed(percentile(latency.fromAnswer, 50), 1),
      'answer to file p99 ms': fixed(percentile(latency.fromAnswer, 99), 1),
    };
  } finally {
    await service.stop();
    await dropDatabase(databaseUrl);
    rmSync(dataDir, { recursive: true, force: true });
    scratch.cleanup();
  }
}

async function run(): Promise<void> {
  const sizes = (process.env.GOVERNOR_BENCH_NOOP_TENANTS ?? '100').split(',').map(Number);
  const rows: Array<Record<string, number | string>> = [];
  for (const n of sizes) rows.push(await measure(n));
  report('noop-pass', { main, rows }, rows);
}

void run();
