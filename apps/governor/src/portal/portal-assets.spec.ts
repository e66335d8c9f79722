import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PortalAssets } from './portal-assets';
import { PortalException, PortalExceptionCode } from './portal.exception';
import { PORTAL_CONTENT_SECURITY_POLICY } from './portal.headers';

describe('the portal files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portal-assets-'));
    mkdirSync(join(dir, 'web', 'assets'), { recursive: true });
    writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'web', 'assets', 'index-abc123.js'), 'export {}');
    writeFileSync(join(dir, 'secret.txt'), 'outside');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (code: PortalExceptionCode) => (err: unknown) => err instanceof PortalException && err.code === code;

  it('serves index.html for the bare path, and hashed assets as immutable with their content type', async () => {
    const assets = new PortalAssets(join(dir, 'web'));
    const index = await assets.file([]);
    assert.equal(index.contentType, 'text/html; charset=utf-8');
    assert.equal(index.immutable, false);
    const script = await assets.file(['assets', 'index-abc123.js']);
    assert.equal(script.body.toString(), 'export {}');
    assert.equal(script.contentType, 'text/javascript; charset=utf-8');
    assert.equal(script.immutable, true);
  });

  it('reads nothing outside its directory, nor hidden or missing files', async () => {
    const assets = new PortalAssets(join(dir, 'web'));
    for (const segments of [['..', 'secret.txt'], ['assets', '..', '..', 'secret.txt'], ['.hidden'], ['assets'], ['nope.js'], ['a\\b'], ['%2e%2e']]) {
      await assert.rejects(assets.file(segments), refused(PortalExceptionCode.NOT_FOUND), segments.join('/'));
    }
  });

  it('answers 503 with the command to run when the portal is not built, with the security headers', async () => {
    const assets = new PortalAssets(join(dir, 'missing'));
    await assert.rejects(assets.index(), (err: unknown) => {
      assert.ok(err instanceof PortalException);
      assert.equal(err.status, 503);
      assert.match(err.message, /npm run build:portal/);
      assert.equal(err.headers['Content-Security-Policy'], PORTAL_CONTENT_SECURITY_POLICY);
      return true;
    });
  });
});
