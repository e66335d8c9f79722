import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JSON_MAX_DEPTH, JsonTooDeepError, parseJson } from './json';

describe('parseJson', () => {
  it('parses documents up to the nesting limit', () => {
    const atLimit = `${'['.repeat(JSON_MAX_DEPTH)}${']'.repeat(JSON_MAX_DEPTH)}`;
    assert.equal(JSON.stringify(parseJson(atLimit)), atLimit);
    assert.deepEqual(parseJson('{"a":{"b":[1,{"c":"}]]]"}]}}'), { a: { b: [1, { c: '}]]]' }] } });
  });

  it('refuses a document one level past the limit, and one 10,000 deep, before parsing it', () => {
    assert.throws(() => parseJson(`${'['.repeat(JSON_MAX_DEPTH + 1)}${']'.repeat(JSON_MAX_DEPTH + 1)}`), JsonTooDeepError);
    assert.throws(() => parseJson(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`), /nested deeper than 32 levels/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: `\\"${'['.repeat(100)}` });
    assert.deepEqual(parseJson(text), JSON.parse(text));
  });

  it('throws SyntaxError for text that is not JSON', () => {
    assert.throws(() => parseJson('{"a":'), SyntaxError);
  });
});
