import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import {
  bodyOf,
  type IssuedKey,
  type Items,
  type LedgerEntry,
  type Problem,
  type QuotaRequest,
  type Reply,
  type Tenant,
  type TenantEvent,
  type TenantKey,
  type Usage,
  type Workload,
} from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

// Tenant self-service: keys, the /v1/me API, quota requests and who may call what, on a governor in
// role all (real namespaces and the cgroup v2 core on this host), so that usage, plans and workloads work.
const host = hostScratch('self');
let gov: TestGovernor;
const keys: Record<'alpha' | 'beta', string> = { alpha: '', beta: '' };

before(async () => {
  gov = await startGovernor({
    ...host.env,
    GOVERNOR_NET_POOL: '10.235.0.0/24',
    GOVERNOR_RESYNC_INTERVAL: '2s',
    // the usage history below fills at the step it names
    GOVERNOR_USAGE_SAMPLE_INTERVAL: '5s',
    // the authorization matrix fails authentication on purpose, many times, from one address
    GOVERNOR_AUTH_FAILURES: '100000/1m',
  });
  for (const name of ['alpha', 'beta'] as const) {
    assert.equal(
      (
        await gov.http
          .post('/v1/tenants')
          .set('Authorization', gov.root)
          .send({ name, quota: { pids: { max: 100 } } })
      ).status,
      201,
    );
    const issued: Reply<IssuedKey> = await gov.http.post(`/v1/tenants/${name}/keys`).set('Authorization', gov.root).send({ name: 'portal', expiresIn: '30d' });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    keys[name] = issued.body.key;
  }
  await ready('alpha');
  await ready('beta');
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

const as = (key: string) => `Bearer ${key}`;

async function ready(name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res: Reply<Tenant> = await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root);
    if (res.body.status?.phase === 'Ready' || res.body.status?.phase === 'Degraded') return;
    assert.ok(Date.now() < deadline, JSON.stringify(res.body.status));
    await sleep(100);
  }
}

