// The embedded database: memory of the whole service (governor plus database processes) idle and with
// 1,000 tenants, cold start to /readyz, and GET /v1/tenants/{name} throughput with 8 clients.
// GOVERNOR_BENCH_MAIN=<path to main.js> measures another build (the PGlite default was measured with the
// main.js of commit f85a6e3 this way; its figures are in the README beside these).
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, startService } from '../support/service.process';
import { fixed, millis, report } from './stats';

const TOKEN = 'bench-root-token-0123456789abcdef';
const TENANTS = Number(process.env.GOVERNOR_BENCH_DB_TENANTS ?? 1000);
const SECONDS = Number(process.env.GOVERNOR_BENCH_DB_SECONDS ?? 10);
const main = process.env.GOVERNOR_BENCH_MAIN ?? MAIN;

/** The pid and every descendant of it: the governor, and its database server with the server's own children. */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

/** RSS counts shared pages (the server's shared buffers) once per process; PSS splits them, so its sum is the true total. */
function memory(root: number): { processes: number; rssMiB: number; pssMiB: number } {
  let rss = 0;
  let pss = 0;
  const pids = tree(root);
  for (const pid of pids) {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  }
  return { processes: pids.length, rssMiB: rss / 1024, pssMiB: pss / 1024 };
}

async function api(url: string, method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

async function main_(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'governor-bench-db-'));
  const env = {
    GOVERNOR_DATA_DIR: join(dir, 'var'),
    GOVERNOR_ROLE: 'api',
    GOVERNOR_ADMIN_TOKEN: TOKEN,
    GOVERNOR_LOG_LEVEL: 'warn',
    // The PGlite default's false 401s would lock the benchmark out: it measures the database, not the limiter.
    GOVERNOR_AUTH_FAILURES: '100000/1s',
  };
  try {
    const started = process.hrtime.bigint();
    const service = await startService(env, 180_000, main);
    let ready = 0;
    while ((await api(service.url, 'GET', '/readyz')) !== 200) await sleep(10);
    ready = millis(started);
    try {
      await sleep(5000);
      const idle = memory(service.child.pid!);

      let createFailures = 0;
      for (let i = 0; i < TENANTS; i += 8) {
        await Promise.all(
          Array.from({ length: Math.min(8, TENANTS - i) }, async (_, j) => {
            // The PGlite default answered valid requests 401 or 500 under concurrency: retry, and count it.
            for (let attempt = 0; ; attempt += 1) {
              const status = await api(service.url, 'POST', '/v1/tenants', { name: `bench-${i + j}`, quota: { memory: { max: '256Mi' }, pids: { max: 100 } } });
              if (status === 201 || (status === 409 && attempt > 0)) break;
              createFailures += 1;
              if (attempt === 10) throw new Error(`creating bench-${i + j}: ${status}`);
            }
          }),
        );
      }
      await sleep(5000);
      const loaded = memory(service.child.pid!);

      let requests = 0;
      let failures = 0;
      const until = Date.now() + SECONDS * 1000;
      const client = async (index: number): Promise<void> => {
        for (let n = index; Date.now() < until; n += 8) {
          const status = await api(service.url, 'GET', `/v1/tenants/bench-${n % TENANTS}`);
          if (status === 200) requests += 1;
          else failures += 1;
        }
      };
      const begun = Date.now();
      await Promise.all(Array.from({ length: 8 }, (_, i) => client(i)));
      const perSecond = requests / ((Date.now() - begun) / 1000);
      const afterLoad = memory(service.child.pid!);

      report(
        'database',
        { main, tenants: TENANTS, coldStartToReadyMs: ready, idle, withTenants: loaded, afterLoad, getPerSecond8Clients: perSecond, failures, createFailures },
        [
          { measure: 'cold start to /readyz', value: `${fixed(ready / 1000, 1)} s` },
          { measure: `idle: processes, RSS sum, PSS sum`, value: `${idle.processes}, ${fixed(idle.rssMiB, 0)} MiB, ${fixed(idle.pssMiB, 0)} MiB` },
          { measure: `${TENANTS} tenants: RSS sum, PSS sum`, value: `${fixed(loaded.rssMiB, 0)} MiB, ${fixed(loaded.pssMiB, 0)} MiB` },
          { measure: `after ${SECONDS} s of GETs: RSS sum, PSS sum`, value: `${fixed(afterLoad.rssMiB, 0)} MiB, ${fixed(afterLoad.pssMiB, 0)} MiB` },
          { measure: 'GET /v1/tenants/{name}, 8 clients', value: `${fixed(perSecond, 0)}/s (${failures} failed)` },
          { measure: `valid creates refused (retried)`, value: createFailures },
        ],
      );
    } finally {
      await service.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main_();
