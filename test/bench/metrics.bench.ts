import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { DEFAULT_READS_IN_FLIGHT, MetricsExporter } from '../../apps/governor/src/metrics/metrics.exporter';
import { NodeHeartbeats } from '../../apps/governor/src/metrics/node-heartbeats';
import { TenantCatalog } from '../../apps/governor/src/metrics/tenant-catalog';
import { eachBounded } from '../../libs/cgroup/src/collect';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import { removeCgroupTree } from '../support/cgroup-root';

// GET /metrics cost against the number of tenants, next to a raw-read floor measured in the same run on
// the same files: the scrape's own list of files read back to back on the main thread (sync: the least
// the syscalls cost, but it blocks the loop throughout), and read as the scrape reads them, 8 at a time on
// the thread pool, without parsing or formatting (async). Event-loop delay is sampled during the scrapes.
// Runs on this host's v2 core (GOVERNOR_TEST_CGROUP2 unset: /sys/fs/cgroup/unified, core files only) and
// in the kernel guest (GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup, every controller).

const MOUNT = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup/unified';

interface Row {
  tenants: number;
  scrapes: number;
  filesPerScrape: number;
  series: number;
  bytes: number;
  scrapeP50Ms: number;
  scrapeP99Ms: number;
  cpuMsPerScrape: number;
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  floorSyncMs: number;
  floorAsyncMs: number;
  floorLoopDelayMaxMs: number;
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function measure(n: number): Promise<Row> {
  const root = join(MOUNT, `governor-bench-metrics-${n}`);
  removeCgroupTree(root);
  const driver = await CgroupDriver.start({ root, native: new KoffiNative() });
  try {
    const catalog = new TenantCatalog();
    for (let i = 0; i < n; i++) {
      const name = `t${i}`;
      driver.fs.ensureDir(`tenants/${name}`);
      // A link name per tenant that is not on the host: /proc/net/dev is read and searched, with no series.
      catalog.setTenant({ name, id: String(i), hostInterface: `gv${i.toString(16).padStart(10, '0')}`, phase: 'Ready' });
    }
    const heartbeats = new NodeHeartbeats();
    heartbeats.set([{ name: 'bench', heartbeatAt: new Date(), heartbeatIntervalMs: 10_000 }]);
    const files: Array<[string, string]> = [];
    let recording = true;
    const fs = {
      read: (dir: string, file: string) => {
        if (recording) files.push([dir, file]);
        return driver.fs.read(dir, file);
      },
    };
    const registry = new Registry();
    new MetricsExporter({ registry, catalog, heartbeats, host: () => ({ fs, capabilities: driver.capabilities }), node: 'bench' });
    const first = await registry.metrics();
    recording = false;

    const scrapes = n <= 100 ? 50 : n <= 1000 ? 20 : 8;
    const latencies: number[] = [];
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const cpu = process.cpuUsage();
    delay.enable();
    for (let i = 0; i < scrapes; i++) {
      const start = process.hrtime.bigint();
      await registry.metrics();
      latencies.push(ms(start));
    }
    delay.disable();
    const used = process.cpuUsage(cpu);
    latencies.sort((a, b) => a - b);

    let start = process.hrtime.bigint();
    for (const [dir, file] of files) driver.fs.readSync(dir, file);
    const floorSyncMs = ms(start);

    const floorDelay = monitorEventLoopDelay({ resolution: 1 });
    floorDelay.enable();
    start = process.hrtime.bigint();
    await eachBounded(files, DEFAULT_READS_IN_FLIGHT, async ([dir, file]) => {
      await driver.fs.read(dir, file);
    });
    const floorAsyncMs = ms(start);
    floorDelay.disable();

    return {
      tenants: n,
      scrapes,
      filesPerScrape: files.length,
      series: first.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
      bytes: Buffer.byteLength(first),
      scrapeP50Ms: percentile(latencies, 50),
      scrapeP99Ms: percentile(latencies, 99),
      cpuMsPerScrape: (used.user + used.system) / 1000 / scrapes,
      loopDelayP50Ms: delay.percentile(50) / 1e6,
      loopDelayP99Ms: delay.percentile(99) / 1e6,
      loopDelayMaxMs: delay.max / 1e6,
      floorSyncMs,
      floorAsyncMs,
      floorLoopDelayMaxMs: floorDelay.max / 1e6,
    };
  } finally {
    driver.close();
    removeCgroupTree(root);
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.GOVERNOR_BENCH_TENANTS ?? '100,1000,5000').split(',').map(Number);
  const rows: Row[] = [];
  for (const n of sizes) {
    const row = await measure(n);
    rows.push(row);
    process.stdout.write(`${JSON.stringify({ benchmark: 'metrics', kernel: process.env.GOVERNOR_KERNEL_GUEST ? 'guest' : 'host', mount: MOUNT, ...row })}\n`);
  }
  console.table(
    rows.map((r) => ({
      tenants: r.tenants,
      'files/scrape': r.filesPerScrape,
      series: r.series,
      MB: (r.bytes / 1e6).toFixed(2),
      'p50 ms': r.scrapeP50Ms.toFixed(1),
      'p99 ms': r.scrapeP99Ms.toFixed(1),
      'cpu ms': r.cpuMsPerScrape.toFixed(1),
      'loop p99 ms': r.loopDelayP99Ms.toFixed(1),
      'loop max ms': r.loopDelayMaxMs.toFixed(1),
      'floor sync ms': r.floorSyncMs.toFixed(1),
      'floor async ms': r.floorAsyncMs.toFixed(1),
      'p50 / sync floor': (r.scrapeP50Ms / r.floorSyncMs).toFixed(2),
      'p50 / async floor': (r.scrapeP50Ms / r.floorAsyncMs).toFixed(2),
    })),
  );
}

void main();
