import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { AuditRetention } from '../../apps/governor/src/audit/audit.retention';
import { bodyOf, type AuditEntry, type IssuedAdminToken, type Items, type Problem, type Reply, type Tenant, type Workload } from '../support/api';
import { hostScratch } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

// Role all on a scratch cgroup root and run dir: workload creation starts real processes.
const host = hostScratch('idem');
let gov: TestGovernor;
before(async () => {
  gov = await startGovernor({ ...host.env, GOVERNOR_NET_POOL: '10.232.0.0/24', GOVERNOR_RESYNC_INTERVAL: '2s' });
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

const createTenant = (key: string | undefined, body: object, auth = gov.root) => {
  const req = gov.http.post('/v1/tenants').set('Authorization', auth);
  if (key !== undefined) req.set('Idempotency-Key', key);
  return req.send(body);
};

describe('Idempotency-Key on tenant creation', () => {
  it('answers a retry with the first response and creates one tenant', async () => {
    const first = await createTenant('create-acme-1', { name: 'idem-acme', quota: { pids: { max: 10 } } });
    assert.equal(first.status, 201, first.text);
    const retry = await createTenant('create-acme-1', { quota: { pids: { max: 10 } }, name: 'idem-acme' });
    assert.equal(retry.status, 201, retry.text);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.headers.etag, first.headers.etag);
    assert.equal(retry.headers.location, '/v1/tenants/idem-acme');
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    const audit: Reply<Items<AuditEntry>> = await gov.http.get('/v1/audit').query({ target: 'tenants/idem-acme' }).set('Authorization', gov.root);
    assert.equal(audit.body.items.filter((e) => e.action === 'tenant.create').length, 1);
  });

  it('refuses the same key with another body, saying why', async () => {
    const other: Reply<Problem> = await createTenant('create-acme-1', { name: 'idem-other' });
    assert.equal(other.status, 422, other.text);
    assert.match(other.headers['content-type'], /^application\/problem\+json/);
    assert.match(other.body.detail, /Idempotency-Key "create-acme-1" was first used with a different request/);
    assert.equal((await gov.http.get('/v1/tenants/idem-other').set('Authorization', gov.root)).status, 404);
  });

  it('keeps keys apart per caller, and without a key behaves as before', async () => {
    const issued: Reply<IssuedAdminToken> = await gov.http.post('/v1/admin-tokens').set('Authorization', gov.root).send({ name: 'other-admin' });
    const theirs = await createTenant('create-acme-1', { name: 'idem-theirs' }, `Bearer ${issued.body.token}`);
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal((await createTenant(undefined, { name: 'idem-acme' })).status, 409);
  });

  it('lets one of two concurrent requests with one key create, never both', async () => {
    const results: Reply<Problem>[] = await Promise.all([1, 2, 3].map(() => createTenant('race-1', { name: 'idem-race' })));
    const statuses = results.map((r) => r.status).sort();
    assert.ok(
      statuses.every((s) => s === 201 || s === 409),
      statuses.join(),
    );
    assert.ok(statuses.includes(201));
    for (const res of results.filter((r) => r.status === 409)) assert.match(res.body.detail, /still being processed|exists/);
    const rows = await gov.query<{ n: number }>(`SELECT count(*)::int AS n FROM tenants WHERE name = 'idem-race'`);
    assert.equal(rows[0].n, 1);
  });

  it('refuses a key that is empty, too long or not printable', async () => {
    for (const key of ['', 'x'.repeat(256), 'tab\there']) {
      const res: Reply<Problem> = await createTenant(key, { name: 'idem-bad-key' });
      assert.equal(res.status, 400, `${JSON.stringify(key)}: ${res.text}`);
      assert.equal(res.body.errors[0].path, 'Idempotency-Key');
    }
  });

  it('forgets keys after 24 hours, in the retention job', async () => {
    const [row] = await gov.query<{ hours: number }>(
      `SELECT extract(epoch FROM expires_at - created_at) / 3600 AS hours FROM idempotency_keys WHERE key = 'create-acme-1' LIMIT 1`,
    );
    assert.equal(Math.round(Number(row.hours)), 24);
    await gov.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'create-acme-1'`);
    await gov.app.get(AuditRetention).prune();
    assert.deepEqual(await gov.query(`SELECT key FROM idempotency_keys WHERE key = 'create-acme-1'`), []);
  });
});

describe('Idempotency-Key on workload creation', () => {
  before(async () => {
    await createTenant(undefined, { name: 'idem-box' }).expect(201);
    const deadline = Date.now() + 20_000;
    while (bodyOf<Tenant>(await gov.http.get('/v1/tenants/idem-box').set('Authorization', gov.root)).status.observedGeneration !== 1) {
      assert.ok(Date.now() < deadline, 'the tenant is set up');
      await sleep(100);
    }
  });

  const start = (key: string, command: string[]) =>
    gov.http.post('/v1/tenants/idem-box/workloads').set('Authorization', gov.root).set('Idempotency-Key', key).send({ command });

  it('starts one workload for a retried POST and answers the retry with the first response', async () => {
    const first: Reply<Workload> = await start('run-1', ['/bin/sleep', '30']);
    assert.equal(first.status, 201, first.text);
    const retry: Reply<Workload> = await start('run-1', ['/bin/sleep', '30']);
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.body.id, first.body.id);
    assert.deepEqual(retry.body, first.body);
    const list: Reply<Items<Workload>> = await gov.http.get('/v1/tenants/idem-box/workloads').set('Authorization', gov.root);
    assert.equal(list.body.items.length, 1);
    const other = await start('run-1', ['/bin/sleep', '31']);
    assert.equal(other.status, 422, other.text);
    await gov.http.delete(`/v1/tenants/idem-box/workloads/${first.body.id}`).query({ grace: '0s' }).set('Authorization', gov.root).expect(202);
  });
});
