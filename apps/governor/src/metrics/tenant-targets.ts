import { tenantDir, workloadDir } from '../../../../libs/cgroup/src/layout';
import type { LabelSet } from './metric-family';
import type { TenantCatalog } from './tenant-catalog';

export const MEMORY_EVENTS = ['low', 'high', 'max', 'oom', 'oom_kill', 'oom_group_kill'] as const;
export type MemoryEventName = (typeof MEMORY_EVENTS)[number];
export const PRESSURE_RESOURCES = ['cpu', 'memory', 'io'] as const;
export type PressureResource = (typeof PRESSURE_RESOURCES)[number];
export const PRESSURE_KINDS = ['some', 'full'] as const;
export type PressureKind = (typeof PRESSURE_KINDS)[number];
/** Every state a workload row can have; the ones a tenant has none in are exported as 0. */
export const WORKLOAD_STATES = ['starting', 'running', 'exited', 'killed', 'oom-killed', 'failed', 'lost'] as const;

/** One running workload's leaf and labels. */
export interface WorkloadTarget {
  readonly id: string;
  /** tenants/<name>/workloads/<id>, below ROOT */
  readonly dir: string;
  readonly labels: LabelSet;
}

/**
 * One tenant as a scrape reads it: its directory below ROOT and every label set its series use, built
 * when the tenant enters the catalog and kept until it changes, so that the hot path builds neither a
 * path nor a label object (and prom-client formats each label set once; see metric-family.ts).
 */
export class TenantTarget {
  /** tenants/<name>, below ROOT */
  readonly dir: string;
  /** {tenant, node} */
  readonly labels: LabelSet;
  readonly memoryEvents: Readonly<Record<MemoryEventName, LabelSet>>;
  readonly pidsMaxEvent: LabelSet;
  readonly pressure: Readonly<Record<PressureResource, Readonly<Record<PressureKind, LabelSet>>>>;
  readonly workloadStates: ReadonlyMap<string, LabelSet>;
  /** running workloads, from the catalog */
  workloads: readonly WorkloadTarget[] = [];
  private readonly devices = new Map<string, LabelSet>();

  constructor(
    readonly name: string,
    readonly phase: string,
    readonly hostInterface: string | undefined,
    readonly node: string,
  ) {
    this.dir = tenantDir(name);
    this.labels = { tenant: name, node };
    const memoryEvents = {} as Record<MemoryEventName, LabelSet>;
    for (const event of MEMORY_EVENTS) memoryEvents[event] = { tenant: name, node, event };
    this.memoryEvents = memoryEvents;
    this.pidsMaxEvent = { tenant: name, node, event: 'max' };
    const byKind = (resource: PressureResource) => ({
      some: { tenant: name, node, resource, kind: 'some' },
      full: { tenant: name, node, resource, kind: 'full' },
    });
    this.pressure = { cpu: byKind('cpu'), memory: byKind('memory'), io: byKind('io') };
    this.workloadStates = new Map(WORKLOAD_STATES.map((state) => [state, { tenant: name, node, state }]));
  }

  /** {tenant, node, device}; a device seen once keeps its label set for the tenant's lifetime. */
  device(device: string): LabelSet {
    let labels = this.devices.get(device);
    if (labels === undefined) {
      labels = { tenant: this.name, node: this.node, device };
      this.devices.set(device, labels);
    }
    return labels;
  }

  /** {tenant, node, state} for a state outside WORKLOAD_STATES, should a newer service add one. */
  workloadState(state: string): LabelSet {
    return this.workloadStates.get(state) ?? { tenant: this.name, node: this.node, state };
  }
}

/**
 * Keeps one TenantTarget per catalog tenant. Rebuilt only when the catalog's revision moves; a tenant
 * whose phase and link are unchanged keeps its target, and with it the label objects that prom-client
 * has already formatted.
 */
export class TenantTargets {
  private revision = -1;
  private byName = new Map<string, TenantTarget>();
  private list: readonly TenantTarget[] = [];

  constructor(
    private readonly catalog: TenantCatalog,
    private readonly node: string,
  ) {}

  current(): readonly TenantTarget[] {
    if (this.catalog.revision === this.revision) return this.list;
    this.revision = this.catalog.revision;
    const next = new Map<string, TenantTarget>();
    for (const tenant of this.catalog.tenants()) {
      const known = this.byName.get(tenant.name);
      const target =
        known && known.phase === tenant.phase && known.hostInterface === tenant.hostInterface
          ? known
          : new TenantTarget(tenant.name, tenant.phase, tenant.hostInterface, this.node);
      target.workloads = workloadTargets(target, this.catalog.workloads(tenant.name).running, known?.workloads ?? []);
      next.set(tenant.name, target);
    }
    this.byName = next;
    this.list = [...next.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.list;
  }
}

function workloadTargets(tenant: TenantTarget, running: readonly string[], known: readonly WorkloadTarget[]): WorkloadTarget[] {
  return running.map(
    (id) => known.find((w) => w.id === id) ?? { id, dir: workloadDir(tenant.name, id), labels: { tenant: tenant.name, workload: id, node: tenant.node } },
  );
}
