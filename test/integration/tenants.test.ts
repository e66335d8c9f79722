import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import type { AuditEntry, Items, LedgerEntry, Problem, Reply, Tenant } from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';
import { TenantsRepository } from '../../apps/governor/src/tenants/tenants.repository';

let gov: TestGovernor;
before(async () => {
  gov = await startGovernor();
});
after(async () => {
  await gov?.close();
});

const PROBLEM = /^application\/problem\+json/;

async function createTenant(name: string, extra: Record<string, unknown> = {}): Promise<Reply<Tenant>> {
  const res: Reply<Tenant> = await gov.http
    .post('/v1/tenants')
    .set('Authorization', gov.root)
    .send({ name, ...extra });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res;
}

describe('creating tenants', () => {
  it('answers 201 with the canonical quota, an ETag and a Location', async () => {
    const res = await createTenant('acme', {
      displayName: 'Acme Corp',
      quota: {
        cpu: { max: 1.5, period: '100ms', weight: 100, burst: '20ms' },
        memory: { max: '512Mi', high: '480Mi', low: '64Mi', min: '0', swapMax: '0' },
        pids: { max: 256 },
        io: { weight: 100, limits: [{ device: '8:0', rbps: '50M', wbps: '20M', riops: 1000, wiops: 500 }] },
        cpuset: { cpus: '1,0', mems: '0' },
        network: { ingress: '100Mbit', egress: '50Mbit' },
      },
    });
    assert.equal(res.headers.etag, '"1"');
    assert.equal(res.headers.location, '/v1/tenants/acme');
    assert.deepEqual(res.body.quota, {
      cpu: { max: '1.5', period: '100ms', weight: 100, burst: '20ms' },
      memory: { max: 536870912, high: 503316480, low: 67108864, min: 0, swapMax: 0 },
      pids: { max: 256 },
      io: { weight: 100, limits: [{ device: '8:0', rbps: 50000000, wbps: 20000000, riops: 1000, wiops: 500 }] },
      cpuset: { cpus: '0-1', mems: '0' },
      network: { ingress: 100000000, egress: 50000000 },
    });
    assert.equal(res.body.generation, 1);
    assert.equal(res.body.resourceVersion, 1);
    assert.equal(res.body.status.phase, 'Pending');
    assert.equal(res.body.status.observedGeneration, 0);
  });

  it('keeps "max" as an explicit unlimited', async () => {
    const res = await createTenant('unlimited', { quota: { memory: { max: 'max' }, cpu: { max: 'max' }, pids: { max: 'max' } } });
    assert.deepEqual(res.body.quota, { cpu: { max: 'max' }, memory: { max: 'max' }, pids: { max: 'max' } });
  });

  it('answers 409 for a name that exists', async () => {
    await createTenant('dup');
    const res: Reply<Problem> = await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'dup' });
    assert.equal(res.status, 409);
    assert.match(res.headers['content-type'], PROBLEM);
    assert.match(res.body.detail, /exists/);
  });

  it('answers 400 naming every bad field and what is allowed', async () => {
    const res: Reply<Problem> = await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .send({ name: 'Bad_Name', quota: { memory: { max: '64Mi', high: '128Mi' }, cpu: { weight: 0 } }, colour: 'red' });
    assert.equal(res.status, 400);
    assert.match(res.headers['content-type'], PROBLEM);
    const paths = res.body.errors.map((e) => e.path).sort();
    assert.ok(paths.includes('name'), JSON.stringify(res.body.errors));
    assert.ok(paths.includes('colour'), JSON.stringify(res.body.errors));
    assert.ok(paths.includes('quota.cpu.weight'), JSON.stringify(res.body.errors));
    assert.ok(
      paths.some((p) => p.startsWith('quota.memory.')),
      JSON.stringify(res.body.errors),
    );
    for (const error of res.body.errors) assert.ok(error.message.length > 10, `a useful message for ${error.path}`);
    assert.deepEqual(Object.keys(res.body).sort(), ['detail', 'errors', 'requestId', 'status', 'title', 'type']);
  });

  it('answers 400 for malformed JSON, never 500', async () => {
    const res: Reply<Problem> = await gov.http.post('/v1/tenants').set('Authorization', gov.root).set('Content-Type', 'application/json').send('{"name": ');
    assert.equal(res.status, 400);
    assert.match(res.headers['content-type'], PROBLEM);
    assert.match(res.body.detail, /not valid JSON/);
  });

  it('answers 400 for a body that is not an object', async () => {
    const res = await gov.http.post('/v1/tenants').set('Authorization', gov.root).set('Content-Type', 'application/json').send('[1,2]');
    assert.equal(res.status, 400);
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const res = await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'big', displayName: 'x'.repeat(1024 * 1024) }));
    assert.equal(res.status, 413);
    assert.match(res.headers['content-type'], PROBLEM);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res: Reply<Problem> = await gov.http.post('/v1/tenants').set('Authorization', gov.root).set('Content-Type', 'text/plain').send('name=acme');
    assert.equal(res.status, 415);
    assert.match(res.body.detail, /application\/json/);
  });

  it('gives 100 concurrent creates through the API 100 disjoint uid ranges and address blocks', async () => {
    const names = Array.from({ length: 100 }, (_, i) => `crowd-${i}`);
    const created: Reply<Tenant>[] = await Promise.all(names.map((name) => gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name })));
    assert.deepEqual(
      created.filter((res) => res.status !== 201).map((res) => res.body),
      [],
    );
    const ranges = created.map((res) => res.body.status.uidRange as { start: number; size: number }).sort((x, y) => x.start - y.start);
    for (let i = 1; i < ranges.length; i++)
      assert.ok(ranges[i - 1].start + ranges[i - 1].size <= ranges[i].start, `${i}: ${JSON.stringify(ranges.slice(i - 1, i + 1))}`);
    const addresses = created.flatMap((res) => [res.body.status.network?.address, res.body.status.network?.gateway]);
    assert.equal(new Set(addresses).size, 200);
    const deleted: Reply<unknown>[] = await Promise.all(names.map((name) => gov.http.delete(`/v1/tenants/${name}`).set('Authorization', gov.root)));
    assert.deepEqual(
      deleted.filter((res) => res.status !== 202).map((res) => res.body),
      [],
    );
  });
});

