import type { Quota } from '../../../../libs/domain/src/quota.types';

/**
 * Admission: the guaranteed resources of the tenants placed on a node may not add up to more than the node
 * has. Guaranteed means what the kernel keeps for a tenant whatever the others do: memory.min (never
 * reclaimed), and the CPUs a cpuset pins it to (counted as taken, as an exclusive reservation would be).
 * Limits (memory.max, cpu.max) are ceilings and may overcommit freely. The quota has no separate
 * reservation field: DESIGN §4 defines none, so these two are the whole of it.
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
}

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
  const results: ResourceAdmission[] = [];
  for (const node of fleet.filter((candidate) => targets.includes(candidate.name))) {
    for (const resource of GUARANTEED) {
      const requested = asked[resource];
      const capacity = capacityOf(node, resource);
      if (requested === 0 || capacity <= 0) continue;
      const ratio = ratioOf(overcommit, resource);
      const allowed = ratio === Infinity ? Infinity : Math.floor(capacity * ratio);
      const held = placed.get(node.name)![resource];
      const fits = requested + held <= allowed;
      const grows = !hadOn.has(node.name) || requested > had[resource];
      results.push({
        node: node.name,
        resource,
        requested: requested === Infinity ? 'max' : requested,
        placed: held === Infinity ? 'max' : held,
        capacity,
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
  const ratio = typeof refusal.allowed === 'number' && refusal.allowed !== refusal.capacity ? `, ${amount(refusal.allowed)} with GOVERNOR_OVERCOMMIT` : '';
  return (
    `node ${refusal.node}: ${refusal.resource} requested ${amount(refusal.requested)}, already placed ${amount(refusal.placed)} by other tenants, ` +
    `capacity ${amount(refusal.capacity)}${ratio}; at most ${amount(remaining(refusal))} more fits there`
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
  const seen = new Set<string>();
  for (const item of text.split(',')) {
    const [key, value = ''] = item.split('=');
    if ((key !== 'cpus' && key !== 'memory') || seen.has(key))
      throw new Error(`${expected}; ${JSON.stringify(item)} names ${seen.has(key) ? 'a resource twice' : 'no resource'}`);
    seen.add(key);
    result[key] = ratio(value);
  }
  return result;
}
