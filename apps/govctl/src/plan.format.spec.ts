import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPlan } from './plan.format';

describe('renderPlan', () => {
  it('shows each file of each node with its old and new value, and the warnings', () => {
    const text = renderPlan('acme', {
      quota: { memory: { max: 536870912 } },
      nodes: [{ node: 'host1', writes: [{ file: 'memory.max', from: 'max', to: '536870912' }], warnings: ['memory.max is below the peak'] }],
    });
    assert.equal(
      text,
      [
        'Plan for tenant acme: quota after the change: mem=512Mi',
        'node host1:',
        '  FILE         FROM   TO',
        '  memory.max   max    536870912',
        '  warning: memory.max is below the peak',
      ].join('\n'),
    );
  });

  it('says when no node would write anything', () => {
    assert.match(renderPlan('acme', { quota: {}, nodes: [] }), /no node hosts this tenant yet/);
  });
});