describe('reading tenants', () => {
  it('answers 404 for a tenant that does not exist', async () => {
    const res = await gov.http.get('/v1/tenants/nobody-here').set('Authorization', gov.root);
    assert.equal(res.status, 404);
    assert.match(res.headers['content-type'], PROBLEM);
  });

  it('pages through every tenant in name order without overlaps or gaps', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    for (const name of [...names].reverse()) await createTenant(name);
    const seen: string[] = [];
    let cursor: string | null = null as string | null;
    do {
      const res: Reply<Items<Tenant> & { nextCursor: string | null }> = await gov.http
        .get('/v1/tenants')
        .query({ limit: 5, ...(cursor ? { cursor } : {}) })
        .set('Authorization', gov.root);
      assert.equal(res.status, 200);
      assert.ok(res.body.items.length <= 5);
      seen.push(...res.body.items.map((t) => t.name));
      cursor = res.body.nextCursor;
    } while (cursor);
    const pages = seen.filter((name) => name.startsWith('page-'));
    assert.deepEqual(pages, names);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(new Set(seen).size, seen.length);
  });

  it('reads several names in one statement, each its own live tenant, and leaves out a name with none', async () => {
    const names = ['together-a', 'together-b', 'together-c'];
    for (const name of names) await createTenant(name, { displayName: `Display ${name}` });
    const records = await gov.app.get(TenantsRepository).findRecords(['together-c', 'nobody-here', 'together-a', 'together-b']);
    assert.deepEqual([...records.keys()].sort(), names);
    for (const [name, record] of records) {
      assert.equal(record.tenant.name, name);
      assert.equal(record.tenant.displayName, `Display ${name}`);
      assert.ok(record.allocation !== undefined, `${name} has its allocation`);
    }
  });

  it('answers GETs that arrive together each with its own tenant, a 404 for a missing one, and what was committed before', async () => {
    const names = ['together-d', 'together-e', 'together-f'];
    for (const name of names) await createTenant(name, { displayName: `Display ${name}` });
    const patched: Reply<Tenant> = await gov.http.patch('/v1/tenants/together-e').set('Authorization', gov.root).send({ displayName: 'Renamed' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.headers.etag, '"2"');
    const asked = [...names, 'nobody-here', ...names, 'together-e'];
    const answers: Array<Reply<Tenant>> = await Promise.all(asked.map((name) => gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root)));
    for (const [i, name] of asked.entries()) {
      const res = answers[i];
      if (name === 'nobody-here') {
        assert.equal(res.status, 404);
        assert.match(res.headers['content-type'], PROBLEM);
        continue;
      }
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.name, name);
      assert.equal(res.body.displayName, name === 'together-e' ? 'Renamed' : `Display ${name}`);
      assert.equal(res.headers.etag, name === 'together-e' ? '"2"' : '"1"');
    }
  });

  it('answers 400 for a cursor it did not issue and for a bad limit', async () => {
    for (const query of [
      { cursor: 'not a cursor' },
      { cursor: Buffer.from('../etc').toString('base64url') },
      { limit: '0' },
      { limit: '501' },
      { limit: 'ten' },
    ]) {
      const res = await gov.http.get('/v1/tenants').query(query).set('Authorization', gov.root);
      assert.equal(res.status, 400, JSON.stringify(query));
      assert.match(res.headers['content-type'], PROBLEM);
    }
  });
});

