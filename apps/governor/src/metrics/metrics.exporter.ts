import type { Counter, Registry } from 'prom-client';
import { BoundedReader, type CgroupFileReader, eachBounded } from '../../../../libs/cgroup/src/collect';
import type { Collector, CollectorName, CollectorRun, HostView } from './collector';
import { CpuCollector } from './collectors/cpu.collector';
import { IoCollector } from './collectors/io.collector';
import { MemoryCollector } from './collectors/memory.collector';
import { NetworkCollector } from './collectors/network.collector';
import { NodeCollector } from './collectors/node.collector';
import { PidsCollector } from './collectors/pids.collector';
import { PressureCollector } from './collectors/pressure.collector';
import { TenantsCollector } from './collectors/tenants.collector';
import { WorkloadsCollector } from './collectors/workloads.collector';
import { type FamilyType, type LabelSet, MetricFamily, type Sample, ScrapeSnapshot } from './metric-family';
import { type NetdevReader, readProcNetDev } from './netdev';
import type { NodeHeartbeats } from './node-heartbeats';
import type { TenantCatalog } from './tenant-catalog';
import { type TenantTarget, TenantTargets } from './tenant-targets';

/** Reads in flight at once: below koffi's 8 resident async pools, and leaving room for the reconciler. */
export const DEFAULT_READS_IN_FLIGHT = 8;
/** Tenants in progress at once; each issues its few reads together and the reader bounds the total. */
export const DEFAULT_TENANTS_IN_FLIGHT = 16;

export interface ExporterOptions {
  registry: Registry;
  catalog: TenantCatalog;
  heartbeats: NodeHeartbeats;
  /** This node's cgroup subtree, looked up at every scrape: it is prepared after the exporter exists. */
  host: () => HostView | undefined;
  node: string;
  /** prom-client's counter of drift corrections: a deleted tenant's series are removed from it too */
  driftCorrections?: Counter<'tenant' | 'file'>;
  readNetdev?: NetdevReader;
  readsInFlight?: number;
  tenantsInFlight?: number;
  /** Called when a collector starts failing, and once more when it works again (err undefined). */
  onCollectorChange?: (collector: CollectorName, err: unknown) => void;
  /** Called for each file that exists but cannot be read (it costs its series and counts as an error). */
  onReadError?: (collector: CollectorName, path: string, err: unknown) => void;
  clock?: () => number;
}

/**
 * The tenant and node metrics of GET /metrics. Every family is a registry entry of its own (see
 * MetricFamily); the first family the Registry asks starts one collection for the scrape and the others
 * join it, so each file is read once per scrape and never on a timer. The collectors run one after the
 * other, each timed and each reporting its own success; within a collector the tenants' files are read
 * asynchronously, a bounded number at a time.
 *
 * Failure accounting:
 * - a file that does not exist (a controller the tenant lacks, a feature of a newer kernel, a removed
 *   cgroup) exports no series and is not an error;
 * - a file that cannot be read or parsed, and a tenant whose cgroup is gone while the reconciler has it
 *   in place, cost their series and add to governor_collector_errors_total{collector};
 * - a collector that throws (a bug, or /proc/net/dev unreadable) exports none of its series, and
 *   governor_collector_success{collector} is 0 for that scrape. The other collectors are unaffected.
 * A collector with nothing to read on this host (its controller is missing, or role api) does not run
 * and has no governor_collector_* series.
 */
export class MetricsExporter {
  private readonly collectors: readonly Collector[];
  private readonly targets: TenantTargets;
  private readonly success: MetricFamily;
  private readonly duration: MetricFamily;
  private readonly errors: MetricFamily;
  private readonly collectorLabels = new Map<CollectorName, LabelSet>();
  private readonly errorTotals = new Map<CollectorName, number>();
  private readonly failing = new Set<CollectorName>();
  private inflight: Promise<ScrapeSnapshot> | undefined;
  private reader: { fs: CgroupFileReader; bounded: BoundedReader } | undefined;

