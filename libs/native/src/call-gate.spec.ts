import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallGate } from './call-gate';

/** A call the test finishes by hand, so that it can look at the gate while calls are in flight. */
function pending<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise's continuations run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CallGate', () => {
  it('never has more than its limit in flight, and starts the waiting calls in the order they came', async () => {
    const gate = new CallGate(2);
    const calls = Array.from({ length: 5 }, () => pending<number>());
    const started: number[] = [];
    const results = calls.map((call, i) =>
      gate.run(() => {
        started.push(i);
        return call.promise;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    assert.equal(gate.inFlight, 2);
    assert.equal(gate.queued, 3);
    calls[1].resolve(1);
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(gate.inFlight, 2);
    for (const [i, call] of calls.entries()) call.resolve(i);
    assert.deepEqual(await Promise.all(results), [0, 1, 2, 3, 4]);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(gate.inFlight, 0);
    assert.equal(gate.queued, 0);
  });

  it('releases the slot of a call that fails or throws, and passes the failure on', async () => {
    const gate = new CallGate(1);
    const failing = pending<number>();
    const first = gate.run(() => failing.promise);
    const second = gate.run(() => {
      throw new Error('refused before it started');
    });
    const third = gate.run(() => Promise.resolve(3));
    failing.reject(new Error('the call failed'));
    await assert.rejects(first, /the call failed/);
    await assert.rejects(second, /refused before it started/);
    assert.equal(await third, 3);
    assert.equal(gate.inFlight, 0);
  });

  it('lets a newcomer wait behind the calls already queued rather than take a freed slot', async () => {
    const gate = new CallGate(1);
    const order: string[] = [];
    const first = pending<void>();
    const a = gate.run(async () => {
      await first.promise;
      order.push('a');
    });
    const b = gate.run(() => {
      order.push('b');
      return Promise.resolve();
    });
    first.resolve();
    // c arrives in the same turn as a's slot passes to b.
    const c = gate.run(() => {
      order.push('c');
      return Promise.resolve();
    });
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a', 'b', 'c']);
  });
});
