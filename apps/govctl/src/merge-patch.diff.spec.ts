import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergePatchDiff } from './merge-patch.diff';

describe('mergePatchDiff', () => {
  it('sends changed and added fields, null for removed ones, and nothing for what stayed', () => {
    const before = { displayName: 'Acme', quota: { memory: { max: '512Mi', high: '480Mi' }, pids: { max: 256 } }, nodes: [] };
    const after = { displayName: 'Acme', quota: { memory: { max: '1Gi' }, pids: { max: 256 }, cpu: { max: '2' } }, nodes: ['a'] };
    assert.deepEqual(mergePatchDiff(before, after), { quota: { memory: { max: '1Gi', high: null }, cpu: { max: '2' } }, nodes: ['a'] });
  });

  it('is empty when nothing changed', () => {
    assert.deepEqual(mergePatchDiff({ a: { b: 1 } }, { a: { b: 1 } }), {});
  });
});
