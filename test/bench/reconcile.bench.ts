import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import type { Quota } from '../../libs/domain/src/quota.types';
import { KoffiNative } from '../../libs/native/src/native';
import { removeCgroupTree } from '../support/cgroup-root';
import { seconds } from './stats';
import { cgroupFloor } from './whole-reconcile.floor';

// Reconcile of N tenants against two baselines measured in the same run: a C floor doing the bare
// mkdir and write calls, and a loop of libcgroup's cgcreate and cgset. Runs in the kernel guest
// (bash test/bench/run.sh), where every controller exists. Ratios, not absolute times, are the result.
// The no-op pass also reports its native read calls (one batch a tenant), the forks in the guest while it
// ran (none expected: the driver starts no process) and its CPU seconds; the whole governor's no-op pass,
// network and firewall included, is test/bench/noop-pass.bench.ts on the host.

const MOUNT = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup';
const QUOTA: Quota = { cpu: { max: '0.5' }, memory: { max: 268435456, high: 251658240 }, pids: { max: 100 } };
const CHANGED: Quota = { ...QUOTA, memory: { max: 536870912, high: 503316480 } };
const OPTIONS = { force: false, reclaimTimeoutMs: 1000, suspended: false };

interface Row {
  tenants: number;
  coldSeconds: number;
  coldWrites: number;
  noopSeconds: number;
  noopWrites: number;
  /** native calls that read files (one batch a tenant) */
  noopNativeReads: number;
  /** forks and clones in the whole guest during the pass (/proc/stat processes): an upper bound on process starts */
  noopForks: number;
  /** CPU seconds of this process (user + system) during the pass */
  noopCpuSeconds: number;
  changeSeconds: number;
  changeWrites: number;
  floorSeconds: number;
  libcgroupSeconds: number | null;
}

async function governor(n: number): Promise<Omit<Row, 'floorSeconds' | 'libcgroupSeconds'>> {
  const root = join(MOUNT, `governor-bench-${n}`);
  const driver = await CgroupDriver.start({ root, native: new KoffiNative() });
  const names = Array.from({ length: n }, (_, i) => `t${i}`);
  try {
    const pass = async (quotaOf: (name: string) => Quota) => {
      const writes = driver.fs.writes;
      const reads = driver.fs.batchReads;
      const forks = forksSinceBoot();
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (const name of names) await driver.applyTenant(name, quotaOf(name), OPTIONS);
      const used = process.cpuUsage(cpu);
      return {
        seconds: seconds(start),
        writes: driver.fs.writes - writes,
        nativeReads: driver.fs.batchReads - reads,
        forks: forksSinceBoot() - forks,
        cpuSeconds: (used.user + used.system) / 1e6,
      };
    };
    const cold = await pass(() => QUOTA);
    const noop = await pass(() => QUOTA);
    const change = await pass((name) => (name === 't0' ? CHANGED : QUOTA));
    return {
      tenants: n,
      coldSeconds: cold.seconds,
      coldWrites: cold.writes,
      noopSeconds: noop.seconds,
      noopWrites: noop.writes,
      noopNativeReads: noop.nativeReads,
      noopForks: noop.forks,
      noopCpuSeconds: noop.cpuSeconds,
      changeSeconds: change.seconds,
      changeWrites: change.writes,
    };
  } finally {
    driver.close();
    removeCgroupTree(root);
  }
}

/** The "processes" line of /proc/stat: forks (and thread clones) since boot, in the whole system. */
function forksSinceBoot(): number {
  return Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? NaN);
}

function floor(n: number): number {
  const result = cgroupFloor(MOUNT, String(n), n);
  if (result === null) throw new Error(`the C floor needs the cpu, memory and pids controllers in ${MOUNT}`);
  return result.write;
}

function libcgroup(n: number): number | null {
  const group = `governor-lcg-${n}`;
  if (spawnSync('cgcreate', ['-h']).error) return null;
  try {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      execFileSync('cgcreate', ['-g', `cpu,memory,pids:/${group}/t${i}`]);
      execFileSync('cgset', [
        '-r',
        'cpu.max=50000 100000',
        '-r',
        'memory.max=268435456',
        '-r',
        'memory.high=251658240',
        '-r',
        'pids.max=100',
        `/${group}/t${i}`,
      ]);
    }
    return seconds(start);
  } finally {
    removeCgroupTree(join(MOUNT, group));
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.GOVERNOR_BENCH_TENANTS ?? '100,1000').split(',').map(Number);
  const rows: Row[] = [];
  for (const n of sizes) {
    const ours = await governor(n);
    rows.push({ ...ours, floorSeconds: floor(n), libcgroupSeconds: libcgroup(n) });
  }
  const table = rows.map((r) => ({
    tenants: r.tenants,
    'cold s': r.coldSeconds.toFixed(3),
    'cold writes': r.coldWrites,
    'cold / C floor': (r.coldSeconds / r.floorSeconds).toFixed(1),
    'cold / libcgroup': r.libcgroupSeconds === null ? 'n/a' : (r.coldSeconds / r.libcgroupSeconds).toFixed(2),
    'no-op s': r.noopSeconds.toFixed(3),
    'no-op writes': r.noopWrites,
    'no-op native reads': r.noopNativeReads,
    'no-op forks': r.noopForks,
    'no-op CPU s': r.noopCpuSeconds.toFixed(3),
    'one change s': r.changeSeconds.toFixed(3),
    'one change writes': r.changeWrites,
  }));
  process.stdout.write(`${JSON.stringify({ benchmark: 'reconcile', kernel: process.env.GOVERNOR_KERNEL_GUEST ? 'guest' : 'host', rows })}\n`);
  console.table(table);
  if (rows.some((r) => r.noopWrites !== 0)) {
    process.stderr.write('a no-op reconcile wrote to cgroupfs\n');
    process.exitCode = 1;
  }
}

void main();
