import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { TenantReadFastPath } from '../../apps/governor/src/tenants/tenant-read.fast-path';
import { type IssuedKey, type Problem, type Reply, type Tenant } from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

// The fast path of GET /v1/tenants/{name} in front of this governor's own express app, with a count of the
// requests it hands on: the same composition app.factory.ts installs, with the hand-over made visible.
let gov: TestGovernor;
let server: Server;
let toExpress = 0;
let key: string;
before(async () => {
  gov = await startGovernor();
  const express = gov.app.getHttpAdapter().getInstance() as RequestListener;
  server = createServer(
    gov.app.get(TenantReadFastPath).before((req, res) => {
      toExpress += 1;
      express(req, res);
    }),
  );
  for (const name of ['fast', 'other']) {
    const created = await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .send({ name, quota: { pids: { max: 100 } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  const issued: Reply<IssuedKey> = await gov.http.post('/v1/tenants/fast/keys').set('Authorization', gov.root).send({ name: 'fast-path', expiresIn: '30d' });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  key = issued.body.key;
});
after(async () => {
  await gov?.close();
});

/** A GET through the fast path, and whether it reached express. */
async function get(path: string, headers: Record<string, string>): Promise<{ res: Reply<unknown>; viaExpress: boolean }> {
  const before = toExpress;
  const res: Reply<unknown> = await request(server).get(path).set(headers);
  return { res, viaExpress: toExpress > before };
}

describe('the GET /v1/tenants/{name} fast path', () => {
  it("answers an admin's plain GET itself, with the body, ETag, Content-Type and X-Request-Id express gives", async () => {
    const fast = await get('/v1/tenants/fast', { Authorization: gov.root, 'X-Request-Id': 'fast-path-1' });
    // A query is express's to route; the controller ignores this one, so the answer is the same tenant's.
    const slow = await get('/v1/tenants/fast?via=express', { Authorization: gov.root, 'X-Request-Id': 'fast-path-2' });
    assert.equal(fast.viaExpress, false);
    assert.equal(slow.viaExpress, true);
    assert.equal(fast.res.status, 200);
    assert.equal(slow.res.status, 200);
    assert.deepEqual(fast.res.body, slow.res.body);
    assert.equal((fast.res.body as Tenant).name, 'fast');
    for (const header of ['content-type', 'etag', 'content-length']) assert.equal(fast.res.headers[header], slow.res.headers[header], header);
    assert.equal(fast.res.headers['x-request-id'], 'fast-path-1');
    assert.match((await get('/v1/tenants/other', { Authorization: gov.root })).res.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  });

  it('sees every commit: the answer after a PATCH is the patched tenant', async () => {
    const patched = await gov.http
      .patch('/v1/tenants/other')
      .set('Authorization', gov.root)
      .set('Content-Type', 'application/merge-patch+json')
      .send({ displayName: 'Patched' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const { res, viaExpress } = await get('/v1/tenants/other', { Authorization: gov.root });
    assert.equal(viaExpress, false);
    assert.equal((res.body as Tenant).displayName, 'Patched');
    assert.equal(res.headers.etag, patched.headers.etag);
  });

  it('leaves every refusal to express, which answers it with the problem it always gave', async () => {
    const cases: Array<{ why: string; path: string; headers: Record<string, string>; status: number; detail: RegExp }> = [
      { why: 'no token', path: '/v1/tenants/fast', headers: {}, status: 401, detail: /no bearer token/ },
      {
        why: 'an unknown token',
        path: '/v1/tenants/fast',
        headers: { Authorization: `Bearer gva_AAAAAAAAAAAA_${'A'.repeat(43)}` },
        status: 401,
        detail: /not valid/,
      },
      { why: 'a tenant that does not exist', path: '/v1/tenants/absent', headers: { Authorization: gov.root }, status: 404, detail: /absent/ },
      {
        why: "a tenant key on another tenant's resource",
        path: '/v1/tenants/other',
        headers: { Authorization: `Bearer ${key}` },
        status: 404,
        detail: /other/,
      },
      {
        why: "a tenant key on its own tenant's admin resource",
        path: '/v1/tenants/fast',
        headers: { Authorization: `Bearer ${key}` },
        status: 403,
        detail: /\/v1\/me/,
      },
    ];
    for (const { why, path, headers, status, detail } of cases) {
      const { res, viaExpress } = await get(path, headers);
      assert.equal(viaExpress, true, why);
      assert.equal(res.status, status, why);
      assert.match(res.headers['content-type'], /^application\/problem\+json/, why);
      assert.match((res.body as Problem).detail, detail, why);
      // The same answer as the governor's own server gives, but for the request id.
      const direct: Reply<Problem> = await gov.http.get(path).set(headers);
      assert.deepEqual({ ...direct.body, requestId: undefined }, { ...(res.body as Problem), requestId: undefined }, why);
    }
  });

  it('leaves a conditional GET, a GET with a body, a longer path and other methods to express', async () => {
    const etag = (await get('/v1/tenants/fast', { Authorization: gov.root })).res.headers.etag;
    const conditional = await get('/v1/tenants/fast', { Authorization: gov.root, 'If-None-Match': etag });
    assert.equal(conditional.viaExpress, true);
    assert.equal(conditional.res.status, (await gov.http.get('/v1/tenants/fast').set('Authorization', gov.root).set('If-None-Match', etag)).status);
    const withBody = toExpress;
    const res = await request(server).get('/v1/tenants/fast').set('Authorization', gov.root).set('Content-Type', 'application/json').send('{}');
    assert.equal(toExpress, withBody + 1);
    assert.equal(res.status, 200);
    assert.equal((await get('/v1/tenants/fast/history', { Authorization: gov.root })).viaExpress, true);
    assert.equal((await get('/v1/tenants/FAST', { Authorization: gov.root })).viaExpress, true);
    const head = toExpress;
    assert.equal((await request(server).head('/v1/tenants/fast').set('Authorization', gov.root)).status, 200);
    assert.equal(toExpress, head + 1);
  });
});
