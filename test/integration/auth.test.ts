import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  bodyOf,
  type AdminToken,
  type AuditEntry,
  type IssuedAdminToken,
  type Items,
  type LedgerEntry,
  type Problem,
  type Readiness,
  type Reply,
} from '../support/api';
import { startGovernor, startReplica, type TestGovernor } from '../support/governor.harness';
import { setTimeout as sleep } from 'node:timers/promises';

let gov: TestGovernor;
before(async () => {
  gov = await startGovernor();
});
after(async () => {
  await gov?.close();
});

/** The parts of the OpenAPI document this test reads. */
interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, { properties: Record<string, { example?: unknown }> }> };
}

describe('authentication', () => {
  it('answers 401 problem+json without a token, with a bad token and with a malformed header', async () => {
    for (const header of [undefined, 'Bearer wrong-token-wrong-token', 'Basic cm9vdDpyb290', `Bearer gva_AAAAAAAAAAAA_${'A'.repeat(43)}`]) {
      const req = gov.http.get('/v1/tenants');
      if (header) req.set('Authorization', header);
      const res: Reply<Problem> = await req;
      assert.equal(res.status, 401, String(header));
      assert.match(res.headers['content-type'], /^application\/problem\+json/);
      assert.match(res.body.detail, /token/);
    }
  });

  it('leaves /healthz and /readyz open', async () => {
    assert.deepEqual((await gov.http.get('/healthz')).body, { status: 'ok' });
    const ready: Reply<Readiness> = await gov.http.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.database, 'ok');
  });

  it('serves the OpenAPI document with the tenant routes and examples', async () => {
    const doc: Reply<OpenApiDocument> = await gov.http.get('/docs/openapi.json');
    assert.equal(doc.status, 200);
    assert.ok(doc.body.paths['/v1/tenants']);
    assert.ok(doc.body.paths['/v1/tenants/{name}']?.patch);
    assert.equal(doc.body.components.schemas.MemoryQuotaDto?.properties.max?.example, '512Mi');
    const ui = await gov.http.get('/docs/');
    assert.equal(ui.status, 200);
    assert.match(ui.text, /swagger/i);
  });

  it('answers 404 problem+json for an unknown route', async () => {
    const res = await gov.http.get('/v1/nothing').set('Authorization', gov.root);
    assert.equal(res.status, 404);
    assert.match(res.headers['content-type'], /^application\/problem\+json/);
  });
});

describe('named admin tokens', () => {
  it('issues a token once, lists it without the secret, and records it as the actor', async () => {
    const issued: Reply<IssuedAdminToken> = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'deployer' });
    assert.equal(issued.status, 201);
    assert.match(issued.body.token, /^gva_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(issued.body.createdBy, 'root');

    const list: Reply<Items<AdminToken>> = await gov.http.get('/v1/admin-tokens').set('Authorization', gov.root);
    assert.deepEqual(
      list.body.items.map((t) => t.name),
      ['deployer', 'root'],
    );
    assert.ok(!JSON.stringify(list.body).includes(issued.body.token.slice(-43)), 'no secret in the list');
    const stored = await gov.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM admin_tokens WHERE name = $1', ['deployer']);
    assert.equal(stored[0].secret_hash.length, 32, 'only a SHA-256 is stored');

    const created = await gov.http
      .post('/v1/tenants')
      .set('Authorization', `Bearer ${issued.body.token}`)
      .send({ name: 'by-deployer', quota: { pids: { max: 1 } } });
    assert.equal(created.status, 201);
    const history: Reply<Items<LedgerEntry>> = await gov.http.get('/v1/tenants/by-deployer/history').set('Authorization', gov.root);
    assert.equal(history.body.items[0].actor, 'admin:deployer');
    const audit: Reply<Items<AuditEntry>> = await gov.http.get('/v1/audit').query({ target: 'tenants/by-deployer' }).set('Authorization', gov.root);
    assert.equal(audit.body.items[0].actor, 'admin:deployer');
  });

  it('stops accepting a revoked token', async () => {
    const issued: Reply<IssuedAdminToken> = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'short-lived' });
    const auth = `Bearer ${issued.body.token}`;
    assert.equal((await gov.http.get('/v1/tenants').set('Authorization', auth)).status, 200);
    assert.equal((await gov.http.delete(`/v1/admin-tokens/${issued.body.id}`).set('Authorization', gov.root)).status, 204);
    assert.equal((await gov.http.get('/v1/tenants').set('Authorization', auth)).status, 401);
    assert.equal((await gov.http.delete(`/v1/admin-tokens/${issued.body.id}`).set('Authorization', gov.root)).status, 404);
  });

  it('stops accepting a token on another replica soon after it is revoked, though that replica had verified it', async () => {
    // A minute's TTL: only the NOTIFY of the revocation can end the token's cached verification in time.
    const replica = await startReplica(gov, { GOVERNOR_AUTH_CACHE_TTL: '60s' });
    try {
      const issued: Reply<IssuedAdminToken> = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'two-replicas' });
      const auth = `Bearer ${issued.body.token}`;
      assert.equal((await replica.http.get('/v1/tenants').set('Authorization', auth)).status, 200);
      assert.equal((await replica.http.get('/v1/tenants').set('Authorization', auth)).status, 200);
      assert.equal((await gov.http.delete(`/v1/admin-tokens/${issued.body.id}`).set('Authorization', gov.root)).status, 204);
      let status = 200;
      for (let deadline = Date.now() + 10_000; status === 200 && Date.now() < deadline; await sleep(20)) {
        status = (await replica.http.get('/v1/tenants').set('Authorization', auth)).status;
      }
      assert.equal(status, 401);
      assert.equal((await replica.http.get('/v1/tenants').set('Authorization', gov.root)).status, 200);
    } finally {
      await replica.close();
    }
  });

  it('rejects a token whose secret differs in one character', async () => {
    const issued: Reply<IssuedAdminToken> = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'tamper' });
    const token = issued.body.token;
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    assert.equal((await gov.http.get('/v1/tenants').set('Authorization', `Bearer ${tampered}`)).status, 401);
  });

  it('refuses a taken name, a reserved name and revoking root', async () => {
    await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'twice' });
    assert.equal((await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'twice' })).status, 409);
    const reserved = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'root' });
    assert.equal(reserved.status, 400);
    const root = bodyOf<Items<AdminToken>>(await gov.http.get('/v1/admin-tokens').set('Authorization', gov.root)).items.find((t) => t.name === 'root');
    assert.equal((await gov.http.delete(`/v1/admin-tokens/${root?.id}`).set('Authorization', gov.root)).status, 409);
  });

  it('refuses an expiry in the past', async () => {
    const res: Reply<Problem> = await gov.http
      .post('/v1/admin-tokens')
      .set('Authorization', gov.root)
      .send({ name: 'expired', expiresAt: '2001-01-01T00:00:00Z' });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].path, 'expiresAt');
  });

  it('stops accepting a token once it has expired', async () => {
    const issued: Reply<IssuedAdminToken> = await gov.http
      .post('/v1/admin-tokens')
      .set('Authorization', gov.root)
      .send({ name: 'expiring', expiresAt: new Date(Date.now() + 60_000).toISOString() });
    assert.equal(issued.status, 201);
    await gov.query(`UPDATE admin_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [issued.body.id]);
    assert.equal((await gov.http.get('/v1/tenants').set('Authorization', `Bearer ${issued.body.token}`)).status, 401);
  });
});
