import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';

// What the whole-governor benchmarks read of a running service process from outside it: its Prometheus
// counters, its CPU time (children included) and, under strace, the system calls of every thread.

const TICKS = 100; // USER_HZ

/**
 * The text of /metrics. Through node:http, which waits as long as the
 * scrape takes: fetch gives up after 300 s without headers, and in the kernel guest, beside a reconciler
 * resyncing back to back, a scrape took longer.
 */
function metricsText(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    get(`${url}/metrics`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The sum of every sample of /metrics whose line matches `pattern`. */
export async function metric(url: string, pattern: RegExp, headers: Record<string, string> = {}): Promise<number> {
  return (await metrics(url, [pattern], headers))[0] ?? 0;
}

/**
 * Several metrics' sums from one scrape, in the order of the patterns: at 1,000 tenants a scrape holds the guest
 * governor's loop for seconds, so a window's edges take one each.
 */
export async function metrics(url: string, patterns: readonly RegExp[], headers: Record<string, string> = {}): Promise<number[]> {
  const lines = (await metricsText(url, headers)).split('\n');
  return patterns.map((pattern) => lines.filter((line) => pattern.test(line)).reduce((sum, line) => sum + Number(line.split(' ').pop()), 0));
}

/** Seconds and count of each reconcile step so far (governor_reconcile_step_duration_seconds), by step. */
export async function stepTimes(url: string): Promise<Map<string, { seconds: number; count: number }>> {
  const steps = new Map<string, { seconds: number; count: number }>();
  for (const [, kind, step, value] of (await metricsText(url)).matchAll(/^governor_reconcile_step_duration_seconds_(sum|count)\{step="([a-z]+)"\} (\S+)$/gm)) {
    const entry = steps.get(step) ?? { seconds: 0, count: 0 };
    if (kind === 'sum') entry.seconds = Number(value);
    else entry.count = Number(value);
    steps.set(step, entry);
  }
  return steps;
}

/** Mean milliseconds a tenant of each step between two readings of stepTimes: "network 412.0 (81)", by step. */
export function stepMeans(before: Map<string, { seconds: number; count: number }>, after: Map<string, { seconds: number; count: number }>): string {
  return [...after]
    .map(([step, now]) => {
      const then = before.get(step) ?? { seconds: 0, count: 0 };
      const count = now.count - then.count;
      return `${step} ${count === 0 ? '-' : (((now.seconds - then.seconds) / count) * 1000).toFixed(1)} (${count})`;
    })
    .join(', ');
}

/** One resync's work is one `success` per tenant. */
export const RECONCILED = /^governor_reconcile_total\{result="success"\}/;
export const CGROUP_WRITES = /^governor_cgroup_writes_total /;

/**
 * A stat(5) text (of /proc/<pid>/stat or a task's): its name, and utime + stime (+ cutime + cstime with
 * `children`) in seconds. utime, stime, cutime, cstime are fields 14-17; after "pid (comm) " they are 11-14, and
 * the name may itself hold ") ".
 */
function statCpu(stat: string, children = false): { name: string; seconds: number } {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const seconds = (children ? [11, 12, 13, 14] : [11, 12]).reduce((sum, i) => sum + Number(fields[i]), 0) / TICKS;
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds };
}

/** utime + stime + cutime + cstime of stat(5): the process and the children it has reaped, in seconds. */
export function cpuSeconds(pid: number): number {
  return statCpu(readFileSync(`/proc/${pid}/stat`, 'utf8'), true).seconds;
}

/**
 * utime + stime of the process's JavaScript thread (its main thread) and of all its other threads (V8's GC and
 * compiler threads, libuv's pool, koffi's workers), in seconds: where an idle process's CPU goes.
 */
export function threadCpuSeconds(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended meanwhile
    }
    const { seconds } = statCpu(stat);
    if (tid === String(pid)) main = seconds;
    else others += seconds;
  }
  return { main, others };
}

