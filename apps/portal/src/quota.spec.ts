import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePatch, parseQuantity, quotaPatch } from './quota';

const empty = { cpuMax: '', memoryMax: '', memoryHigh: '', pidsMax: '', ingress: '', egress: '' };

describe('a quota request from the form', () => {
  it('asks only for the fields that were filled in, numbers as numbers', () => {
    assert.deepEqual(quotaPatch({ ...empty, memoryMax: ' 512Mi ' }), { memory: { max: '512Mi' } });
    assert.deepEqual(quotaPatch({ ...empty, cpuMax: '1', pidsMax: '128', egress: '50Mbit' }), {
      cpu: { max: '1' },
      pids: { max: 128 },
      network: { egress: '50Mbit' },
    });
    assert.deepEqual(quotaPatch(empty), {});
  });

  it('describes a canonical patch with units', () => {
    assert.deepEqual(describePatch({ memory: { max: 536870912, high: null }, cpu: { max: '0.5' }, pids: { max: 'max' }, network: { ingress: 100_000_000 } }), [
      'memory.max → 512 MiB',
      'memory.high → removed',
      'cpu.max → 0.5 cores',
      'pids.max → unlimited',
      'network.ingress → 100 Mbit/s',
    ]);
  });

  it('describes a patch as typed, with suffixes, in the same units', () => {
    assert.deepEqual(describePatch({ memory: { max: '512Mi' }, network: { egress: '50Mbit' }, cpu: { period: '100ms' } }), [
      'memory.max → 512 MiB',
      'network.egress → 50 Mbit/s',
      'cpu.period → 100ms',
    ]);
    assert.equal(parseQuantity('1.5G'), 1.5e9);
    assert.equal(parseQuantity('2Ki'), 2048);
    assert.equal(parseQuantity('lots'), undefined);
  });
});
