import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './clock.fake';
import { type ReconcileOutcome, ReconcileQueue } from './reconcile-queue';

/** A reconcile that runs until the test ends it, recording the order names were started in. */
class ManualReconciles {
  readonly started: string[] = [];
  private readonly open = new Map<string, Array<(outcome?: ReconcileOutcome) => void>>();

  readonly reconcile = (name: string): Promise<ReconcileOutcome | undefined> => {
    this.started.push(name);
    return new Promise((resolve) => this.open.set(name, [...(this.open.get(name) ?? []), resolve]));
  };

  runningCount(name: string): number {
    return this.open.get(name)?.length ?? 0;
  }

  async finish(name: string, outcome?: ReconcileOutcome): Promise<void> {
    const waiting = this.open.get(name) ?? [];
    const resolve = waiting.shift();
    if (resolve === undefined) throw new Error(`${name} is not running`);
    resolve(outcome);
    await flush();
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ReconcileQueue', () => {
  it('takes a changed tenant before every queued resync, whatever the order they came in', async () => {
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 1, clock: new FakeClock() });
    for (const name of ['r1', 'r2', 'r3']) queue.add(name, 'resync');
    queue.add('c1', 'change');
    queue.add('r3', 'change');
    assert.deepEqual(work.started, ['r1']);
    await work.finish('r1');
    await work.finish('c1');
    await work.finish('r3');
    await work.finish('r2');
    assert.deepEqual(work.started, ['r1', 'c1', 'r3', 'r2']);
  });

  it('runs at most the configured number of workers at once', async () => {
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 3, clock: new FakeClock() });
    for (let i = 0; i < 10; i += 1) queue.add(`t${i}`, 'resync');
    assert.equal(queue.active, 3);
    await work.finish('t1');
    assert.equal(queue.active, 3);
    assert.deepEqual(work.started, ['t0', 't1', 't2', 't3']);
  });

  it('never reconciles one tenant on two workers, and queues a change that came while it ran once', async () => {
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 4, clock: new FakeClock() });
    queue.add('a', 'change');
    queue.add('a', 'change');
    queue.add('a', 'resync');
    queue.add('a', 'change');
    assert.equal(work.runningCount('a'), 1);
    await work.finish('a');
    assert.equal(work.runningCount('a'), 1, 'the changes made while it ran bring it back once');
    await work.finish('a');
    assert.equal(work.runningCount('a'), 0);
    assert.deepEqual(work.started, ['a', 'a']);
    assert.equal(queue.depth, 0);
  });

  it('frees the worker of a tenant that waits, and brings it back at its deadline', async () => {
    const clock = new FakeClock();
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 1, clock });
    queue.add('stuck', 'change');
    queue.add('other', 'resync');
    await work.finish('stuck', { requeueAfterMs: 250 });
    assert.equal(queue.dueAt('stuck'), 250);
    assert.deepEqual(work.started, ['stuck', 'other'], 'the waiting tenant freed its worker for the next one');
    await work.finish('other');
    clock.advance(249);
    assert.deepEqual(work.started, ['stuck', 'other']);
    clock.advance(1);
    assert.deepEqual(work.started, ['stuck', 'other', 'stuck']);
    assert.equal(queue.dueAt('stuck'), undefined);
  });

  it('brings a waiting tenant back at once when it changes again, and drops the timed requeue', async () => {
    const clock = new FakeClock();
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 1, clock });
    queue.add('a', 'change');
    await work.finish('a', { requeueAfterMs: 5000 });
    queue.add('a', 'change');
    assert.deepEqual(work.started, ['a', 'a']);
    await work.finish('a');
    clock.advance(10_000);
    assert.deepEqual(work.started, ['a', 'a'], 'the old deadline fired nothing');
  });

  it('ranks a timed requeue with changes, ahead of resync work', async () => {
    const clock = new FakeClock();
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 1, clock });
    queue.add('waiting', 'change');
    await work.finish('waiting', { requeueAfterMs: 100 });
    queue.add('busy', 'resync');
    for (const name of ['r1', 'r2']) queue.add(name, 'resync');
    clock.advance(100);
    await work.finish('busy');
    assert.equal(work.started[2], 'waiting');
  });

  it('keeps going when a reconcile throws, and says when it is idle', async () => {
    let idle = 0;
    const queue = new ReconcileQueue((name) => (name === 'bad' ? Promise.reject(new Error('boom')) : Promise.resolve(undefined)), {
      workers: 2,
      idle: () => (idle += 1),
    });
    queue.add('bad', 'change');
    queue.add('good', 'resync');
    await queue.settled();
    assert.equal(queue.depth, 0);
    assert.ok(idle >= 1);
  });

  it('waits for running reconciles on stop, and takes nothing after', async () => {
    const work = new ManualReconciles();
    const queue = new ReconcileQueue(work.reconcile, { workers: 1, clock: new FakeClock() });
    queue.add('a', 'change');
    queue.add('b', 'resync');
    const stopped = queue.stop();
    await work.finish('a');
    await stopped;
    queue.add('c', 'change');
    assert.deepEqual(work.started, ['a']);
  });

  it('refuses a pool without workers', () => {
    assert.throws(() => new ReconcileQueue(() => Promise.resolve(undefined), { workers: 0 }), /at least 1/);
  });
});