/** Every process's CPU time (kernel threads included) by pid, with its name: for topCpu. */
export function processCpu(): Map<number, { name: string; seconds: number }> {
  const cpu = new Map<number, { name: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      cpu.set(Number(entry), statCpu(readFileSync(`/proc/${entry}/stat`, 'utf8')));
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
}

/** The whole system's CPU ticks by kind (the first line of /proc/stat). */
export function systemCpu(): Record<'user' | 'system' | 'softirq' | 'iowait' | 'idle', number> {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return { user: user + nice, system: system + irq + steal, softirq: softirq, iowait: iowait, idle: idle };
}

/** The system's memory: what is available, and the reclaim counters of /proc/vmstat (pages scanned, stalls). */
export function memoryState(): { availableMiB: number; directScans: number; kswapdScans: number; stalls: number } {
  const available = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  const vmstat = new Map(
    readFileSync('/proc/vmstat', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .map(([key, value]) => [key, Number(value)] as const),
  );
  const sum = (prefix: string) => [...vmstat].filter(([key]) => key.startsWith(prefix)).reduce((total, [, value]) => total + value, 0);
  return { availableMiB: Number(available ?? NaN) / 1024, directScans: sum('pgscan_direct'), kswapdScans: sum('pgscan_kswapd'), stalls: sum('allocstall_') };
}

/** Memory between two readings: what is available at the second, and how much reclaim ran in between. */
export function memoryMeanwhile(before: ReturnType<typeof memoryState>, after: ReturnType<typeof memoryState>): string {
  return (
    `available ${after.availableMiB.toFixed(0)} MiB, pages scanned by reclaim: direct ${after.directScans - before.directScans}, ` +
    `kswapd ${after.kswapdScans - before.kswapdScans}, allocation stalls ${after.stalls - before.stalls}`
  );
}

/**
 * Where the system's CPU went between two readings: the share of each kind, then the processes that used the
 * most, summed by name (kworker/u4:1 and kworker/0:2 as kworker; every PostgreSQL backend as postgres).
 */
export function topCpu(
  before: { processes: ReturnType<typeof processCpu>; system: ReturnType<typeof systemCpu> },
  after: { processes: ReturnType<typeof processCpu>; system: ReturnType<typeof systemCpu> },
  count = 6,
): string {
  const total = Object.values(after.system).reduce((a, b) => a + b, 0) - Object.values(before.system).reduce((a, b) => a + b, 0);
  const kinds = (Object.keys(after.system) as Array<keyof typeof after.system>)
    .map((kind) => `${kind} ${((100 * (after.system[kind] - before.system[kind])) / Math.max(1, total)).toFixed(0)}%`)
    .join(' ');
  const byName = new Map<string, number>();
  for (const [pid, now] of after.processes) {
    const used = now.seconds - (before.processes.get(pid)?.seconds ?? 0);
    const name = now.name.split('/')[0];
    if (used > 0) byName.set(name, (byName.get(name) ?? 0) + used);
  }
  const top = [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`)
    .join(', ');
  return `${kinds}; by process: ${top}`;
}

/** The "processes" line of /proc/stat: forks and thread clones since boot, in the whole system. */
export function forksSinceBoot(): number {
  return Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
}

/**
 * POST /v1/tenants for every name, `parallel` at a time, each retried a few times (a loaded host drops some;
 * under TCG the database can answer 503 for a while).
 */
export async function createTenants(
  url: string,
  token: string,
  names: readonly string[],
  quota?: unknown,
  parallel = 16,
  attempts = 4,
  progress?: (created: number) => void,
): Promise<void> {
  for (let i = 0; i < names.length; i += parallel) {
    progress?.(i);
    await Promise.all(
      names.slice(i, i + parallel).map(async (name) => {
        for (let attempt = 0; ; attempt += 1) {
          const res = await fetch(`${url}/v1/tenants`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(quota === undefined ? { name } : { name, quota }),
          });
          if (res.status === 201) return;
          if (attempt >= attempts - 1) throw new Error(`POST ${name}: ${res.status} ${await res.text()}`);
          await sleep(500 * (attempt + 1));
        }
      }),
    );
  }
}

/** A whole-governor benchmark's own world: a scratch cgroup root, run dir and firewall table, a fresh database, a data dir. */
export interface BenchWorld {
  scratch: ReturnType<typeof hostScratch>;
  databaseUrl: string;
  dataDir: string;
  /** the service environment for that world: the root admin token, warn-level logs, tenant addresses from `pool` */
  env: Record<string, string>;
  /** drops the database and removes the data dir and the scratch root */
  remove(): Promise<void>;
}

export async function benchWorld(label: string, pool: string, dataParent = tmpdir()): Promise<BenchWorld> {
  const scratch = hostScratch(label);
  const databaseUrl = await createDatabase();
  const dataDir = mkdtempSync(join(dataParent, `governor-bench-${label}-`));
  return {
    scratch,
    databaseUrl,
    dataDir,
    env: {
      ...scratch.env,
      DATABASE_URL: databaseUrl,
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      GOVERNOR_LOG_LEVEL: 'warn',
      GOVERNOR_NET_POOL: pool,
    },
    async remove() {
      await dropDatabase(databaseUrl);
      rmSync(dataDir, { recursive: true, force: true });
      scratch.cleanup();
    },
  };
}
