import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from './errors';
import { parseTenantName, TENANT_NAME_PATTERN } from './tenant-name';

describe('parseTenantName', () => {
  it('accepts names of 2 to 32 lowercase letters, digits and dashes that start with a letter', () => {
    for (const name of ['ab', 'acme', 'team-42', 'a1', 'a-b', 'a'.repeat(32), `a${'-'.repeat(30)}z`]) assert.equal(parseTenantName(name), name);
  });

  it('refuses names that are too short or too long', () => {
    for (const name of ['', 'a', 'a'.repeat(33)]) assert.throws(() => parseTenantName(name), ValidationError, JSON.stringify(name));
  });

  it('refuses uppercase, leading digits or dashes, trailing dashes and other characters', () => {
    for (const name of ['Acme', '1acme', '-acme', 'acme-', 'ac_me', 'ac.me', 'acme ', ' acme', 'acmé', 'acme\n', 'ａcme']) {
      assert.throws(() => parseTenantName(name), ValidationError, JSON.stringify(name));
    }
  });

  it('refuses values that are not strings', () => {
    for (const value of [undefined, null, 42, ['acme'], { name: 'acme' }]) assert.throws(() => parseTenantName(value), ValidationError);
  });

  it('reports the path and states the rule in words', () => {
    assert.throws(
      () => parseTenantName('Acme', 'body.name'),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.status, 400);
        assert.equal(err.errors.length, 1);
        assert.equal(err.errors[0].path, 'body.name');
        assert.match(err.errors[0].message, /2 to 32 characters/);
        assert.match(err.errors[0].message, /lowercase letters/);
        assert.match(err.errors[0].message, /starting with a letter and ending with a letter or digit/);
        assert.match(err.errors[0].message, /got "Acme"/);
        return true;
      },
    );
  });

  it('defaults the path to "name"', () => {
    assert.throws(
      () => parseTenantName('A'),
      (err: unknown) => err instanceof ValidationError && err.errors[0].path === 'name',
    );
  });

  it('exports the pattern that the parser applies', () => {
    assert.ok(TENANT_NAME_PATTERN.test('acme'));
    assert.ok(!TENANT_NAME_PATTERN.test('a'));
    assert.ok(!TENANT_NAME_PATTERN.test('acme\n'));
  });
});
