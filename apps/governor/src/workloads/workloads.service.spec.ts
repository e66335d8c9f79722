import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { WorkloadException, WorkloadExceptionCode } from './workload.exception';
import { bootWorkloadWorld, settle, shutdownWorkloadWorld, type WorkloadWorld } from './workload.world';

const input = { command: ['/bin/sleep', '300'], env: { TOKEN: 'secret', A: '1' }, cwd: '/', quota: {} };
const isCode = (code: WorkloadExceptionCode, text: RegExp) => (err: unknown) => err instanceof WorkloadException && err.code === code && text.test(err.message);

describe('WorkloadsService', () => {
  let world: WorkloadWorld;
  beforeEach(async () => {
    world = await bootWorkloadWorld();
  });
  afterEach(() => shutdownWorkloadWorld(world));

  it('refuses a start past workloads.max with the count and the limit, and launches and audits nothing', async () => {
    const acme = world.tenant('acme', { workloads: { max: 2 } });
    world.workload(acme, 'aaaaaaaaaaa1');
    world.workload(acme, 'aaaaaaaaaaa2', { state: 'starting' });
    await assert.rejects(
      world.service.start('acme', input, world.admin),
      isCode(WorkloadExceptionCode.TOO_MANY, /^tenant acme runs 2 workloads on node node-1, its maximum \(quota workloads\.max 2\); stop one first$/),
    );
    assert.deepEqual(world.host.launched, []);
    assert.deepEqual(world.repository.audits, []);
    assert.equal(world.repository.rows.size, 2);
  });

  it('says when the limit refused at is the default one', async () => {
    const acme = world.tenant('acme');
    for (let i = 0; i < 64; i++) world.workload(acme, `w${String(i).padStart(11, '0')}`);
    await assert.rejects(
      world.service.start('acme', input, world.admin),
      isCode(WorkloadExceptionCode.TOO_MANY, /runs 64 workloads .*workloads\.max 64, the default\)/),
    );
  });

  it('counts only starting and running workloads, and only those of this node, against workloads.max', async () => {
    const acme = world.tenant('acme', { workloads: { max: 1 } });
    world.workload(acme, 'bbbbbbbbbbb1', { state: 'exited', finishedAt: new Date() });
    world.workload(acme, 'bbbbbbbbbbb2', { node: 'node-2' });
    const view = await world.service.start('acme', input, world.admin);
    assert.equal(view.state, 'running');
  });

  it('starts a workload: its row, its audit, one launch, and its state read back from the monitor', async () => {
    world.tenant('acme');
    const view = await world.service.start('acme', input, world.admin);
    assert.match(view.id, /^[a-z0-9]{12}$/);
    assert.deepEqual(
      { state: view.state, pid: view.pid, node: view.node, envNames: view.envNames, createdBy: view.createdBy },
      { state: 'running', pid: 4242, node: 'node-1', envNames: ['A', 'TOKEN'], createdBy: 'admin:root' },
    );
    assert.deepEqual(
      world.host.launched.map((launch) => ({ tenant: launch.tenant, id: launch.id })),
      [{ tenant: 'acme', id: view.id }],
    );
    assert.deepEqual(
      world.repository.audits.map((entry) => [entry.action, entry.target, entry.requestId]),
      [['workload.start', `tenants/acme/workloads/${view.id}`, 'req-1']],
    );
  });

  it('refuses a start on a tenant not yet set up on this node, before any row is written', async () => {
    world.tenant('acme');
    world.host.readyTenants.clear();
    await assert.rejects(world.service.start('acme', input, world.admin), isCode(WorkloadExceptionCode.TENANT_NOT_READY, /retry once its status is Ready/));
    assert.equal(world.repository.rows.size, 0);
  });

  it('records a launch that failed as failed with the reason, and removes the cgroups it had', async () => {
    world.tenant('acme');
    world.host.launchError = new Error('the workload monitor did not start: EAGAIN');
    const view = await world.service.start('acme', input, world.admin);
    assert.deepEqual({ state: view.state, message: view.message }, { state: 'failed', message: 'the workload monitor did not start: EAGAIN' });
    assert.deepEqual(world.host.killed, [view.id]);
    assert.deepEqual(world.host.removed, [view.id]);
  });

  it('stops with SIGTERM through the monitor at once, and cgroup.kill only when the grace is over', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'ccccccccccc1');
    // The monitor forwards SIGTERM, but this workload ignores it.
    const view = await world.service.stop('acme', 'ccccccccccc1', 10_000, world.admin);
    assert.equal(view.state, 'running');
    assert.deepEqual(world.host.signalled, [{ id: 'ccccccccccc1', signal: 'SIGTERM' }]);
    assert.equal(world.repository.rows.get('ccccccccccc1')?.killAt?.toISOString(), '2026-12-06T08:00:10.000Z');
    assert.deepEqual(
      world.repository.audits.map((entry) => [entry.action, entry.detail]),
      [['workload.stop', { graceMs: 10_000 }]],
    );
    mock.timers.tick(9_999);
    await settle();
    assert.deepEqual(world.host.killed, []);
    mock.timers.tick(1);
    await settle();
    // The stop's own timer and the tick (which reads the deadline from the row) may both kill: cgroup.kill is idempotent.
    assert.deepEqual([...new Set(world.host.killed)], ['ccccccccccc1']);
  });

  it('does not kill at the deadline a workload that ended within its grace', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'ccccccccccc2');
    await world.service.stop('acme', 'ccccccccccc2', 5_000, world.admin);
    world.host.monitors.set('ccccccccccc2', { state: 'killed', signal: 15 });
    const ended = await world.service.get('acme', 'ccccccccccc2');
    assert.deepEqual({ state: ended.state, signal: ended.signal }, { state: 'killed', signal: 'SIGTERM' });
    const reaped = world.host.killed.length;
    mock.timers.tick(5_000);
    await settle();
    assert.equal(world.host.killed.length, reaped, 'no cgroup.kill after the reap');
  });

  it('refuses to stop a workload of another node, naming both nodes, and signals nothing', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'ddddddddddd1', { node: 'node-2' });
    await assert.rejects(
      world.service.stop('acme', 'ddddddddddd1', 10_000, world.admin),
      isCode(WorkloadExceptionCode.ON_OTHER_NODE, /runs on node node-2, and this governor is node node-1/),
    );
    assert.deepEqual(world.host.signalled, []);
    assert.deepEqual(world.repository.audits, []);
  });

  it('answers 404 for an id the tenant does not have, and for one that is not an id', async () => {
    const acme = world.tenant('acme');
    world.tenant('other');
    world.workload(acme, 'eeeeeeeeeee1');
    await assert.rejects(world.service.get('other', 'eeeeeeeeeee1'), isCode(WorkloadExceptionCode.NOT_FOUND, /^tenant other has no workload "eeeeeeeeeee1"$/));
    await assert.rejects(world.service.get('acme', '../../etc'), isCode(WorkloadExceptionCode.NOT_FOUND, /has no workload/));
  });

  it('reads both streams under their headers, and one stream after a cursor', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'fffffffffff1');
    const both = await world.service.logs('acme', 'fffffffffff1', { streams: ['stdout', 'stderr'], lines: 5 });
    assert.deepEqual(both, {
      text: '==> stdout <==\nlast 5 lines of stdout of fffffffffff1\n==> stderr <==\nlast 5 lines of stderr of fffffffffff1\n',
    });
    const after = await world.service.logs('acme', 'fffffffffff1', { streams: ['stdout'], lines: 5, after: '1-10' });
    assert.deepEqual(after, { text: 'stdout of fffffffffff1 after 1-10\n', cursor: '1-20' });
  });

  it('lists newest first, each synced', async () => {
    const acme = world.tenant('acme');
    world.workload(acme, 'ggggggggggg1', { createdAt: new Date(Date.now() - 2000) });
    world.workload(acme, 'ggggggggggg2', { createdAt: new Date(Date.now() - 1000) });
    world.host.monitors.set('ggggggggggg1', { state: 'exited', code: 3 });
    const views = await world.service.list('acme');
    assert.deepEqual(
      views.map((view) => [view.id, view.state, view.exitCode]),
      [
        ['ggggggggggg2', 'running', null],
        ['ggggggggggg1', 'exited', 3],
      ],
    );
  });
});
