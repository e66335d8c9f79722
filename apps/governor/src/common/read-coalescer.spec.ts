import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ReadCoalescer } from './read-coalescer';

/** A readMany that records each call's keys and answers from a table, or fails when told to. */
function recordingRead(table: Record<string, number>) {
  const calls: string[][] = [];
  const failures: Error[] = [];
  const read = (keys: string[]): Promise<Map<string, number>> => {
    calls.push(keys);
    const failure = failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve(new Map(keys.filter((k) => k in table).map((k) => [k, table[k]])));
  };
  return { read, calls, failures };
}

describe('ReadCoalescer', () => {
  it('sends the reads of one turn as one read of their distinct keys, and gives each request its own answer', async () => {
    const { read, calls } = recordingRead({ a: 1, b: 2, c: 3 });
    const coalescer = new ReadCoalescer(read, 64);
    const answers = await Promise.all(['c', 'a', 'missing', 'a', 'b'].map((key) => coalescer.read(key)));
    assert.deepEqual(calls, [['c', 'a', 'missing', 'b']]);
    assert.deepEqual(answers, [3, 1, undefined, 1, 2]);
  });

  it('sends nothing before the turn ends, so that every request of a batch arrived before its read', async () => {
    const { read, calls } = recordingRead({ a: 1 });
    const coalescer = new ReadCoalescer(read, 64);
    const first = coalescer.read('a');
    await Promise.resolve();
    assert.deepEqual(calls, [], 'no read during the turn that brought the request');
    assert.equal(await first, 1);
    assert.deepEqual(calls, [['a']]);
  });

  it('puts a request that arrives after a batch went out into a read of its own', async () => {
    const { read, calls } = recordingRead({ a: 1, b: 2 });
    const coalescer = new ReadCoalescer(read, 64);
    const first = coalescer.read('a');
    await nextTurn();
    const second = coalescer.read('b');
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    assert.deepEqual(calls, [['a'], ['b']]);
  });

  it('rejects every request of a failed batch with its error, and answers the next batch', async () => {
    const { read, calls, failures } = recordingRead({ a: 1, b: 2 });
    const coalescer = new ReadCoalescer(read, 64);
    const down = new Error('the database does not answer');
    failures.push(down);
    const failed = await Promise.allSettled([coalescer.read('a'), coalescer.read('b')]);
    assert.deepEqual(failed, [
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
    assert.equal(await coalescer.read('b'), 2);
    assert.deepEqual(calls, [['a', 'b'], ['b']]);
  });

  it('rejects the batch when the read throws before it returns a promise', async () => {
    const broken = new TypeError('no pool');
    const coalescer = new ReadCoalescer<string, number>(() => {
      throw broken;
    }, 64);
    await assert.rejects(coalescer.read('a'), broken);
  });

  it('sends a full batch without waiting for the end of the turn', async () => {
    const { read, calls } = recordingRead({ a: 1, b: 2, c: 3 });
    let endOfTurn: (() => void) | undefined;
    const coalescer = new ReadCoalescer(read, 2, (send) => (endOfTurn = send));
    const full = Promise.all(['a', 'b'].map((key) => coalescer.read(key)));
    const rest = coalescer.read('c');
    assert.deepEqual(await full, [1, 2], 'answered before the end of the turn');
    assert.deepEqual(calls, [['a', 'b']]);
    endOfTurn?.();
    assert.equal(await rest, 3);
    assert.deepEqual(calls, [['a', 'b'], ['c']]);
  });

  it('refuses a batch size that is not a positive integer', () => {
    assert.throws(() => new ReadCoalescer(recordingRead({}).read, 0), RangeError);
  });
});