describe('patching tenants', () => {
  it('merges a patch: null removes a field, absent fields stay', async () => {
    await createTenant('merge', { displayName: 'Merge', quota: { memory: { max: '1Gi', high: '900Mi' }, pids: { max: 100 } } });
    const res: Reply<Tenant> = await gov.http
      .patch('/v1/tenants/merge')
      .set('Authorization', gov.root)
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ quota: { memory: { high: null }, cpu: { max: '0.5' } }, displayName: null }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.quota, { cpu: { max: '0.5' }, memory: { max: 1073741824 }, pids: { max: 100 } });
    assert.equal(res.body.displayName, null);
  });

  it('also takes application/json', async () => {
    await createTenant('plain-json');
    const res: Reply<Tenant> = await gov.http
      .patch('/v1/tenants/plain-json')
      .set('Authorization', gov.root)
      .send({ quota: { pids: { max: 10 } } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.quota, { pids: { max: 10 } });
  });

  it('bumps the generation only for what agents enforce, and the resourceVersion for any change', async () => {
    await createTenant('versions');
    const named: Reply<Tenant> = await gov.http.patch('/v1/tenants/versions').set('Authorization', gov.root).send({ displayName: 'Versions' });
    assert.equal(named.body.generation, 1);
    assert.equal(named.body.resourceVersion, 2);
    assert.equal(named.headers.etag, '"2"');
    const quota: Reply<Tenant> = await gov.http
      .patch('/v1/tenants/versions')
      .set('Authorization', gov.root)
      .send({ quota: { cpu: { weight: 50 } } });
    assert.equal(quota.body.generation, 2);
    assert.equal(quota.body.resourceVersion, 3);
    const same: Reply<Tenant> = await gov.http
      .patch('/v1/tenants/versions')
      .set('Authorization', gov.root)
      .send({ quota: { cpu: { weight: 50 } } });
    assert.equal(same.body.resourceVersion, 3, 'a patch that changes nothing bumps nothing');
    const suspended: Reply<Tenant> = await gov.http.patch('/v1/tenants/versions').set('Authorization', gov.root).send({ suspended: true });
    assert.equal(suspended.body.generation, 3);
    assert.equal(suspended.body.suspended, true);
  });

  it('answers 412 to a stale If-Match, also for a displayName-only change', async () => {
    await createTenant('stale');
    const fresh = await gov.http.get('/v1/tenants/stale').set('Authorization', gov.root);
    const etag = fresh.headers.etag;
    const first = await gov.http.patch('/v1/tenants/stale').set('Authorization', gov.root).set('If-Match', etag).send({ displayName: 'One' });
    assert.equal(first.status, 200);
    const second = await gov.http.patch('/v1/tenants/stale').set('Authorization', gov.root).set('If-Match', etag).send({ displayName: 'Two' });
    assert.equal(second.status, 412);
    assert.match(second.headers['content-type'], PROBLEM);
    const current: Reply<Tenant> = await gov.http.get('/v1/tenants/stale').set('Authorization', gov.root);
    assert.equal(current.body.displayName, 'One');
  });

  it('never loses an update when patches race', async () => {
    await createTenant('race');
    const patches = [
      { quota: { cpu: { weight: 7 } } },
      { quota: { pids: { max: 77 } } },
      { quota: { memory: { max: '1Gi' } } },
      { quota: { memory: { low: '1Mi' } } },
      { quota: { cpuset: { cpus: '0' } } },
      { quota: { network: { ingress: '1Mbit' } } },
      { quota: { network: { egress: '2Mbit' } } },
      { quota: { io: { weight: 300 } } },
      { displayName: 'Raced' },
      { quota: { cpu: { max: '2' } } },
    ];
    const results = await Promise.all(patches.map((patch) => gov.http.patch('/v1/tenants/race').set('Authorization', gov.root).send(patch)));
    for (const res of results) assert.equal(res.status, 200, JSON.stringify(res.body));
    const final: Reply<Tenant> = await gov.http.get('/v1/tenants/race').set('Authorization', gov.root);
    assert.deepEqual(final.body.quota, {
      cpu: { max: '2', weight: 7 },
      memory: { max: 1073741824, low: 1048576 },
      pids: { max: 77 },
      io: { weight: 300 },
      cpuset: { cpus: '0' },
      network: { ingress: 1000000, egress: 2000000 },
    });
    assert.equal(final.body.displayName, 'Raced');
    assert.equal(final.body.resourceVersion, 1 + patches.length);
    const ledger = await gov.query('SELECT count(*)::int AS n FROM quota_ledger l JOIN tenants t ON t.id = l.tenant_id WHERE t.name = $1', ['race']);
    assert.equal(ledger[0].n, 1 + patches.length - 1, 'one ledger row per quota change plus the create');
  });

  it('lets exactly one of several patches with the same If-Match through', async () => {
    await createTenant('one-wins');
    const etag = (await gov.http.get('/v1/tenants/one-wins').set('Authorization', gov.root)).headers.etag;
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        gov.http
          .patch('/v1/tenants/one-wins')
          .set('Authorization', gov.root)
          .set('If-Match', etag)
          .send({ quota: { pids: { max: n } } }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 412, 412, 412, 412]);
  });

  it('answers 400 to an invalid result and changes nothing', async () => {
    await createTenant('invalid-patch', { quota: { memory: { max: '1Gi' } } });
    const res: Reply<Problem> = await gov.http
      .patch('/v1/tenants/invalid-patch')
      .set('Authorization', gov.root)
      .send({ quota: { memory: { high: '2Gi' } } });
    assert.equal(res.status, 400);
    assert.ok(res.body.errors.some((e) => e.path.startsWith('quota.memory')));
    const unknown: Reply<Problem> = await gov.http.patch('/v1/tenants/invalid-patch').set('Authorization', gov.root).send({ name: 'renamed' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0].path, 'name');
    const current: Reply<Tenant> = await gov.http.get('/v1/tenants/invalid-patch').set('Authorization', gov.root);
    assert.equal(current.body.resourceVersion, 1);
  });

  it('answers 404 to a patch of a missing tenant', async () => {
    const res = await gov.http.patch('/v1/tenants/missing').set('Authorization', gov.root).send({ displayName: 'x' });
    assert.equal(res.status, 404);
  });
});

