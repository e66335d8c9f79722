import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  admit,
  countCpus,
  cpusMissing,
  describeRefusal,
  guaranteeOf,
  NO_OVERCOMMIT,
  type NodeCapacity,
  parseSystemReservation,
  type Placement,
  placedOn,
} from './admission.rules';

const GiB = 2 ** 30;
const fleet: NodeCapacity[] = [
  { name: 'a', cpus: 4, memoryBytes: 8 * GiB },
  { name: 'b', cpus: 2, memoryBytes: 4 * GiB },
];
const placement = (min: number | 'max' | undefined, cpus: string | undefined, nodes: string[] = []): Placement => ({
  quota: { ...(min !== undefined && { memory: { min } }), ...(cpus !== undefined && { cpuset: { cpus } }) },
  nodes,
});
const refusals = (input: Parameters<typeof admit>[0]) =>
  admit(input)
    .filter((r) => !r.admitted)
    .map((r) => [r.node, r.resource, r.requested, r.placed, r.capacity, r.allowed]);

describe('admission arithmetic', () => {
  it('counts the CPUs of a canonical list and reads memory.min max as unbounded', () => {
    assert.equal(countCpus('0-3,6'), 5);
    assert.equal(countCpus('7'), 1);
    assert.deepEqual(guaranteeOf({ memory: { min: 'max' }, cpuset: { cpus: '0-1' } }), { 'memory.min': Infinity, 'cpuset.cpus': 2 });
    assert.deepEqual(guaranteeOf({ memory: { max: GiB } }), { 'memory.min': 0, 'cpuset.cpus': 0 });
  });

  it('sums each tenant on the nodes it lists, and a tenant with no nodes on every node', () => {
    const sums = placedOn([placement(GiB, '0', ['a']), placement(2 * GiB, '0-1', []), placement(GiB, undefined, ['c'])], ['a', 'b']);
    assert.deepEqual(Object.fromEntries(sums), {
      a: { 'memory.min': 3 * GiB, 'cpuset.cpus': 3 },
      b: { 'memory.min': 2 * GiB, 'cpuset.cpus': 2 },
    });
  });

  it('admits guarantees that add up to exactly the capacity', () => {
    assert.deepEqual(
      refusals({ before: null, next: placement(4 * GiB, '0-1', ['a']), others: [placement(4 * GiB, '2-3', ['a'])], fleet, overcommit: NO_OVERCOMMIT }),
      [],
    );
  });

  it('refuses one byte past the capacity, with the node, the resource and every number', () => {
    assert.deepEqual(
      refusals({
        before: null,
        next: placement(4 * GiB + 1, undefined, ['a']),
        others: [placement(4 * GiB, undefined, ['a'])],
        fleet,
        overcommit: NO_OVERCOMMIT,
      }),
      [['a', 'memory.min', 4 * GiB + 1, 4 * GiB, 8 * GiB, 8 * GiB]],
    );
  });

  it('checks a tenant with no nodes against every node, and refuses only where it does not fit', () => {
    assert.deepEqual(
      refusals({ before: null, next: placement(undefined, '0-1'), others: [placement(undefined, '0', ['b'])], fleet, overcommit: NO_OVERCOMMIT }),
      [['b', 'cpuset.cpus', 2, 1, 2, 2]],
    );
  });

  it('lets GOVERNOR_OVERCOMMIT raise the bound by its ratio, or lift it', () => {
    const input = { before: null, next: placement(GiB, '0-1', ['b']), others: [placement(4 * GiB, '0-1', ['b'])], fleet };
    assert.deepEqual(refusals({ ...input, overcommit: { cpus: 2, memory: 1.25 } }), []);
    assert.deepEqual(refusals({ ...input, overcommit: { cpus: 1.5, memory: 1 } }), [
      ['b', 'memory.min', GiB, 4 * GiB, 4 * GiB, 4 * GiB],
      ['b', 'cpuset.cpus', 2, 2, 2, 3],
    ]);
    assert.deepEqual(refusals({ ...input, overcommit: { cpus: Infinity, memory: Infinity } }), []);
  });

  it('admits a change that keeps or lowers a guarantee on a node already over, but not one that raises it', () => {
    const others = [placement(7 * GiB, undefined, ['a'])];
    const before = placement(2 * GiB, undefined, ['a']);
    assert.deepEqual(refusals({ before, next: placement(2 * GiB, '0', ['a']), others, fleet, overcommit: NO_OVERCOMMIT }), []);
    assert.deepEqual(refusals({ before, next: placement(GiB + 1, undefined, ['a']), others, fleet, overcommit: NO_OVERCOMMIT }), []);
    assert.deepEqual(refusals({ before, next: placement(2 * GiB + 1, undefined, ['a']), others, fleet, overcommit: NO_OVERCOMMIT }), [
      ['a', 'memory.min', 2 * GiB + 1, 7 * GiB, 8 * GiB, 8 * GiB],
    ]);
  });

  it('counts moving to a node as growth there', () => {
    const others = [placement(3 * GiB, undefined, ['b'])];
    assert.deepEqual(
      refusals({ before: placement(2 * GiB, undefined, ['a']), next: placement(2 * GiB, undefined, ['a', 'b']), others, fleet, overcommit: NO_OVERCOMMIT }),
      [['b', 'memory.min', 2 * GiB, 3 * GiB, 4 * GiB, 4 * GiB]],
    );
  });

  it('skips nodes that are not registered or reported no capacity', () => {
    assert.deepEqual(admit({ before: null, next: placement(GiB, '0', ['c']), others: [], fleet, overcommit: NO_OVERCOMMIT }), []);
    assert.deepEqual(
      admit({ before: null, next: placement(GiB, '0'), others: [], fleet: [{ name: 'z', cpus: 0, memoryBytes: 0 }], overcommit: NO_OVERCOMMIT }),
      [],
    );
  });

  it('refuses memory.min max on any node, naming it max', () => {
    assert.deepEqual(refusals({ before: null, next: placement('max', undefined, ['b']), others: [], fleet, overcommit: NO_OVERCOMMIT }), [
      ['b', 'memory.min', 'max', 0, 4 * GiB, 4 * GiB],
    ]);
  });

  it('says in words what was asked, what is placed, the capacity and what still fits', () => {
    const [refusal] = admit({
      before: null,
      next: placement(3 * GiB, undefined, ['b']),
      others: [placement(2 * GiB, undefined, ['b'])],
      fleet,
      overcommit: NO_OVERCOMMIT,
    });
    assert.equal(
      describeRefusal(refusal),
      'node b: memory.min requested 3221225472 bytes (3 GiB), already placed 2147483648 bytes (2 GiB) by other tenants, capacity 4294967296 bytes (4 GiB); ' +
        'at most 2147483648 bytes (2 GiB) more fits there',
    );
  });

  it('takes a declared system reservation off the capacity before the overcommit ratio', () => {
    const reserving: NodeCapacity[] = [{ name: 'r', cpus: 4, memoryBytes: 8 * GiB, reservedCpus: 1, reservedMemoryBytes: 2 * GiB }];
    const input = (min: number, cpus: string) => ({ before: null, next: placement(min, cpus, ['r']), others: [], fleet: reserving, overcommit: NO_OVERCOMMIT });
    assert.deepEqual(refusals(input(6 * GiB, '0-2')), []);
    assert.deepEqual(refusals(input(6 * GiB + 1, '0-3')), [
      ['r', 'memory.min', 6 * GiB + 1, 0, 8 * GiB, 6 * GiB],
      ['r', 'cpuset.cpus', 4, 0, 4, 3],
    ]);
    const [memory] = admit({ ...input(6 * GiB, '0'), overcommit: { cpus: 1, memory: 1.5 } });
    assert.equal(memory.allowed, 9 * GiB, '1.5 times what is left after the reservation');
    assert.equal(memory.reserved, 2 * GiB);
  });

  it('refuses a cpuset naming CPUs the node does not have online, and keeps one it already had', () => {
    const sparse: NodeCapacity[] = [{ name: 's', cpus: 3, memoryBytes: 8 * GiB, cpuList: '0,2-3' }];
    assert.equal(cpusMissing('0-5', '0,2-3'), '1,4-5');
    assert.equal(cpusMissing('2-3', '0,2-3'), '');
    const [refused] = admit({ before: null, next: placement(undefined, '1', ['s']), others: [], fleet: sparse, overcommit: { cpus: Infinity, memory: 1 } });
    assert.deepEqual([refused.fits, refused.admitted, refused.missing, refused.online], [false, false, '1', '0,2-3']);
    assert.equal(describeRefusal(refused), 'node s: cpuset.cpus names CPU 1, which the node does not have; its CPUs online: 0,2-3');
    // A CPU that went offline after the tenant was placed does not block an unrelated change of the tenant.
    const kept = admit({ before: placement(GiB, '1', ['s']), next: placement(GiB / 2, '1', ['s']), others: [], fleet: sparse, overcommit: NO_OVERCOMMIT });
    assert.ok(kept.every((r) => r.admitted));
  });

  it('reads GOVERNOR_SYSTEM_RESERVED as cpus and memory, either alone, and names what is wrong', () => {
    assert.deepEqual(parseSystemReservation(undefined), { cpus: 0, memoryBytes: 0 });
    assert.deepEqual(parseSystemReservation('cpus=1,memory=2Gi'), { cpus: 1, memoryBytes: 2 * GiB });
    assert.deepEqual(parseSystemReservation('memory=536870912'), { cpus: 0, memoryBytes: 512 * 2 ** 20 });
    for (const bad of ['cpus=1.5', 'memory=lots', 'disk=1', 'cpus=1,cpus=2', 'memory=max']) {
      assert.throws(() => parseSystemReservation(bad), /must be cpus=<whole CPUs>,memory=<size such as 2Gi>/, bad);
    }
  });
});