  constructor(private readonly options: ExporterOptions) {
    const family = (name: string, help: string, type: FamilyType) => new MetricFamily(name, help, type, (f) => this.samples(f)).register(options.registry);
    this.targets = new TenantTargets(options.catalog, options.node);
    options.catalog.onTenantDeleted((tenant) => void this.forget(tenant));
    this.collectors = [
      new TenantsCollector(family),
      new CpuCollector(family),
      new MemoryCollector(family),
      new PidsCollector(family, options.catalog),
      new IoCollector(family),
      new PressureCollector(family),
      new NetworkCollector(family, options.readNetdev ?? readProcNetDev),
      new WorkloadsCollector(family, options.catalog),
      new NodeCollector(family, options.heartbeats),
    ];
    this.success = family(
      'governor_collector_success',
      'Whether the collector ran to completion in the last scrape: 1 yes, 0 it failed and exported none of its series',
      'gauge',
    );
    this.duration = family('governor_collector_duration_seconds', 'Time the collector took in the last scrape', 'gauge');
    this.errors = family(
      'governor_collector_errors_total',
      'Files a collector could not read or parse, and tenants whose cgroup was missing; each costs its own series, not the scrape',
      'counter',
    );
  }

  /** Runs one collection now and returns it; the Registry gets the same through the families' get(). */
  collect(): Promise<ScrapeSnapshot> {
    this.inflight ??= this.collectAll().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async samples(family: MetricFamily): Promise<readonly Sample[]> {
    const snapshot = await this.collect();
    await snapshot.turn();
    return snapshot.samples(family);
  }

  private async collectAll(): Promise<ScrapeSnapshot> {
    const snapshot = new ScrapeSnapshot();
    const host = this.options.host();
    const targets = this.targets.current();
    const reads = host === undefined ? undefined : this.boundedReader(host.fs);
    const gone = new Set<TenantTarget>();
    const now = (this.options.clock ?? Date.now)();
    const lanes = this.options.tenantsInFlight ?? DEFAULT_TENANTS_IN_FLIGHT;

    for (const collector of this.collectors) {
      if (!collector.enabled(host)) continue;
      let errors = 0;
      const tenants = gone.size === 0 ? targets : targets.filter((tenant) => !gone.has(tenant));
      const run: CollectorRun = {
        tenants,
        host,
        node: this.options.node,
        now,
        read: async (dir, file) => {
          if (reads === undefined) return undefined;
          try {
            return await reads.read(dir, file);
          } catch (err) {
            errors += 1;
            this.options.onReadError?.(collector.name, `${dir}/${file}`, err);
            return undefined;
          }
        },
        countError: () => {
          errors += 1;
        },
        gone: (tenant) => {
          gone.add(tenant);
        },
        eachTenant: (fn) => eachBounded(tenants, lanes, fn),
        series: (family) => snapshot.series(family),
      };
      const started = process.hrtime.bigint();
      let ok = true;
      try {
        await collector.collect(run);
        this.settle(collector.name, undefined);
      } catch (err) {
        ok = false;
        snapshot.drop(collector.families);
        this.settle(collector.name, err);
      }
      const labels = this.labelsOf(collector.name);
      snapshot.series(this.success).push({ value: ok ? 1 : 0, sharedLabels: labels });
      snapshot.series(this.duration).push({ value: Number(process.hrtime.bigint() - started) / 1e9, sharedLabels: labels });
      const total = (this.errorTotals.get(collector.name) ?? 0) + errors;
      this.errorTotals.set(collector.name, total);
      snapshot.series(this.errors).push({ value: total, sharedLabels: labels });
    }
    return snapshot;
  }

  /** One bounded reader per CgroupFs, kept across scrapes. */
  private boundedReader(fs: CgroupFileReader): BoundedReader {
    if (this.reader?.fs !== fs) this.reader = { fs, bounded: new BoundedReader(fs, this.options.readsInFlight ?? DEFAULT_READS_IN_FLIGHT) };
    return this.reader.bounded;
  }

  /** Drops the series prom-client's own counters hold for a tenant that left this node. */
  private async forget(tenant: string): Promise<void> {
    const drift = this.options.driftCorrections;
    if (drift === undefined) return;
    for (const { labels } of (await drift.get()).values) if (labels.tenant === tenant) drift.remove(labels);
  }

  private settle(collector: CollectorName, err: unknown): void {
    if (err === undefined ? this.failing.delete(collector) : !this.failing.has(collector)) {
      if (err !== undefined) this.failing.add(collector);
      this.options.onCollectorChange?.(collector, err);
    }
  }

  private labelsOf(collector: CollectorName): LabelSet {
    let labels = this.collectorLabels.get(collector);
    if (labels === undefined) {
      labels = { collector };
      this.collectorLabels.set(collector, labels);
    }
    return labels;
  }
}
