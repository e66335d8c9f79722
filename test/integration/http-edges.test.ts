import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import type { AddressInfo, Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Problem, Reply } from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

let gov: TestGovernor;
before(async () => {
  gov = await startGovernor();
  await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'edge' }).expect(201);
});
after(async () => {
  await gov?.close();
});

const isProblem = (res: { headers: Record<string, string> }) => assert.match(res.headers['content-type'], /^application\/problem\+json/);
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('NUL in a path or a query', () => {
  it('answers 400 naming the NUL, on every method', async () => {
    for (const [method, path] of [
      ['get', '/v1/tenants/a%00b'],
      ['delete', '/v1/tenants/a%00b'],
      ['get', '/v1/tenants/edge/keys/%00'],
      ['get', '/v1/admin-tokens/%00'],
      ['post', '/v1/quota-requests/%00/approve'],
      ['get', '/v1/nodes/x%00'],
      ['get', '/v1/audit?target=%00'],
    ] as const) {
      const res: Reply<Problem> = await gov.http[method](path).set('Authorization', gov.root);
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      isProblem(res);
      assert.match(res.body.detail, /NUL/);
    }
  });
});

describe('deeply nested JSON', () => {
  it('answers 400 with the limit for a merge patch nested 10,000 levels deep', async () => {
    const res: Reply<Problem> = await gov.http
      .patch('/v1/tenants/edge')
      .set('Authorization', gov.root)
      .set('Content-Type', 'application/merge-patch+json')
      .send(`{"quota":${nested(10_000)}}`);
    assert.equal(res.status, 400, res.text);
    isProblem(res);
    assert.match(res.body.detail, /nested deeper than 32 levels/);
  });

  it('answers 400 for deep arrays on any JSON route, and accepts ordinary depth', async () => {
    const deep: Reply<Problem> = await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .set('Content-Type', 'application/json')
      .send(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    assert.equal(deep.status, 400, deep.text);
    assert.match(deep.body.detail, /32 levels/);
    const plan = await gov.http
      .post('/v1/tenants/edge/plan')
      .set('Authorization', gov.root)
      .send({ quota: { memory: { max: '1Gi' } } });
    assert.notEqual(plan.status, 400, plan.text);
  });
});

describe('Content-Encoding', () => {
  const create = (name: string) => JSON.stringify({ name });
  // A raw request: supertest would serialise a Buffer under a JSON content type as JSON.
  const post = async (encoding: string, body: Buffer) => {
    const server = gov.app.getHttpServer() as Server;
    if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: gov.root, 'content-type': 'application/json', 'content-encoding': encoding },
      body,
    });
    const text = await res.text();
    return { status: res.status, text, headers: { 'content-type': res.headers.get('content-type') ?? '' }, body: JSON.parse(text) as { detail: string } };
  };

  it('answers 415 for br and any other unsupported encoding, saying which are allowed', async () => {
    for (const encoding of ['br', 'compress', 'zstd', 'gzip, br']) {
      const res = await post(encoding, Buffer.from(create('never')));
      assert.equal(res.status, 415, `${encoding}: ${res.text}`);
      isProblem(res);
      assert.match(res.body.detail, /gzip, deflate/);
    }
  });

  it('answers 400 for a body that does not decode', async () => {
    for (const encoding of ['gzip', 'deflate']) {
      const res = await post(encoding, Buffer.from('not compressed at all'));
      assert.equal(res.status, 400, `${encoding}: ${res.text}`);
      isProblem(res);
      assert.match(res.body.detail, new RegExp(`not valid ${encoding}`));
    }
    const truncated = gzipSync(create('cut')).subarray(0, 12);
    assert.equal((await post('gzip', truncated)).status, 400);
  });

  it('accepts gzip, deflate and identity', async () => {
    assert.equal((await post('gzip', gzipSync(create('zipped')))).status, 201);
    assert.equal((await post('deflate', deflateSync(create('deflated')))).status, 201);
    assert.equal((await post('identity', Buffer.from(create('plain')))).status, 201);
  });
});
