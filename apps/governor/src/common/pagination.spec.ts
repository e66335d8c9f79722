import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../../libs/domain/src/errors';
import { decodeCursor, encodeCursor, parseLimit, toPage } from './pagination';

const isName = (key: string) => /^[a-z]+$/.test(key);

describe('pagination', () => {
  it('defaults the limit to 50 and accepts 1 to 500', () => {
    assert.equal(parseLimit(undefined), 50);
    assert.equal(parseLimit('1'), 1);
    assert.equal(parseLimit('500'), 500);
    for (const bad of ['0', '501', '-1', '1.5', 'ten', '', ['5', '6']]) assert.throws(() => parseLimit(bad), ValidationError, String(bad));
  });

  it('round-trips a cursor and refuses one it did not issue', () => {
    assert.equal(decodeCursor(encodeCursor('acme'), isName), 'acme');
    assert.equal(decodeCursor(undefined, isName), undefined);
    for (const bad of ['!!', encodeCursor('ACME'), `${encodeCursor('acme')}=`, 'x'.repeat(300), ['a']]) {
      assert.throws(
        () => decodeCursor(bad, isName),
        (err: unknown) => err instanceof ValidationError && err.errors[0].path === 'cursor',
      );
    }
  });

  it('gives a next cursor only when there is a next page', () => {
    assert.deepEqual(
      toPage(['a', 'b', 'c'], 2, (x) => x),
      { items: ['a', 'b'], nextCursor: encodeCursor('b') },
    );
    assert.deepEqual(
      toPage(['a', 'b'], 2, (x) => x),
      { items: ['a', 'b'], nextCursor: null },
    );
  });
});