describe('the ledger, the audit and change notifications', () => {
  it('records who changed a quota, before and after', async () => {
    await createTenant('ledger', { quota: { pids: { max: 10 } } });
    await gov.http
      .patch('/v1/tenants/ledger')
      .set('Authorization', gov.root)
      .send({ quota: { pids: { max: 20 } } });
    const res: Reply<Items<LedgerEntry>> = await gov.http.get('/v1/tenants/ledger/history').set('Authorization', gov.root);
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 2);
    const [latest, first] = res.body.items;
    assert.deepEqual(
      { actor: latest.actor, before: latest.before, after: latest.after, generation: latest.generation },
      { actor: 'admin:root', before: { pids: { max: 10 } }, after: { pids: { max: 20 } }, generation: 2 },
    );
    assert.deepEqual({ before: first.before, after: first.after }, { before: null, after: { pids: { max: 10 } } });
  });

  it('refuses to rewrite the ledger or the audit log', async () => {
    await createTenant('append-only');
    await assert.rejects(gov.query(`UPDATE quota_ledger SET actor = 'someone'`), /append-only/);
    await assert.rejects(gov.query('DELETE FROM audit_log'), /append-only/);
  });

  it('audits each change with the acting token and the request id', async () => {
    const res = await createTenant('audited');
    const requestId = res.headers['x-request-id'];
    assert.ok(requestId);
    const audit: Reply<Items<AuditEntry>> = await gov.http.get('/v1/audit').query({ target: 'tenants/audited' }).set('Authorization', gov.root);
    assert.equal(audit.status, 200);
    assert.equal(audit.body.items.length, 1);
    assert.deepEqual(
      { actor: audit.body.items[0].actor, action: audit.body.items[0].action, requestId: audit.body.items[0].requestId },
      { actor: 'admin:root', action: 'tenant.create', requestId },
    );
  });

  it('notifies governor_changes in the same transaction, only for enforced changes', async () => {
    const listener = new Client({ connectionString: gov.databaseUrl });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (n) => payloads.push(n.payload ?? ''));
    await listener.query('LISTEN governor_changes');
    try {
      await createTenant('notified');
      await gov.http.patch('/v1/tenants/notified').set('Authorization', gov.root).send({ displayName: 'only a label' });
      await gov.http
        .patch('/v1/tenants/notified')
        .set('Authorization', gov.root)
        .send({ quota: { pids: { max: 5 } } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(
        payloads.filter((p) => p === 'notified'),
        ['notified', 'notified'],
      );
    } finally {
      await listener.end();
    }
  });
});