describe('tenant keys', () => {
  it('shows a key once, lists keys without secrets, and lets it reach /v1/me as its tenant', async () => {
    assert.match(keys.alpha, /^gvt_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43}$/);
    const list: Reply<Items<TenantKey & { key?: string }>> = await gov.http.get('/v1/tenants/alpha/keys').set('Authorization', gov.root);
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 1);
    assert.equal(list.body.items[0].key, undefined);
    assert.ok(keys.alpha.startsWith(list.body.items[0].prefix));
    assert.ok(!JSON.stringify(list.body).includes(keys.alpha.slice(-43)), 'no secret in the list');
    const me: Reply<Tenant> = await gov.http.get('/v1/me').set('Authorization', as(keys.alpha));
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'alpha');
    assert.deepEqual(me.body.quota, { pids: { max: 100 } });
    assert.match(me.body.status.network?.address ?? '', /^10\.235\.0\.\d+$/);
    assert.equal(me.body.status.uidRange?.size, 65536);
    const stored = await gov.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM tenant_keys');
    assert.ok(
      stored.every((row) => row.secret_hash.length === 32 && !row.secret_hash.toString('latin1').includes('gvt_')),
      'only hashes are stored',
    );
  });

  it('stops a key at once when it is revoked, when it expires, and when its tenant is deleted', async () => {
    await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'brief' }).expect(201);
    const issue = async (name: string) => bodyOf<IssuedKey>(await gov.http.post('/v1/tenants/brief/keys').set('Authorization', gov.root).send({ name }));
    const revoked = await issue('revoked');
    const expiring = await issue('expiring');
    const orphaned = await issue('orphaned');
    for (const key of [revoked, expiring, orphaned]) assert.equal((await gov.http.get('/v1/me').set('Authorization', as(key.key))).status, 200);

    assert.equal((await gov.http.delete(`/v1/tenants/brief/keys/${revoked.id}`).set('Authorization', gov.root)).status, 204);
    assert.equal((await gov.http.get('/v1/me').set('Authorization', as(revoked.key))).status, 401);
    assert.equal((await gov.http.delete(`/v1/tenants/brief/keys/${revoked.id}`).set('Authorization', gov.root)).status, 404);

    await gov.query(`UPDATE tenant_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [expiring.id]);
    assert.equal((await gov.http.get('/v1/me').set('Authorization', as(expiring.key))).status, 401);
    const listed = bodyOf<Items<TenantKey>>(await gov.http.get('/v1/tenants/brief/keys').set('Authorization', gov.root)).items;
    assert.ok(listed.find((k) => k.id === revoked.id)?.revokedAt, 'a revoked key is listed as revoked');

    assert.equal((await gov.http.delete('/v1/tenants/brief').set('Authorization', gov.root)).status, 202);
    const deadline = Date.now() + 20_000;
    while ((await gov.http.get('/v1/me').set('Authorization', as(orphaned.key))).status !== 401) {
      assert.ok(Date.now() < deadline, 'the key of a deleted tenant stops working');
      await sleep(100);
    }
  });

  it('refuses bad key requests with what is allowed', async () => {
    const res: Reply<Problem> = await gov.http.post('/v1/tenants/alpha/keys').set('Authorization', gov.root).send({ name: 'Bad Name', expiresIn: '2y' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => e.path).sort(), ['expiresIn', 'name']);
    assert.match(res.body.errors.find((e) => e.path === 'expiresIn')?.message ?? '', /1m to 366d/);
    const taken = await gov.http.post('/v1/tenants/alpha/keys').set('Authorization', gov.root).send({ name: 'portal' });
    assert.equal(taken.status, 409);
  });
});

describe('who may call what', () => {
  type Who = 'admin' | 'alpha' | 'beta' | 'nobody';
  const header = (who: Who) => (who === 'admin' ? gov.root : who === 'nobody' ? undefined : as(keys[who]));

  /** Every route of the OpenAPI document, so that a new route is in the matrix without anyone adding it. */
  async function routes(): Promise<Array<{ method: string; path: string }>> {
    const doc = (await gov.http.get('/docs/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method, path })));
  }

  async function call(who: Who, method: string, path: string): Promise<number> {
    const req = gov.http[method as 'get' | 'post' | 'patch' | 'delete'](path);
    const auth = header(who);
    if (auth) req.set('Authorization', auth);
    if (method !== 'get' && method !== 'delete') req.send({});
    return (await req).status;
  }

  it('covers every documented route with admin, two tenants and no token', async () => {
    const all = await routes();
    assert.ok(all.length >= 30, `${all.length} routes`);
    const outcomes: string[] = [];
    for (const { method, path } of all) {
      const tenantRoute = path.startsWith('/v1/me');
      const fill = (name: string) => path.replace('{name}', name).replace(/\{id\}/g, '00000000-0000-0000-0000-000000000000');
      // Admin calls that change things name a tenant that does not exist, so the matrix destroys nothing.
      const adminPath = fill(method === 'get' ? 'alpha' : 'ghost');
      const expect = (who: Who, target: string, allowed: (status: number) => boolean, what: string) =>
        call(who, method, target).then((status) => {
          if (!allowed(status)) outcomes.push(`${who} ${method.toUpperCase()} ${target}: ${status}, expected ${what}`);
        });
      const authorized = (status: number) => status !== 401 && status !== 403 && status !== 429;
      if (!path.startsWith('/v1/')) {
        for (const who of ['nobody', 'admin', 'alpha'] as const) await expect(who, path, authorized, 'open to everyone');
        continue;
      }
      await expect('nobody', fill('alpha'), (s) => s === 401, '401');
      if (tenantRoute) {
        await expect('admin', fill('alpha'), (s) => s === 403, '403');
        await expect('alpha', fill('alpha'), authorized, 'past the guard');
        await expect('beta', fill('beta'), authorized, 'past the guard');
      } else {
        await expect('admin', adminPath, authorized, 'past the guard');
        if (path.includes('{name}')) {
          await expect('alpha', fill('alpha'), (s) => s === 403, '403 on its own admin resource');
          await expect('alpha', fill('beta'), (s) => s === 404, "404 on another tenant's resource");
          await expect('beta', fill('alpha'), (s) => s === 404, "404 on another tenant's resource");
          await expect('alpha', fill('ghost'), (s) => s === 404, '404 as for another tenant');
        } else {
          await expect('alpha', fill('alpha'), (s) => s === 403, '403 on an admin collection');
        }
      }
    }
    assert.deepEqual(outcomes, []);
  });

  it('answers a tenant on another tenant exactly as on a tenant that does not exist', async () => {
    const other: Reply<Problem> = await gov.http.get('/v1/tenants/beta/workloads').set('Authorization', as(keys.alpha));
    const none: Reply<Problem> = await gov.http.get('/v1/tenants/nope/workloads').set('Authorization', as(keys.alpha));
    const adminNone: Reply<Problem> = await gov.http.get('/v1/tenants/beta2/workloads').set('Authorization', gov.root);
    assert.equal(other.status, 404);
    assert.equal(other.body.detail, 'no tenant is named "beta"');
    assert.deepEqual({ ...other.body, requestId: 0, detail: 0 }, { ...none.body, requestId: 0, detail: 0 });
    assert.deepEqual({ ...none.body, requestId: 0, detail: 0 }, { ...adminNone.body, requestId: 0, detail: 0 });
  });

  it("keeps a tenant's workloads and requests out of another tenant's reach", async () => {
    const started: Reply<Workload> = await gov.http
      .post('/v1/me/workloads')
      .set('Authorization', as(keys.alpha))
      .send({ command: ['/bin/sleep', '30'] });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal((await gov.http.get(`/v1/me/workloads/${started.body.id}`).set('Authorization', as(keys.beta))).status, 404);
    assert.equal((await gov.http.delete(`/v1/me/workloads/${started.body.id}`).set('Authorization', as(keys.beta))).status, 404);
    assert.equal((await gov.http.get(`/v1/me/workloads/${started.body.id}/logs`).set('Authorization', as(keys.beta))).status, 404);
    const mine: Reply<Items<Workload>> = await gov.http.get('/v1/me/workloads').set('Authorization', as(keys.beta));
    assert.ok(!mine.body.items.some((w) => w.id === started.body.id));
    await gov.http.delete(`/v1/me/workloads/${started.body.id}`).query({ grace: '0s' }).set('Authorization', as(keys.alpha)).expect(202);
  });
});

describe('quota requests', () => {
  const ask = (key: string, body: object) => gov.http.post('/v1/me/quota-requests').set('Authorization', as(key)).send(body);

  it('goes from the tenant to the admin and back: plan, approve, new quota, ledger and audit', async () => {
    const made: Reply<QuotaRequest> = await ask(keys.alpha, { quota: { memory: { max: '512Mi' } }, reason: 'the build needs more' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.state, 'pending');
    assert.deepEqual(made.body.quota, { memory: { max: 512 * 1024 * 1024 } }, 'the patch in canonical form');
    assert.equal(made.body.plan?.nodes[0].node, gov.config.nodeName);
    assert.equal(made.body.plan?.quota.memory?.max, 512 * 1024 * 1024);

    const pending: Reply<Items<QuotaRequest>> = await gov.http.get('/v1/quota-requests').query({ state: 'pending' }).set('Authorization', gov.root);
    const listed = pending.body.items.find((r) => r.id === made.body.id);
    assert.equal(listed?.tenant, 'alpha');
    assert.ok(Array.isArray(listed?.plan?.nodes[0].writes));

    const approved: Reply<QuotaRequest> = await gov.http.post(`/v1/quota-requests/${made.body.id}/approve`).set('Authorization', gov.root).send({});
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.deepEqual([approved.body.state, approved.body.decidedBy], ['approved', 'admin:root']);
    const me: Reply<Tenant> = await gov.http.get('/v1/me').set('Authorization', as(keys.alpha));
    assert.deepEqual(me.body.quota, { memory: { max: 512 * 1024 * 1024 }, pids: { max: 100 } });

    const history: Reply<Items<LedgerEntry>> = await gov.http.get('/v1/tenants/alpha/history').set('Authorization', gov.root);
    assert.equal(history.body.items[0].actor, 'admin:root');
    const audit = await gov.query<{ action: string; actor: string }>(`SELECT action, actor FROM audit_log WHERE target LIKE $1 ORDER BY id`, [
      `tenants/alpha/quota-requests/${made.body.id}`,
    ]);
    assert.deepEqual(
      audit.map((a) => a.action),
      ['quota-request.create', 'quota-request.approve'],
    );
    assert.match(audit[0].actor, /^tenant:alpha\//);
    assert.equal((await gov.http.post(`/v1/quota-requests/${made.body.id}/approve`).set('Authorization', gov.root).send({})).status, 409);
    const events: Reply<Items<TenantEvent>> = await gov.http.get('/v1/me/events').set('Authorization', as(keys.alpha));
    // Newest first; a workload of an earlier test that ended meanwhile may be newer, so look for the change.
    const change = events.body.items.find((e) => e.kind === 'quota-change');
    assert.ok(change, JSON.stringify(events.body.items));
    assert.match(change.message, /admin:root/);
  });

  it('lets an admin reject with a reason, and a tenant withdraw its own pending request only', async () => {
    const first = bodyOf<QuotaRequest>(await ask(keys.beta, { quota: { pids: { max: 1000 } }, reason: 'fork bomb testing' }));
    assert.equal(
      (await gov.http.post(`/v1/quota-requests/${first.id}/reject`).set('Authorization', gov.root).send({})).status,
      400,
      'a rejection needs a reason',
    );
    const rejected: Reply<QuotaRequest> = await gov.http
      .post(`/v1/quota-requests/${first.id}/reject`)
      .set('Authorization', gov.root)
      .send({ reason: 'not on a shared host' });
    assert.deepEqual([rejected.status, rejected.body.state, rejected.body.decisionReason], [200, 'rejected', 'not on a shared host']);
    assert.equal(bodyOf<Tenant>(await gov.http.get('/v1/me').set('Authorization', as(keys.beta))).quota.pids?.max, 100, 'nothing changed');

    const second = bodyOf<QuotaRequest>(await ask(keys.beta, { quota: { pids: { max: 200 } }, reason: 'more workers' }));
    assert.equal((await gov.http.post(`/v1/me/quota-requests/${second.id}/withdraw`).set('Authorization', as(keys.alpha))).status, 404);
    const withdrawn: Reply<QuotaRequest> = await gov.http.post(`/v1/me/quota-requests/${second.id}/withdraw`).set('Authorization', as(keys.beta));
    assert.deepEqual([withdrawn.status, withdrawn.body.state], [200, 'withdrawn']);
    assert.equal((await gov.http.post(`/v1/me/quota-requests/${first.id}/withdraw`).set('Authorization', as(keys.beta))).status, 409);
    const mine: Reply<Items<QuotaRequest>> = await gov.http.get('/v1/me/quota-requests').set('Authorization', as(keys.beta));
    assert.deepEqual(
      mine.body.items.map((r) => r.state),
      ['withdrawn', 'rejected'],
    );
  });

  it('refuses a request whose patched quota would be invalid, naming the field', async () => {
    const bad: Reply<Problem> = await ask(keys.alpha, { quota: { memory: { max: '1Gi', high: '2Gi' } }, reason: 'x' });
    assert.equal(bad.status, 400);
    assert.ok(
      bad.body.errors.some((e) => e.path.startsWith('quota.memory')),
      JSON.stringify(bad.body),
    );
    const empty: Reply<Problem> = await ask(keys.alpha, { quota: {}, reason: 'x' });
    assert.equal(empty.status, 400);
    assert.deepEqual(
      empty.body.errors.map((e) => e.path),
      ['quota'],
    );
    assert.equal((await ask(keys.alpha, { quota: { pids: { max: 5 } }, reason: '' })).status, 400);
  });
});

describe("the tenant's own view", () => {
  it('shows live usage and a short history that fills every 5 seconds', async () => {
    const burner: Reply<Workload> = await gov.http
      .post('/v1/me/workloads')
      .set('Authorization', as(keys.beta))
      .send({ command: ['/bin/sh', '-c', 'while :; do :; done'] });
    assert.equal(burner.status, 201);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res: Reply<Usage> = await gov.http.get('/v1/me/usage').set('Authorization', as(keys.beta));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(typeof res.body.usage.cpu.usageSeconds, 'number');
        assert.equal(typeof res.body.network?.receiveBytes, 'number');
        const busy = res.body.history.points.some((p) => (p.cpuCores ?? 0) > 0.3);
        if (busy) break;
        assert.ok(Date.now() < deadline, JSON.stringify(res.body.history));
        await sleep(1000);
      }
    } finally {
      await gov.http.delete(`/v1/me/workloads/${burner.body.id}`).query({ grace: '0s' }).set('Authorization', as(keys.beta));
    }
  });

  it('runs workloads and shows their logs, and lists the ones that ended badly as events', async () => {
    const hello: Reply<Workload> = await gov.http
      .post('/v1/me/workloads')
      .set('Authorization', as(keys.beta))
      .send({ command: ['/bin/sh', '-c', 'echo hello from beta'] });
    const missing: Reply<Workload> = await gov.http
      .post('/v1/me/workloads')
      .set('Authorization', as(keys.beta))
      .send({ command: ['/no/such/tool'] });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [a, b] = (await Promise.all(
        [hello, missing].map((w) => gov.http.get(`/v1/me/workloads/${w.body.id}`).set('Authorization', as(keys.beta))),
      )) as Reply<Workload>[];
      if (!['starting', 'running'].includes(a.body.state) && !['starting', 'running'].includes(b.body.state)) {
        assert.deepEqual([a.body.state, b.body.state], ['exited', 'failed']);
        break;
      }
      assert.ok(Date.now() < deadline);
      await sleep(100);
    }
    const logs = await gov.http.get(`/v1/me/workloads/${hello.body.id}/logs`).query({ stream: 'stdout' }).set('Authorization', as(keys.beta));
    assert.equal(logs.text.trim(), 'hello from beta');
    const events: Reply<Items<TenantEvent>> = await gov.http.get('/v1/me/events').set('Authorization', as(keys.beta));
    const failed = events.body.items.find((e) => e.kind === 'workload' && e.detail.workload === missing.body.id);
    assert.ok(failed, JSON.stringify(events.body.items));
    assert.match(failed.message, /failed: .*command not found/);
  });
});

describe('repeated authentication failures', () => {
  it('answer 429 with Retry-After once a client has used up its failures, and still let a valid key in', async () => {
    const strict = await startGovernor({ GOVERNOR_AUTH_FAILURES: '3/1m' });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await strict.http.get('/v1/tenants').set('Authorization', 'Bearer wrong-wrong-wrong-wrong')).status, 401);
      const limited: Reply<Problem> = await strict.http.get('/v1/tenants').set('Authorization', 'Bearer wrong-wrong-wrong-wrong');
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60, limited.headers['retry-after']);
      assert.match(limited.body.detail, /too many failed authentications.*retry in \d+s/);
      assert.equal((await strict.http.get('/v1/tenants').set('Authorization', strict.root)).status, 200, 'a valid token is never refused');
      assert.equal((await strict.http.get('/healthz')).status, 200, 'public routes stay open');
    } finally {
      await strict.close();
    }
  });
});
