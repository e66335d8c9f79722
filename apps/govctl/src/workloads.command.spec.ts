import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Workload } from './api.types';
import { exitStatusOf } from './workloads.command';

const workload = (fields: Partial<Workload>): Workload => ({
  id: 'w',
  tenant: 'acme',
  node: 'n',
  command: ['/bin/true'],
  cwd: '/',
  state: 'exited',
  pid: 1,
  exitCode: null,
  signal: null,
  message: null,
  createdBy: 'admin:root',
  createdAt: '',
  startedAt: null,
  finishedAt: null,
  ...fields,
});

describe('exitStatusOf', () => {
  it("is the workload's exit code, or 128 + the signal that ended it, as a shell reports it", () => {
    assert.equal(exitStatusOf(workload({ state: 'exited', exitCode: 7 })), 7);
    assert.equal(exitStatusOf(workload({ state: 'exited', exitCode: 0 })), 0);
    assert.equal(exitStatusOf(workload({ state: 'killed', signal: 'SIGTERM' })), 143);
    assert.equal(exitStatusOf(workload({ state: 'killed', signal: 'SIGINT' })), 130);
    assert.equal(exitStatusOf(workload({ state: 'oom-killed' })), 137);
  });

  it('is 1 for a workload that never ran (failed) or was lost', () => {
    assert.equal(exitStatusOf(workload({ state: 'failed', message: 'exec: no such file' })), 1);
    assert.equal(exitStatusOf(workload({ state: 'lost' })), 1);
  });
});
