import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { degraded } from '../../../../libs/cgroup/src/condition';
import { appliedBefore, driftOf } from './drift';

const root = '/sys/fs/cgroup/governor/tenants/shrink';
const change = (file: string) => ({ file: `${root}/${file}`, from: '1', to: '2' });

describe('driftOf', () => {
  it('counts a change to a generation applied already as drift', () => {
    const previous = { observedGeneration: 3, phase: 'Ready', conditions: [] };
    assert.deepEqual(driftOf(previous, 3, [change('memory.max'), change('cpu.max')]), [change('memory.max'), change('cpu.max')]);
  });

  it('counts nothing for a new generation, or after an Error status', () => {
    assert.deepEqual(driftOf({ observedGeneration: 2, phase: 'Ready', conditions: [] }, 3, [change('memory.max')]), []);
    assert.deepEqual(driftOf({ observedGeneration: 3, phase: 'Error', conditions: [] }, 3, [change('memory.max')]), []);
    assert.deepEqual(driftOf(undefined, 1, [change('memory.max')]), []);
    assert.equal(appliedBefore(undefined, 1), false);
  });

  it('does not count a pending memory.max that is finally written, nor memory.high leaving its interim value', () => {
    const previous = { observedGeneration: 3, phase: 'Degraded', conditions: [degraded('MemoryLimitPending', 'memory.max not lowered to 67108864')] };
    assert.deepEqual(driftOf(previous, 3, [change('memory.max'), change('memory.high')]), []);
  });

  it('still counts a hand edit of another file made while memory.max was pending', () => {
    const previous = { observedGeneration: 3, phase: 'Degraded', conditions: [degraded('MemoryLimitPending', 'pending')] };
    assert.deepEqual(driftOf(previous, 3, [change('memory.max'), change('pids.max')]), [change('pids.max')]);
  });
});
