import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { DEFAULT_READS_IN_FLIGHT, MetricsExporter } from '../../apps/governor/src/metrics/metrics.exporter';
import { NodeHeartbeats } from '../../apps/governor/src/metrics/node-heartbeats';
import { TenantCatalog } from '../../apps/governor/src/metrics/tenant-catalog';
import type { CgroupFs } from '../../libs/cgroup/src/cgroup-fs';
import { eachBounded } from '../../libs/cgroup/src/collect';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import { removeCgroupTree } from '../support/cgroup-root';
import { fixed, millis, report, summarize } from './stats';

// GET /metrics cost against the number of tenants, next to a raw-read floor measured in the same run on
// the same files: the scrape's own list of files read back to back on the main thread (sync: the least
// the syscalls cost, but it blocks the loop throughout), and read 8 at a time on the thread pool without
// parsing or formatting (async: how the scrape read them before it read them in one native call).
// Event-loop delay is sampled during the scrapes.
//
// "this" is what this build's GET /metrics does (MetricsExporter.exposition over CgroupFs); with
// GOVERNOR_BENCH_BEFORE=<main.js of another build> (a built checkout), "before" is what that build's
// GET /metrics did (registry.metrics() over its own exporter, CgroupFs and native library), scraped
// alternately with this build's on the same cgroups in the same run. "this, via registry" is this build's
// collection formatted by prom-client's registry.metrics() instead, paced one family per turn: the
// formatting's share. Runs on this host's v2 core (GOVERNOR_TEST_CGROUP2 unset: /sys/fs/cgroup/unified,
// core files only) and in the kernel guest (GOVERNOR_TEST_CGROUP2=/sys/fs/cgroup, every controller).
// GOVERNOR_BENCH_TENANTS: the sizes (default 100,1000,5000); GOVERNOR_BENCH_LABEL: a word in the cgroup
// root's name, so that parallel runs are told apart.

const MOUNT = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup/unified';
const BEFORE = process.env.GOVERNOR_BENCH_BEFORE;
const LABEL = process.env.GOVERNOR_BENCH_LABEL ?? 'metrics';

type ExporterModule = typeof import('../../apps/governor/src/metrics/metrics.exporter');
type CatalogModule = typeof import('../../apps/governor/src/metrics/tenant-catalog');
type HeartbeatsModule = typeof import('../../apps/governor/src/metrics/node-heartbeats');
type NativeModule = typeof import('../../libs/native/src/native');
type CgroupFsModule = typeof import('../../libs/cgroup/src/cgroup-fs');

/** One build's scrape: how it serves GET /metrics, and how to let go of what it opened. */
interface Scraper {
  build: string;
  /** the answer's body: a string (prom-client) or the bytes GET /metrics sends */
  scrape: () => Promise<string | Buffer>;
  close: () => void;
}

interface Side {
  build: string;
  latencies: number[];
  cpuMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  bytes: number;
  series: number;
}

function catalogOf(Catalog: CatalogModule['TenantCatalog'], n: number): TenantCatalog {
  const catalog = new Catalog();
  // A link name per tenant that is not on the host: /proc/net/dev is read and searched, with no series.
  for (let i = 0; i < n; i++) catalog.setTenant({ name: `t${i}`, id: String(i), hostInterface: `gv${i.toString(16).padStart(10, '0')}`, phase: 'Ready' });
  return catalog;
}

function heartbeatsOf(Heartbeats: HeartbeatsModule['NodeHeartbeats']): NodeHeartbeats {
  const heartbeats = new Heartbeats();
  heartbeats.set([{ name: 'bench', heartbeatAt: new Date(), heartbeatIntervalMs: 10_000 }]);
  return heartbeats;
}

/** This build, as its controller serves GET /metrics, and the same collection through registry.metrics(). */
function thisBuild(driver: CgroupDriver, n: number): Scraper[] {
  const registry = new Registry();
  const exporter = new MetricsExporter({
    registry,
    catalog: catalogOf(TenantCatalog, n),
    heartbeats: heartbeatsOf(NodeHeartbeats),
    host: () => driver,
    node: 'bench',
  });
  return [
    { build: 'this', scrape: () => exporter.exposition(), close: () => undefined },
    { build: 'this, via registry', scrape: () => registry.metrics(), close: () => undefined },
  ];
}

/** Another build's exporter, CgroupFs and native library, loaded from its dist/ (its main.js four levels down). */
async function otherBuild(main: string, root: string, driver: CgroupDriver, n: number): Promise<Scraper> {
  const dist = dirname(dirname(dirname(dirname(main))));
  const load = async <T>(rel: string): Promise<T> => (await import(join(dist, rel))) as T;
  const { MetricsExporter: Exporter } = await load<ExporterModule>('apps/governor/src/metrics/metrics.exporter.js');
  const { TenantCatalog: Catalog } = await load<CatalogModule>('apps/governor/src/metrics/tenant-catalog.js');
  const { NodeHeartbeats: Heartbeats } = await load<HeartbeatsModule>('apps/governor/src/metrics/node-heartbeats.js');
  const { KoffiNative: Native } = await load<NativeModule>('libs/native/src/native.js');
  const { CgroupFs: Fs } = await load<CgroupFsModule>('libs/cgroup/src/cgroup-fs.js');
  const fs: CgroupFs = Fs.open(root, new Native());
  const registry = new Registry();
  new Exporter({
    registry,
    catalog: catalogOf(Catalog, n),
    heartbeats: heartbeatsOf(Heartbeats),
    host: () => ({ fs, capabilities: driver.capabilities }),
    node: 'bench',
  });
  return { build: 'before', scrape: () => registry.metrics(), close: () => fs.close() };
}

