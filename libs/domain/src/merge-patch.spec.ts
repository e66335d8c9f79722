import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMergePatch } from './merge-patch';

describe('applyMergePatch', () => {
  // RFC 7396, Appendix A: original, patch, result.
  const appendixA: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];

  for (const [original, patch, result] of appendixA) {
    it(`turns ${JSON.stringify(original)} patched with ${JSON.stringify(patch)} into ${JSON.stringify(result)} (RFC 7396 appendix A)`, () => {
      assert.deepEqual(applyMergePatch(original, patch), result);
    });
  }

  it('removes a nested quota field with null and keeps its siblings', () => {
    const current = { quota: { memory: { max: 536870912, high: 503316480 }, pids: { max: 256 } }, nodes: [] };
    const patch = { quota: { memory: { high: null, max: '1Gi' } } };
    assert.deepEqual(applyMergePatch(current, patch), { quota: { memory: { max: '1Gi' }, pids: { max: 256 } }, nodes: [] });
  });

  it('ignores null for a key the target does not have', () => {
    assert.deepEqual(applyMergePatch({ a: 1 }, { b: null }), { a: 1 });
  });

  it('replaces a non-object target when the patch is an object', () => {
    assert.deepEqual(applyMergePatch('text', { a: 1 }), { a: 1 });
    assert.deepEqual(applyMergePatch(undefined, { a: { b: null, c: 2 } }), { a: { c: 2 } });
  });

  it('keeps nulls inside arrays, which replace whole', () => {
    assert.deepEqual(applyMergePatch({ a: [1] }, { a: [null, 2] }), { a: [null, 2] });
  });

  it('does not mutate the target or the patch, and shares no objects with them', () => {
    const target = { a: { b: 1, list: [1, 2] }, c: { d: 1 } };
    const patch = { a: { b: 2 }, e: { f: [3] } };
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);
    const result = applyMergePatch(target, patch) as { a: { list: number[] }; c: object; e: { f: number[] } };
    assert.deepEqual(target, targetCopy);
    assert.deepEqual(patch, patchCopy);
    assert.notEqual(result.c, target.c);
    assert.notEqual(result.a.list, target.a.list);
    assert.notEqual(result.e, patch.e);
    assert.notEqual(result.e.f, patch.e.f);
    assert.notEqual(applyMergePatch({}, patch.e.f), patch.e.f);
  });

  it('keeps a "__proto__" key as data instead of changing the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
    assert.deepEqual(Object.keys(result), ['__proto__', 'a']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((result as { polluted?: unknown }).polluted, undefined);
  });
});
