import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './cli.errors';
import { quotaPatchFrom } from './quota.flags';

describe('quota flags', () => {
  it('build a merge patch in API units, integers as numbers and none as a removal', () => {
    assert.deepEqual(quotaPatchFrom({ cpu: '1.5', memory: '512Mi', memoryHigh: 'none', pids: '256', ingress: '100Mbit' }), {
      cpu: { max: '1.5' },
      memory: { max: '512Mi', high: null },
      pids: { max: 256 },
      network: { ingress: '100Mbit' },
    });
    assert.deepEqual(quotaPatchFrom({ pids: 'max' }), { pids: { max: 'max' } });
  });

  it('refuses none where there is nothing to remove', () => {
    assert.throws(() => quotaPatchFrom({ memory: 'none' }, false), UsageError);
  });
});
