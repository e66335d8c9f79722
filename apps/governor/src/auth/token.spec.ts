import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken, hashToken, issueToken, lookupIdOf, tokenMatches } from './token';

describe('tokens', () => {
  it('issues tokens whose lookup id can be read back and whose hash matches', () => {
    const issued = issueToken('gva');
    assert.match(issued.token, /^gva_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(lookupIdOf(issued.token, 'gva'), issued.lookupId);
    assert.ok(tokenMatches(issued.token, issued.secretHash));
    assert.ok(!tokenMatches(`${issued.token}x`, issued.secretHash));
  });

  it('never issues the same token twice', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => issueToken('gvt').token));
    assert.equal(tokens.size, 1000);
  });

  it('reads no lookup id from a token of another kind or shape', () => {
    const admin = issueToken('gva').token;
    assert.equal(lookupIdOf(admin, 'gvt'), undefined);
    assert.equal(lookupIdOf('gva_short_secret', 'gva'), undefined);
    assert.equal(lookupIdOf('any operator-chosen string', 'gva'), undefined);
  });

  it('compares against a hash of another length without throwing', () => {
    assert.equal(tokenMatches('x', Buffer.alloc(3)), false);
    assert.equal(hashToken('x').length, 32);
  });

  it('takes the token from a Bearer header only', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer   abc  '), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});