describe('deleting tenants', () => {
  it('answers 202 Terminating, then 404, and frees the name while the history stays', async () => {
    const created = await createTenant('doomed', { quota: { pids: { max: 3 } } });
    const res: Reply<Tenant> = await gov.http.delete('/v1/tenants/doomed').set('Authorization', gov.root);
    assert.equal(res.status, 202);
    assert.equal(res.body.status.phase, 'Terminating');
    assert.equal((await gov.http.get('/v1/tenants/doomed').set('Authorization', gov.root)).status, 404);
    assert.equal((await gov.http.delete('/v1/tenants/doomed').set('Authorization', gov.root)).status, 404);
    const again = await createTenant('doomed');
    assert.notEqual(again.body.id, created.body.id);
    const ledger = await gov.query<{ after: unknown }>('SELECT after FROM quota_ledger WHERE tenant_id = $1 ORDER BY id', [created.body.id]);
    assert.deepEqual(
      ledger.map((row) => row.after),
      [{ pids: { max: 3 } }, null],
    );
  });
});

describe("errors that are not the caller's", () => {
  it('answers 500 with a request id that matches the response header', async () => {
    await gov.query('ALTER TABLE tenants RENAME TO tenants_away');
    try {
      const res: Reply<Problem> = await gov.http.get('/v1/tenants').set('Authorization', gov.root);
      assert.equal(res.status, 500);
      assert.match(res.headers['content-type'], PROBLEM);
      assert.equal(res.body.requestId, res.headers['x-request-id']);
      assert.doesNotMatch(res.body.detail, /tenants/, 'no internals leak');
    } finally {
      await gov.query('ALTER TABLE tenants_away RENAME TO tenants');
    }
  });
});