async function measure(n: number): Promise<{ tenants: number; filesPerScrape: number; floorSyncMs: number; floorAsyncMs: number; sides: Side[] }> {
  const root = join(MOUNT, `governor-bench-${LABEL}-${n}-${randomBytes(3).toString('hex')}`);
  const driver = await CgroupDriver.start({ root, native: new KoffiNative() });
  const scrapers: Scraper[] = [];
  try {
    for (let i = 0; i < n; i++) await driver.fs.ensureDir(`tenants/t${i}`);
    scrapers.push(...(BEFORE === undefined ? [] : [await otherBuild(BEFORE, root, driver, n)]), ...thisBuild(driver, n));
    const firsts = await Promise.all(scrapers.map((s) => s.scrape()));
    const rounds = n <= 100 ? 50 : n <= 1000 ? 20 : 8;
    const samples = scrapers.map(() => ({ latencies: [] as number[], cpuUs: 0, delay: monitorEventLoopDelay({ resolution: 1 }) }));
    // Alternating, so that a change in the host's load falls on every build alike.
    for (let round = 0; round < rounds; round++) {
      for (const [i, scraper] of scrapers.entries()) {
        const side = samples[i];
        const cpu = process.cpuUsage();
        side.delay.enable();
        const start = process.hrtime.bigint();
        await scraper.scrape();
        side.latencies.push(millis(start));
        side.delay.disable();
        const used = process.cpuUsage(cpu);
        side.cpuUs += used.user + used.system;
      }
    }

    // The floors read the files this build's scrape reads.
    const files: Array<readonly [string, string]> = [];
    const collect = driver.fs.readList.bind(driver.fs);
    driver.fs.readList = (list) => {
      files.push(...list.entries);
      return collect(list);
    };
    await scrapers[scrapers.length - 1].scrape();
    driver.fs.readList = collect;
    let start = process.hrtime.bigint();
    for (const [dir, file] of files) driver.fs.readSync(dir, file);
    const floorSyncMs = millis(start);
    start = process.hrtime.bigint();
    await eachBounded(files, DEFAULT_READS_IN_FLIGHT, async ([dir, file]) => {
      await driver.fs.read(dir, file);
    });
    const floorAsyncMs = millis(start);

    return {
      tenants: n,
      filesPerScrape: files.length,
      floorSyncMs,
      floorAsyncMs,
      sides: scrapers.map((scraper, i) => ({
        build: scraper.build,
        latencies: samples[i].latencies,
        cpuMs: samples[i].cpuUs / 1000 / rounds,
        loopDelayP99Ms: samples[i].delay.percentile(99) / 1e6,
        loopDelayMaxMs: samples[i].delay.max / 1e6,
        bytes: Buffer.byteLength(firsts[i]),
        series: firsts[i]
          .toString()
          .split('\n')
          .filter((line: string) => line !== '' && !line.startsWith('#')).length,
      })),
    };
  } finally {
    for (const scraper of scrapers) scraper.close();
    driver.close();
    removeCgroupTree(root);
  }
}

async function main(): Promise<void> {
  const sizes = (process.env.GOVERNOR_BENCH_TENANTS ?? '100,1000,5000').split(',').map(Number);
  const rows: Array<Record<string, string | number>> = [];
  const results = [];
  for (const n of sizes) {
    const result = await measure(n);
    const load = loadavg()[0];
    results.push({ ...result, loadAverage: load, sides: result.sides.map(({ latencies, ...side }) => ({ ...side, ...summarize(latencies) })) });
    const base = result.sides.find((side) => side.build === 'before');
    for (const side of result.sides) {
      const { p50, p99 } = summarize(side.latencies);
      rows.push({
        build: side.build,
        tenants: n,
        'files/scrape': result.filesPerScrape,
        series: side.series,
        MB: fixed(side.bytes / 1e6),
        'p50 ms': fixed(p50, 1),
        'p99 ms': fixed(p99, 1),
        'p50 ÷ before': base === undefined ? '' : fixed(p50 / summarize(base.latencies).p50),
        'cpu ms': fixed(side.cpuMs, 1),
        'loop p99 / max ms': `${fixed(side.loopDelayP99Ms, 1)} / ${fixed(side.loopDelayMaxMs, 1)}`,
        'floor sync / async ms': `${fixed(result.floorSyncMs, 1)} / ${fixed(result.floorAsyncMs, 1)}`,
        'load average': fixed(load, 1),
      });
    }
  }
  report('metrics', { kernel: process.env.GOVERNOR_KERNEL_GUEST ? 'guest' : 'host', mount: MOUNT, before: BEFORE, results }, rows);
}

void main();
