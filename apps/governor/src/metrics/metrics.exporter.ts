import type { Counter, Registry } from 'prom-client';
import { CgroupFileList, type CgroupFileReader, type FileListRead, readList } from '../../../../libs/cgroup/src/collect';
import type { HostCapabilities } from '../../../../libs/cgroup/src/capabilities';
import type { Collector, CollectorName, CollectorPlan, CollectorRun, HostView } from './collector';
import { ExpositionBuffer } from './exposition-buffer';
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

/**
 * Reads in flight at once for a reader that cannot read a whole list in one call (CgroupFs can): a quarter
 * of the process's koffi gate (32 calls in flight), leaving the rest to the reconciler.
 */
export const DEFAULT_READS_IN_FLIGHT = 8;

/** A blank line between families and a newline at the end, as registry.metrics() joins them. */
const BETWEEN_FAMILIES = Buffer.from('\n\n');
const END = Buffer.from('\n');

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
  /** Called when a collector starts failing, and once more when it works again (err undefined). */
  onCollectorChange?: (collector: CollectorName, err: unknown) => void;
  /** Called for each file that exists but cannot be read (it costs its series and counts as an error). */
  onReadError?: (collector: CollectorName, path: string, err: unknown) => void;
  clock?: () => number;
}

/**
 * The tenant and node metrics of GET /metrics. Every family is a registry entry of its own (see
 * MetricFamily); the first family the Registry asks starts one collection for the scrape and the others
 * join it, so each file is read once per scrape and never on a timer. A collection first has every
 * collector name the files it reads (a list kept until the tenants change), reads them all in one call
 * (CgroupFs: one native call on one worker thread), and then runs the collectors one after the other
 * over what was read, each timed and each reporting its own success. exposition() formats the whole
 * registry for GET /metrics in one go, so that a scrape waits for the event loop a few times, not once
 * per family and per batch of reads.
 *
 * Failure accounting:
 * - a file that does not exist (a controller the tenant lacks, a feature of a newer kernel, a removed
 *   cgroup) exports no series and is not an error;
 * - a file that cannot be read or parsed, and a tenant whose cgroup is gone while the reconciler has it
 *   in place, cost their series and add to governor_collector_errors_total{collector};
 * - a collector that throws (a bug, /proc/net/dev unreadable, or the list of files not readable at all)
 *   exports none of its series, and governor_collector_success{collector} is 0 for that scrape. The other
 *   collectors are unaffected.
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
  private readonly ownFamilies = new Set<MetricFamily>();
  private inflight: Promise<ScrapeSnapshot> | undefined;
  private inflightText: Promise<Buffer> | undefined;
  /** The last answer's size, so that the next one's buffer is the right size from the start. */
  private lastSize = 0;
  private plan: { targets: readonly TenantTarget[]; fs: CgroupFileReader; capabilities: HostCapabilities; list: CgroupFileList } | undefined;

  constructor(private readonly options: ExporterOptions) {
    const family = (name: string, help: string, type: FamilyType) => {
      const created = new MetricFamily(name, help, type, (f) => this.samples(f)).register(options.registry);
      this.ownFamilies.add(created);
      return created;
    };
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

  get contentType(): string {
    return this.options.registry.contentType;
  }

  /**
   * The whole registry in the text format, as registry.metrics() gives it, for GET /metrics: this
   * exporter's families written straight from one collection in a single pass into one Buffer (see
   * ExpositionBuffer), prom-client's own metrics (the reconciler's counters, process defaults) as prom-client
   * formats them. Scrapes that arrive while one is being made get the same bytes.
   */
  exposition(): Promise<Buffer> {
    this.inflightText ??= this.formatAll().finally(() => {
      this.inflightText = undefined;
    });
    return this.inflightText;
  }

  private async formatAll(): Promise<Buffer> {
    const registry = this.options.registry;
    const snapshot = await this.collect();
    const metrics = registry.getMetricsAsArray();
    // The Registry holds the families as it holds its own metrics (see MetricFamily.register).
    const own = (metric: (typeof metrics)[number]) =>
      this.ownFamilies.has(metric as unknown as MetricFamily) ? (metric as unknown as MetricFamily) : undefined;
    const theirs = await Promise.all(metrics.map(async (metric) => (own(metric) === undefined ? registry.getSingleMetricAsString(metric.name) : undefined)));
    const out = new ExpositionBuffer(Math.ceil(this.lastSize * 1.125) || undefined);
    for (const [i, metric] of metrics.entries()) {
      if (i > 0) out.bytes(BETWEEN_FAMILIES);
      const family = own(metric);
      if (family !== undefined) family.write(snapshot.samples(family), out);
      else out.text(theirs[i] ?? '');
    }
    out.bytes(END);
    this.lastSize = out.size;
    return out.finish();
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
    const collectors = this.collectors.filter((collector) => collector.enabled(host));
    const list = host === undefined ? undefined : this.planFor(host, targets, collectors);
    let files: FileListRead | Error | undefined;
    if (host !== undefined && list !== undefined) {
      files = await readList(host.fs, list, this.options.readsInFlight ?? DEFAULT_READS_IN_FLIGHT).catch((err: unknown) =>
        err instanceof Error ? err : new Error(String(err)),
      );
    }
    const gone = new Set<TenantTarget>();
    const now = (this.options.clock ?? Date.now)();

    for (const collector of collectors) {
      let errors = 0;
      const tenants = gone.size === 0 ? targets : targets.filter((tenant) => !gone.has(tenant));
      const run: CollectorRun = {
        tenants,
        host,
        node: this.options.node,
        now,
        read: (dir, file) => {
          if (files === undefined || list === undefined) return undefined;
          // The list could not be read at all: every collector that reads a file fails, with the reason.
          if (files instanceof Error) throw files;
          const i = list.indexOf(dir, file);
          if (i === undefined) throw new Error(`collector ${collector.name} reads ${dir}/${file}, which its plan did not name`);
          const err = files.errors.get(i);
          if (err === undefined) return files.texts[i];
          errors += 1;
          this.options.onReadError?.(collector.name, `${dir}/${file}`, err);
          return undefined;
        },
        countError: () => {
          errors += 1;
        },
        gone: (tenant) => {
          gone.add(tenant);
        },
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

  /** The files the collectors read for these tenants on this host; made again only when either changes. */
  private planFor(host: HostView, targets: readonly TenantTarget[], collectors: readonly Collector[]): CgroupFileList {
    const known = this.plan;
    if (known !== undefined && known.targets === targets && known.fs === host.fs && known.capabilities === host.capabilities) return known.list;
    const list = new CgroupFileList();
    const plan: CollectorPlan = {
      tenants: targets,
      host,
      want: (dir, files) => {
        for (const file of files) list.add(dir, file);
      },
    };
    for (const collector of collectors) collector.plan?.(plan);
    this.plan = { targets, fs: host.fs, capabilities: host.capabilities, list };
    return list;
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
