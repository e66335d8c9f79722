import type { FieldError } from '../../../../libs/domain/src/errors';
import type { Quota } from '../../../../libs/domain/src/quota.types';
import { parseSize } from '../../../../libs/domain/src/units';

/**
 * Admission: the guaranteed resources of the tenants placed on a node may not add up to more than the node
 * has. Guaranteed means what the kernel keeps for a tenant whatever the others do: memory.min (never
 * reclaimed), and the CPUs a cpuset pins it to (counted as taken, as an exclusive reservation would be).
 * Limits (memory.max, cpu.max) are ceilings and may overcommit freely. The quota has no separate
 * reservation field (DESIGN §4 defines none), so these two are the whole of a tenant's guarantee. A node may
 * declare a system reservation (GOVERNOR_SYSTEM_RESERVED on its agent, as kubelet's system-reserved): what
 * the host keeps for itself, taken off its capacity before any tenant counts.
 */
export const GUARANTEED = ['memory.min', 'cpuset.cpus'] as const;
export type GuaranteedResource = (typeof GUARANTEED)[number];

/** What a tenant is guaranteed on each node it is placed on: bytes of memory.min, CPUs of its cpuset. Infinity for "max". */
export type Guarantee = Record<GuaranteedResource, number>;

/** Where a tenant is (its nodes; empty means every node) and what it asks for. */
export interface Placement {
  quota: Quota;
  nodes: readonly string[];
}

/** A registered node's capacity; 0 means not reported, and such a node is not checked. */
export interface NodeCapacity {
  name: string;
  cpus: number;
  memoryBytes: number;
  /** the node's declared system reservation (GOVERNOR_SYSTEM_RESERVED), taken off its capacity */
  reservedCpus?: number;
  reservedMemoryBytes?: number;
  /** the CPUs it has online, as a canonical list ("0-3"); null or absent when not reported */
  cpuList?: string | null;
}

/** GOVERNOR_SYSTEM_RESERVED: what a node keeps for its own system, apart from every tenant. */
export interface SystemReservation {
  cpus: number;
  memoryBytes: number;
}

export const NO_RESERVATION: SystemReservation = { cpus: 0, memoryBytes: 0 };

/**
 * GOVERNOR_OVERCOMMIT: how far each resource's guaranteed total may exceed capacity, as a ratio (1: not at
 * all; Infinity: admission is off for it).
 */
export interface Overcommit {
  cpus: number;
  memory: number;
}

export const NO_OVERCOMMIT: Overcommit = { cpus: 1, memory: 1 };

/** One resource on one target node: what this tenant asks, what the others already hold there, and what the node allows. */
export interface ResourceAdmission {
  node: string;
  resource: GuaranteedResource;
  /** this tenant's guarantee on the node after the change ("max" for memory.min max) */
  requested: number | 'max';
  /** the sum over every other live tenant placed on the node */
  placed: number | 'max';
  /** the node's CPUs or memory, as it reported them */
  capacity: number;
  /** the part of the capacity the node reserves for its system (GOVERNOR_SYSTEM_RESERVED); absent when none */
  reserved?: number;
  /** cpuset.cpus: the CPUs the tenant names that the node does not have online; absent when it has them all */
  missing?: string;
  /** cpuset.cpus, with `missing`: the CPUs the node reported online */
  online?: string;
  /** capacity times the overcommit ratio; "unlimited" when GOVERNOR_OVERCOMMIT turns the check off */
  allowed: number | 'unlimited';
  /** whether requested + placed ≤ allowed */
  fits: boolean;
  /** false only when the change grows this tenant's guarantee here and it does not fit: a refusal */
  admitted: boolean;
}

const ZERO: Guarantee = { 'memory.min': 0, 'cpuset.cpus': 0 };

export function guaranteeOf(quota: Quota): Guarantee {
  const min = quota.memory?.min;
  const cpus = quota.cpuset?.cpus;
  return {
    'memory.min': min === undefined ? 0 : min === 'max' ? Infinity : min,
    'cpuset.cpus': cpus === undefined ? 0 : countCpus(cpus),
  };
}

/** How many CPUs a canonical list names: "0-3,6" is 5. */
export function countCpus(list: string): number {
  let count = 0;
  for (const item of list.split(',')) {
    if (item === '') continue;
    const [first, last = first] = item.split('-').map(Number);
    count += last - first + 1;
  }
  return count;
}

export function hasGuarantee(quota: Quota): boolean {
  const guarantee = guaranteeOf(quota);
  return GUARANTEED.some((resource) => guarantee[resource] > 0);
}

/** The registered nodes a placement targets: the ones it lists that are registered, or all of them when it lists none. */
export function targetsOf(placement: Placement, fleet: readonly string[]): string[] {
  return placement.nodes.length === 0 ? [...fleet] : placement.nodes.filter((node) => fleet.includes(node));
}

