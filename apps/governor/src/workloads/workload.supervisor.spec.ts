import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Gate } from './workload.doubles';
import { bootWorkloadWorld, settle, shutdownWorkloadWorld, WorkloadWorld } from './workload.world';

describe('WorkloadSupervisor', () => {
  let world: WorkloadWorld;
  beforeEach(async () => {
    world = await bootWorkloadWorld();
  });
  afterEach(() => shutdownWorkloadWorld(world));

  it('records the end of a workload once and reaps it once, however many reads and ticks sync it at the same time', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'aaaaaaaaaaa1');
    world.host.monitors.set('aaaaaaaaaaa1', { state: 'killed', signal: 9 });
    world.host.statusGate = new Gate();
    const reads = [1, 2, 3].map(() => world.service.get('acme', 'aaaaaaaaaaa1'));
    const tick = world.supervisor.tickOnce();
    world.host.statusGate.open();
    const views = await Promise.all(reads);
    await tick;
    assert.deepEqual(
      views.map((view) => [view.state, view.signal]),
      [
        ['killed', 'SIGKILL'],
        ['killed', 'SIGKILL'],
        ['killed', 'SIGKILL'],
      ],
    );
    // A read after it is over finds the row ended and leaves the monitor alone.
    assert.equal((await world.service.get('acme', 'aaaaaaaaaaa1')).state, 'killed');
    assert.deepEqual(world.host.statusReads, ['aaaaaaaaaaa1']);
    assert.equal(world.repository.changes.length, 1);
    assert.deepEqual(world.host.killed, ['aaaaaaaaaaa1']);
    assert.deepEqual(world.host.removed, ['aaaaaaaaaaa1']);
    assert.deepEqual(
      world.events.events.map((event) => [event.kind, event.message]),
      [['workload', 'workload aaaaaaaaaaa1 (/bin/sleep) was killed by SIGKILL']],
    );
  });

  it('leaves the change to the other writer when its conditional update finds the row already ended, and reaps nothing', async () => {
    const acme = world.tenant('acme');
    const row = world.workload(acme, 'aaaaaaaaaaa2');
    world.host.monitors.set('aaaaaaaaaaa2', { state: 'exited', code: 0 });
    // Another governor recorded the end between this one's read of the row and its update.
    Object.assign(world.repository.rows.get('aaaaaaaaaaa2')!, { state: 'exited', exitCode: 0, finishedAt: new Date() });
    const synced = await world.supervisor.sync('acme', row);
    assert.deepEqual({ state: synced.state, exitCode: synced.exitCode }, { state: 'exited', exitCode: 0 });
    assert.equal(world.repository.changes.length, 0);
    assert.deepEqual(world.host.removed, []);
  });

  it('tells an OOM kill from another SIGKILL by the leaf’s oom_kill count, and records it as an event', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'bbbbbbbbbbb1');
    world.host.monitors.set('bbbbbbbbbbb1', { state: 'killed', signal: 9 });
    world.host.oomKillsOf.set('bbbbbbbbbbb1', 1);
    const view = await world.service.get('acme', 'bbbbbbbbbbb1');
    assert.deepEqual({ state: view.state, message: view.message }, { state: 'oom-killed', message: 'killed by the OOM killer: memory.max reached' });
    assert.deepEqual(
      world.events.events.map((event) => event.detail),
      [{ workload: 'bbbbbbbbbbb1', state: 'oom-killed', signal: 'SIGKILL' }],
    );
  });

  it('counts an exited workload’s refused forks as retired only once its leaf is removed, and records no event for a clean exit', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'bbbbbbbbbbb2');
    world.host.monitors.set('bbbbbbbbbbb2', { state: 'exited', code: 0 });
    world.host.refusedForksOf.set('bbbbbbbbbbb2', 3);
    await world.supervisor.tickOnce();
    assert.deepEqual(world.host.removed, ['bbbbbbbbbbb2']);
    assert.equal(world.catalog.retiredPidsMax('acme'), 3);
    assert.deepEqual(world.events.events, []);
  });

  it('does not judge a workload whose start is still launching its monitor', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'ccccccccccc1', { state: 'starting' });
    world.supervisor.holdOff('ccccccccccc1');
    await world.supervisor.tickOnce();
    assert.equal(world.repository.rows.get('ccccccccccc1')?.state, 'starting');
    assert.deepEqual(world.host.statusReads, []);
    world.supervisor.release('ccccccccccc1');
    await world.supervisor.tickOnce();
    assert.equal(world.repository.rows.get('ccccccccccc1')?.state, 'lost');
    assert.deepEqual(world.host.removed, ['ccccccccccc1']);
  });

  it('kills at the tick a workload whose stop deadline in its row has passed, as a governor started after the stop does', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'ddddddddddd1', { killAt: new Date(Date.now() - 1) });
    world.workload(acme, 'ddddddddddd2', { killAt: new Date(Date.now() + 60_000) });
    world.workload(acme, 'ddddddddddd3');
    await world.supervisor.tickOnce();
    assert.deepEqual(world.host.killed, ['ddddddddddd1']);
    // The next tick finds it killed: recorded, reaped, and not killed again for its deadline.
    await world.supervisor.tickOnce();
    assert.equal(world.repository.rows.get('ddddddddddd1')?.state, 'killed');
    assert.deepEqual(world.host.killed, ['ddddddddddd1', 'ddddddddddd1']);
    assert.deepEqual(world.host.removed, ['ddddddddddd1']);
  });

  it('takes the deadline its row keeps (an earlier stop’s when sooner) rather than its own grace, and sends SIGTERM each time', async () => {
    const acme = world.tenant('acme');
    const row = world.workload(acme, 'ddddddddddd4');
    await world.supervisor.terminate('acme', row, 5_000);
    await world.supervisor.terminate('acme', row, 60_000);
    assert.equal(row.killAt?.toISOString(), '2026-12-06T08:00:05.000Z');
    assert.deepEqual(
      world.host.signalled.map((sent) => sent.signal),
      ['SIGTERM', 'SIGTERM'],
    );
  });

  it('recounts this node’s workloads per tenant and state for the catalog, and again after a change', async () => {
    const acme = world.tenant('acme');
    const beta = world.tenant('beta');
    world.workload(acme, 'eeeeeeeeeee1');
    world.workload(acme, 'eeeeeeeeeee2');
    world.workload(acme, 'eeeeeeeeeee3', { state: 'exited', exitCode: 0, finishedAt: new Date() });
    world.workload(beta, 'eeeeeeeeeee4');
    world.workload(beta, 'eeeeeeeeeee5', { node: 'node-2' });
    await world.supervisor.tickOnce();
    assert.deepEqual(world.catalog.workloads('acme'), { states: { running: 2, exited: 1 }, running: ['eeeeeeeeeee1', 'eeeeeeeeeee2'] });
    assert.deepEqual(world.catalog.workloads('beta'), { states: { running: 1 }, running: ['eeeeeeeeeee4'] });
    world.host.monitors.set('eeeeeeeeeee4', { state: 'exited', code: 1 });
    await world.supervisor.tickOnce();
    assert.deepEqual(world.catalog.workloads('beta'), { states: { exited: 1 }, running: [] });
    // The run-directory check gets the workloads still active after the sync.
    assert.deepEqual(world.runDirChecks, [
      ['eeeeeeeeeee1', 'eeeeeeeeeee2', 'eeeeeeeeeee4'],
      ['eeeeeeeeeee1', 'eeeeeeeeeee2'],
    ]);
  });

  it('sweeps the leaves and monitor cgroups that no active workload owns, once a minute', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'fffffffffff1');
    world.host.leftovers = {
      leaves: [
        { tenant: 'acme', id: 'fffffffffff1' },
        { tenant: 'acme', id: 'fffffffffff2' },
      ],
      monitors: [{ tenant: 'acme', id: 'fffffffffff1' }, { tenant: 'acme', id: 'fffffffffff2' }, { id: 'fffffffffff3' }],
    };
    await world.supervisor.tickOnce();
    assert.deepEqual(world.host.removed, ['fffffffffff2']);
    assert.deepEqual(world.host.removedMonitorCgroups, ['fffffffffff2', 'fffffffffff3']);
    world.host.leftovers.leaves.push({ tenant: 'acme', id: 'fffffffffff4' });
    // From here the supervisor's own timer runs the ticks, one a second.
    mock.timers.tick(59_000);
    await settle();
    assert.deepEqual(world.host.removed, ['fffffffffff2'], 'no second sweep within the minute');
    mock.timers.tick(1_000);
    await settle();
    assert.deepEqual(world.host.removed, ['fffffffffff2', 'fffffffffff2', 'fffffffffff4']);
  });

  it('sweeps every tenant first and every ten minutes, and in between only the tenants with workload rows', async () => {
    const acme = world.tenant('acme');
    world.tenant('idle');
    world.workload(acme, 'fffffffffff5', { state: 'exited', exitCode: 0, finishedAt: new Date() });
    await world.supervisor.tickOnce();
    for (let minute = 1; minute <= 10; minute++) {
      mock.timers.tick(60_000);
      await settle();
    }
    assert.deepEqual(world.host.sweeps, [undefined, ...Array.from({ length: 9 }, () => ['acme']), undefined]);
  });

  it('with no active workload on its node, queries for them every 10 s instead of every second, and at once after a start', async () => {
    await world.supervisor.tickOnce();
    assert.equal(world.repository.activeQueries, 1);
    mock.timers.tick(9_000);
    await settle();
    assert.equal(world.repository.activeQueries, 1, 'no query within 10 s of one that found nothing');
    mock.timers.tick(1_000);
    await settle();
    assert.equal(world.repository.activeQueries, 2, 'the safety-net query');
    // A start holds its workload off first: the ticks query again from then on, and sync it once it runs.
    const acme = world.tenant('acme');
    world.supervisor.holdOff('hhhhhhhhhhh1');
    world.workload(acme, 'hhhhhhhhhhh1', { state: 'starting' });
    mock.timers.tick(1_000);
    await settle();
    assert.equal(world.repository.activeQueries, 3);
    world.supervisor.release('hhhhhhhhhhh1');
    world.host.monitors.set('hhhhhhhhhhh1', { state: 'running', pid: 7 });
    mock.timers.tick(1_000);
    await settle();
    assert.equal(world.repository.rows.get('hhhhhhhhhhh1')?.state, 'running');
    world.host.monitors.set('hhhhhhhhhhh1', { state: 'exited', code: 0 });
    mock.timers.tick(1_000);
    await settle();
    assert.equal(world.repository.rows.get('hhhhhhhhhhh1')?.state, 'exited', 'an exit is seen at the next second');
    assert.equal(world.repository.activeQueries, 5);
  });

  it('does nothing on a process that holds no host', async () => {
    const idle = new WorkloadWorld();
    idle.host.supervises = false;
    await idle.boot();
    const acme = idle.tenant('acme');
    const row = idle.workload(acme, 'ggggggggggg1');
    idle.host.monitors.set('ggggggggggg1', { state: 'exited', code: 0 });
    assert.equal((await idle.supervisor.sync('acme', row)).state, 'running');
    assert.deepEqual(idle.host.statusReads, []);
    idle.shutdown();
  });
});
