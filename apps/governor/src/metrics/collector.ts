import type { CgroupFileReader } from '../../../../libs/cgroup/src/collect';
import type { HostCapabilities } from '../../../../libs/cgroup/src/capabilities';
import type { FamilyType, LabelSet, MetricFamily, Sample } from './metric-family';
import type { TenantTarget } from './tenant-targets';

/** The collectors, each with one file in collectors/ and its own governor_collector_* series. */
export type CollectorName = 'tenants' | 'cpu' | 'memory' | 'pids' | 'io' | 'pressure' | 'network' | 'workloads' | 'node';

/** This host's cgroup subtree as a scrape sees it; absent in role api and when the host is unavailable. */
export interface HostView {
  fs: CgroupFileReader;
  capabilities: HostCapabilities;
}

/** Creates a family whose values come from the scrape that asks for them; see MetricsExporter. */
export type FamilyFactory = (name: string, help: string, type: FamilyType) => MetricFamily;

/** What a collector sees of a scrape before anything is read. */
export interface CollectorPlan {
  /** the tenants of this node, sorted by name */
  readonly tenants: readonly TenantTarget[];
  readonly host: HostView;
  /** Names a file collect() reads: every file of a scrape is read in one call, before any collector runs. */
  want(dir: string, files: readonly string[]): void;
}

/** What one collector gets for one scrape. */
export interface CollectorRun {
  /** the tenants of this node, sorted by name, minus those whose cgroup is gone this scrape */
  readonly tenants: readonly TenantTarget[];
  readonly host: HostView | undefined;
  readonly node: string;
  /** milliseconds since the epoch, taken once per scrape */
  readonly now: number;
  /**
   * A file below ROOT that this collector named in plan(), as the scrape's one read found it. Undefined
   * when it does not exist, and also when it cannot be read at all (counted in
   * governor_collector_errors_total): that costs its series, never the scrape.
   */
  read(dir: string, file: string): string | undefined;
  /**
   * Counts a fault that costs series but not the collector: a file that was read but could not be
   * parsed, or a tenant whose cgroup is missing although the reconciler has it in place.
   */
  countError(): void;
  /** Records that a tenant's cgroup is gone, so that later collectors of this scrape skip it. */
  gone(tenant: TenantTarget): void;
  /** The list this family's samples of this scrape go to. */
  series(family: MetricFamily): Sample[];
}

/**
 * One resource's metrics. plan() names the files it reads, and collect() turns what the scrape read into
 * samples; collect() throws only when the whole collector cannot work (governor_collector_success 0, none
 * of its series exported).
 */
export interface Collector {
  readonly name: CollectorName;
  readonly families: readonly MetricFamily[];
  /** Whether it has anything to read on this host: a collector for a missing controller does not run. */
  enabled(host: HostView | undefined): boolean;
  /** Names the cgroup files collect() reads; a collector that reads none has no plan. */
  plan?(plan: CollectorPlan): void;
  collect(run: CollectorRun): Promise<void> | void;
}

/** Microseconds, as the kernel counts CPU and stall time, to the seconds Prometheus expects. */
export const seconds = (usec: number): number => usec / 1e6;

/** Adds a sample when there is a value: an absent key or file exports no series, never a 0. */
export function emit(samples: Sample[], labels: LabelSet, value: number | undefined): void {
  if (value !== undefined) samples.push({ value, sharedLabels: labels });
}
