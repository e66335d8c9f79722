import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bodyOf, type IssuedKey, type Items, type Problem, type QuotaRequest, type Reply, type Tenant, type TenantKey } from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

let gov: TestGovernor;
let key: string;
let pendingRequest: string;
before(async () => {
  gov = await startGovernor();
  // A live agent that hosts every tenant: a deleted tenant then stays Terminating until that agent tears it down.
  await gov.query(
    `INSERT INTO nodes (name, role, kernel, cgroup_mode, cgroup_mount, cgroup_root, controllers_available, controllers_missing, features, heartbeat_at)
     VALUES ('far-agent', 'agent', '6.1.0', 'unified', '/sys/fs/cgroup', '/sys/fs/cgroup/governor', '{}', '{}', '{}', now() + interval '1 hour')`,
  );
  await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'leaving' }).expect(201);
  key = bodyOf<IssuedKey>(await gov.http.post('/v1/tenants/leaving/keys').set('Authorization', gov.root).send({ name: 'portal' }).expect(201)).key;
  const request: Reply<QuotaRequest> = await gov.http
    .post('/v1/me/quota-requests')
    .set('Authorization', `Bearer ${key}`)
    .send({ quota: { pids: { max: 64 } }, reason: 'more processes' })
    .expect(201);
  pendingRequest = request.body.id;
  const deleted: Reply<Tenant> = await gov.http.delete('/v1/tenants/leaving').set('Authorization', gov.root).expect(202);
  assert.equal(deleted.body.status.phase, 'Terminating');
});
after(async () => {
  await gov?.close();
});

describe('a Terminating tenant', () => {
  it('refuses new work, changes, keys and quota requests with 409 naming the phase', async () => {
    const admin = (req: ReturnType<TestGovernor['http']['get']>) => req.set('Authorization', gov.root);
    const tenantKey = (req: ReturnType<TestGovernor['http']['get']>) => req.set('Authorization', `Bearer ${key}`);
    for (const [what, req] of [
      ['PATCH', admin(gov.http.patch('/v1/tenants/leaving').send({ displayName: 'late' }))],
      ['suspend', admin(gov.http.post('/v1/tenants/leaving/suspend'))],
      ['resume', admin(gov.http.post('/v1/tenants/leaving/resume'))],
      ['new key', admin(gov.http.post('/v1/tenants/leaving/keys').send({ name: 'late' }))],
      ['new workload', admin(gov.http.post('/v1/tenants/leaving/workloads').send({ command: ['/bin/true'] }))],
      ['own workload', tenantKey(gov.http.post('/v1/me/workloads').send({ command: ['/bin/true'] }))],
      ['quota request', tenantKey(gov.http.post('/v1/me/quota-requests').send({ quota: { pids: { max: 32 } }, reason: 'late' }))],
      ['approval', admin(gov.http.post(`/v1/quota-requests/${pendingRequest}/approve`).send({}))],
    ] as const) {
      const res: Reply<Problem> = await req;
      assert.equal(res.status, 409, `${what}: ${res.text}`);
      assert.match(res.headers['content-type'], /^application\/problem\+json/);
      assert.match(res.body.detail, /Terminating/, what);
    }
  });

  it('still answers reads, and lets its key be revoked', async () => {
    const got: Reply<Tenant> = await gov.http.get('/v1/tenants/leaving').set('Authorization', gov.root).expect(200);
    assert.equal(got.body.status.phase, 'Terminating');
    assert.equal(got.body.suspended, false, 'the refused suspend changed nothing');
    const keys: Reply<Items<TenantKey>> = await gov.http.get('/v1/tenants/leaving/keys').set('Authorization', gov.root).expect(200);
    assert.deepEqual(
      keys.body.items.map((k) => k.name),
      ['portal'],
    );
    await gov.http.delete(`/v1/tenants/leaving/keys/${keys.body.items[0].id}`).set('Authorization', gov.root).expect(204);
  });
});