/** The guarantees every placement holds on each node of the fleet, summed. */
export function placedOn(placements: readonly Placement[], fleet: readonly string[]): Map<string, Guarantee> {
  const sums = new Map<string, Guarantee>(fleet.map((node) => [node, { ...ZERO }]));
  for (const placement of placements) {
    const guarantee = guaranteeOf(placement.quota);
    for (const node of targetsOf(placement, fleet)) {
      const sum = sums.get(node)!;
      for (const resource of GUARANTEED) sum[resource] += guarantee[resource];
    }
  }
  return sums;
}

function capacityOf(node: NodeCapacity, resource: GuaranteedResource): number {
  return resource === 'memory.min' ? node.memoryBytes : node.cpus;
}

function reservedOf(node: NodeCapacity, resource: GuaranteedResource): number {
  return (resource === 'memory.min' ? node.reservedMemoryBytes : node.reservedCpus) ?? 0;
}

function idsOf(list: string): Array<[number, number]> {
  return list
    .split(',')
    .filter((item) => item !== '')
    .map((item) => {
      const [first, last = first] = item.split('-').map(Number);
      return [first, last];
    });
}

/** The CPUs of `asked` (a canonical list) that are not in `online`, as a list ("4-5"); '' when none. */
export function cpusMissing(asked: string, online: string): string {
  const have = idsOf(online);
  const missing: string[] = [];
  for (const [first, last] of idsOf(asked)) {
    let runStart: number | undefined;
    for (let cpu = first; cpu <= last + 1; cpu += 1) {
      const absent = cpu <= last && !have.some(([low, high]) => cpu >= low && cpu <= high);
      if (absent && runStart === undefined) runStart = cpu;
      if (!absent && runStart !== undefined) {
        missing.push(runStart === cpu - 1 ? String(runStart) : `${runStart}-${cpu - 1}`);
        runStart = undefined;
      }
    }
  }
  return missing.join(',');
}

function ratioOf(overcommit: Overcommit, resource: GuaranteedResource): number {
  return resource === 'memory.min' ? overcommit.memory : overcommit.cpus;
}

/**
 * Checks a tenant's placement after a change (`next`) against what the others (`others`) hold. Only what
 * grows is refused: a tenant whose guarantee on a node stays the same or shrinks is admitted even on a node
 * already over (its capacity shrank, or the overcommit ratio was lowered), so that it can always be
 * lowered. `before` is null for a new tenant.
 */
export function admit(input: {
  before: Placement | null;
  next: Placement;
  others: readonly Placement[];
  fleet: readonly NodeCapacity[];
  overcommit: Overcommit;
}): ResourceAdmission[] {
  const { before, next, others, fleet, overcommit } = input;
  const names = fleet.map((node) => node.name);
  const placed = placedOn(others, names);
  const asked = guaranteeOf(next.quota);
  const had = before === null ? ZERO : guaranteeOf(before.quota);
  const hadOn = new Set(before === null ? [] : targetsOf(before, names));
  const targets = targetsOf(next, names);
  const askedCpus = next.quota.cpuset?.cpus;
  const results: ResourceAdmission[] = [];
  for (const node of fleet.filter((candidate) => targets.includes(candidate.name))) {
    for (const resource of GUARANTEED) {
      const requested = asked[resource];
      const capacity = capacityOf(node, resource);
      if (requested === 0 || capacity <= 0) continue;
      const ratio = ratioOf(overcommit, resource);
      const reserved = Math.min(reservedOf(node, resource), capacity);
      const allowed = ratio === Infinity ? Infinity : Math.floor((capacity - reserved) * ratio);
      const held = placed.get(node.name)![resource];
      // A cpuset naming a CPU the node lacks cannot be written there (the kernel answers EINVAL), overcommit or not.
      const missing = resource === 'cpuset.cpus' && askedCpus !== undefined && node.cpuList ? cpusMissing(askedCpus, node.cpuList) : '';
      const fits = requested + held <= allowed && missing === '';
      const newHere = !hadOn.has(node.name);
      const grows = newHere || requested > had[resource] || (missing !== '' && askedCpus !== before?.quota.cpuset?.cpus);
      results.push({
        node: node.name,
        resource,
        requested: requested === Infinity ? 'max' : requested,
        placed: held === Infinity ? 'max' : held,
        capacity,
        ...(reserved > 0 && { reserved }),
        ...(missing !== '' && { missing, online: node.cpuList ?? '' }),
        allowed: allowed === Infinity ? 'unlimited' : allowed,
        fits,
        admitted: fits || !grows,
      });
    }
  }
  return results;
}

