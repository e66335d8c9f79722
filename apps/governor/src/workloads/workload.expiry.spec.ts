import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { GovernorConfig } from '../config/governor.config';
import { MemoryWorkloads, RecordingHost } from './workload.doubles';
import { WorkloadExpiry } from './workload.expiry';
import { DAY_MS, WorkloadWorld } from './workload.world';

describe('WorkloadExpiry', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-12-06T08:00:00Z') }));
  afterEach(() => mock.timers.reset());

  it('removes the logs of this node’s workloads that ended before the retention, and keeps every other', async () => {
    const world = new WorkloadWorld();
    const acme = world.tenant('acme');
    const ago = (ms: number) => new Date(Date.now() - ms);
    world.workload(acme, 'old000000001', { state: 'exited', finishedAt: ago(7 * DAY_MS + 1) });
    world.workload(acme, 'old000000002', { state: 'killed', finishedAt: ago(30 * DAY_MS) });
    world.workload(acme, 'new000000001', { state: 'exited', finishedAt: ago(7 * DAY_MS - 1) });
    world.workload(acme, 'run000000001', { startedAt: ago(30 * DAY_MS) });
    world.workload(acme, 'far000000001', { state: 'exited', node: 'node-2', finishedAt: ago(30 * DAY_MS) });
    for (const id of ['old000000001', 'old000000002', 'new000000001', 'run000000001', 'far000000001', 'norow0000001']) world.host.stateDirs.add(id);
    assert.equal(await world.expiry.expireLogs(), 2);
    assert.deepEqual([...world.host.stateDirs].sort(), ['far000000001', 'new000000001', 'norow0000001', 'run000000001']);
    // The rows stay: their logs then read as empty.
    assert.equal(world.repository.rows.size, 5);
  });

  it('follows GOVERNOR_WORKLOAD_LOG_RETENTION', async () => {
    const repository = new MemoryWorkloads();
    const host = new RecordingHost();
    repository.put({ id: 't1', name: 'acme' }, { id: 'hhhhhhhhhhh1', state: 'exited', finishedAt: new Date(Date.now() - 2 * 60_000) });
    host.stateDirs.add('hhhhhhhhhhh1');
    const oneMinute = new WorkloadExpiry(repository, host, { nodeName: 'node-1', workloadLogRetentionMs: 60_000 } as GovernorConfig);
    const oneHour = new WorkloadExpiry(repository, host, { nodeName: 'node-1', workloadLogRetentionMs: 3_600_000 } as GovernorConfig);
    assert.equal(await oneHour.expireLogs(), 0);
    assert.equal(await oneMinute.expireLogs(), 1);
    assert.equal(host.stateDirs.size, 0);
  });

  it('asks the database nothing when there are no state directories', async () => {
    const asked: string[][] = [];
    const expiry = new WorkloadExpiry(
      {
        endedBefore: (ids) => {
          asked.push(ids);
          return Promise.resolve([]);
        },
      },
      { stateDirIds: () => Promise.resolve([]), removeStateDir: () => Promise.reject(new Error('nothing to remove')) },
      { nodeName: 'node-1', workloadLogRetentionMs: DAY_MS } as GovernorConfig,
    );
    assert.equal(await expiry.expireLogs(), 0);
    assert.deepEqual(asked, []);
  });
});
