import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { BoundedReader, type CgroupFileReader, eachBounded } from './collect';

/** A reader whose reads finish only when the test says so. */
function heldReader(): CgroupFileReader & { pending: Array<{ path: string; finish: (text?: string) => void; fail: (err: Error) => void }> } {
  const pending: Array<{ path: string; finish: (text?: string) => void; fail: (err: Error) => void }> = [];
  return {
    pending,
    read: (dir, file) => new Promise((resolve, reject) => pending.push({ path: `${dir}/${file}`, finish: resolve, fail: reject })),
  };
}

describe('BoundedReader', () => {
  it('keeps at most its limit of reads in flight and starts the others in order as slots free up', async () => {
    const inner = heldReader();
    const reader = new BoundedReader(inner, 2);
    const results = ['a', 'b', 'c', 'd'].map((name) => reader.read('t', name));
    const refused = assert.rejects(results[2], /EACCES/);
    await nextTurn();
    assert.deepEqual(
      inner.pending.map((p) => p.path),
      ['t/a', 't/b'],
    );
    inner.pending[0].finish('A');
    await nextTurn();
    assert.deepEqual(
      inner.pending.map((p) => p.path),
      ['t/a', 't/b', 't/c'],
    );
    assert.equal(reader.inFlight, 2);
    inner.pending[1].finish(undefined);
    inner.pending[2].fail(new Error('EACCES'));
    await nextTurn();
    inner.pending[3].finish('D');
    assert.equal(await results[0], 'A');
    assert.equal(await results[1], undefined);
    await refused;
    assert.equal(await results[3], 'D');
    assert.equal(reader.inFlight, 0);
  });

  it('does not let a new caller slip past a waiter when a slot frees up', async () => {
    const inner = heldReader();
    const reader = new BoundedReader(inner, 1);
    const first = reader.read('t', 'a');
    const second = reader.read('t', 'b');
    await nextTurn();
    inner.pending[0].finish('A');
    const third = reader.read('t', 'c');
    await nextTurn();
    assert.deepEqual(
      inner.pending.map((p) => p.path),
      ['t/a', 't/b'],
    );
    assert.equal(reader.inFlight, 1);
    inner.pending[1].finish('B');
    await nextTurn();
    inner.pending[2].finish('C');
    assert.deepEqual(await Promise.all([first, second, third]), ['A', 'B', 'C']);
  });

  it('refuses a limit that is not a positive integer', () => {
    assert.throws(() => new BoundedReader(heldReader(), 0), RangeError);
    assert.throws(() => new BoundedReader(heldReader(), 1.5), RangeError);
  });
});

describe('eachBounded', () => {
  it('visits every item once with no more than the given number in progress', async () => {
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    await eachBounded(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (i) => {
        active += 1;
        peak = Math.max(peak, active);
        await nextTurn();
        seen.push(i);
        active -= 1;
      },
    );
    assert.equal(peak, 4);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('does nothing for no items', async () => {
    await eachBounded([], 8, () => assert.fail('called'));
  });
});