/** One refusal in words, with every number: what a 409 says. */
export function describeRefusal(refusal: ResourceAdmission): string {
  const amount = (value: number | 'max' | 'unlimited') =>
    typeof value === 'string' ? value : refusal.resource === 'memory.min' ? `${value} bytes (${binary(value)})` : `${value} CPU${value === 1 ? '' : 's'}`;
  if (refusal.missing !== undefined) {
    return `node ${refusal.node}: cpuset.cpus names CPU${refusal.missing.includes(',') || refusal.missing.includes('-') ? 's' : ''} ${refusal.missing}, which the node does not have; its CPUs online: ${refusal.online}`;
  }
  const reserved = refusal.reserved === undefined ? '' : `, of which ${amount(refusal.reserved)} reserved for the system (GOVERNOR_SYSTEM_RESERVED)`;
  const allocatable = refusal.capacity - (refusal.reserved ?? 0);
  const ratio = typeof refusal.allowed === 'number' && refusal.allowed !== allocatable ? `, ${amount(refusal.allowed)} with GOVERNOR_OVERCOMMIT` : '';
  return (
    `node ${refusal.node}: ${refusal.resource} requested ${amount(refusal.requested)}, already placed ${amount(refusal.placed)} by other tenants, ` +
    `capacity ${amount(refusal.capacity)}${reserved}${ratio}; at most ${amount(remaining(refusal))} more fits there`
  );
}

function remaining(refusal: ResourceAdmission): number {
  if (typeof refusal.allowed !== 'number') return Infinity;
  if (refusal.placed === 'max') return 0;
  return Math.max(0, refusal.allowed - refusal.placed);
}

function binary(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number(value.toFixed(2))} ${units[unit]}`;
}

/**
 * GOVERNOR_OVERCOMMIT: unset or "false" for none; "true" turns admission off; a ratio ("1.5": guarantees may
 * add up to 1.5 times capacity) for both resources; or per resource, "cpus=4,memory=1" (each a ratio or true;
 * one left out stays at 1). Throws with what is allowed.
 */
export function parseOvercommit(text: string | undefined): Overcommit {
  if (text === undefined || text === 'false') return NO_OVERCOMMIT;
  const expected = 'must be false, true, a ratio of at least 1 (e.g. 1.5), or per resource cpus=<ratio|true>,memory=<ratio|true>';
  const ratio = (value: string): number => {
    if (value === 'true') return Infinity;
    if (!/^\d{1,4}(\.\d{1,3})?$/.test(value) || Number(value) < 1) throw new Error(`${expected}; ${JSON.stringify(value)} is not a ratio of at least 1`);
    return Number(value);
  };
  if (!text.includes('=')) {
    const both = ratio(text);
    return { cpus: both, memory: both };
  }
  const result: Overcommit = { ...NO_OVERCOMMIT };
  for (const [key, value] of resourceItems(text, expected)) result[key] = ratio(value);
  return result;
}

/**
 * The "cpus=…,memory=…" items of a setting, each resource at most once; throws with `expected` (what is
 * allowed) and the item that names no resource or one named before.
 */
function resourceItems(text: string, expected: string): ['cpus' | 'memory', string][] {
  const seen = new Set<string>();
  return text.split(',').map((item) => {
    const [key, value = ''] = item.split('=');
    if ((key !== 'cpus' && key !== 'memory') || seen.has(key))
      throw new Error(`${expected}; ${JSON.stringify(item)} names ${seen.has(key) ? 'a resource twice' : 'no resource'}`);
    seen.add(key);
    return [key, value];
  });
}

/**
 * GOVERNOR_SYSTEM_RESERVED: what the node keeps for its own system, taken off its capacity before tenants'
 * guarantees count: unset for nothing, or "cpus=<count>,memory=<size>" (either may be left out; size as a
 * quota takes it, e.g. 2Gi). Throws with what is allowed.
 */
export function parseSystemReservation(text: string | undefined): SystemReservation {
  if (text === undefined || text === '') return NO_RESERVATION;
  const expected = 'must be cpus=<whole CPUs>,memory=<size such as 2Gi>, either one alone';
  const result: SystemReservation = { ...NO_RESERVATION };
  for (const [key, value] of resourceItems(text, expected)) {
    if (key === 'cpus') {
      if (!/^\d{1,4}$/.test(value)) throw new Error(`${expected}; cpus=${JSON.stringify(value)} is not a whole number of CPUs`);
      result.cpus = Number(value);
    } else {
      const errors: FieldError[] = [];
      const bytes = parseSize(/^\d+$/.test(value) ? Number(value) : value, 'memory', errors);
      if (typeof bytes !== 'number') throw new Error(`${expected}; memory=${JSON.stringify(value)} is not a size in bytes (e.g. 2Gi, 512Mi)`);
      result.memoryBytes = bytes;
    }
  }
  return result;
}
