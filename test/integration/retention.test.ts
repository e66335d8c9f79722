import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditService } from '../../apps/governor/src/audit/audit.service';
import { RETENTION_JOB } from '../../apps/governor/src/audit/audit.retention';
import { FleetLeases } from '../../apps/governor/src/leases/fleet-leases.service';
import type { Reply, Tenant } from '../support/api';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

const DAY = 86_400_000;

/**
 * GOVERNOR_RETENTION applies to every table that grows with use: the ledger, the audit log, tenant events,
 * ended workloads and decided quota requests; a running workload, a pending request and anything younger
 * stay. It works in bounded batches, so a first pass over years of rows is many short transactions.
 */
describe('retention', () => {
  let gov: TestGovernor;
  let tenantId: string;

  before(async () => {
    gov = await startGovernor({ GOVERNOR_RETENTION: '30d' });
    const created: Reply<Tenant> = await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'aged' });
    assert.equal(created.status, 201);
    tenantId = created.body.id;
  });
  after(() => gov.close());

  const count = async (table: string, where = 'true'): Promise<number> =>
    (await gov.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`))[0].n;

  it('removes what is older than the retention from every growing table, in batches, and keeps the rest', async () => {
    const old = new Date(Date.now() - 40 * DAY);
    const young = new Date(Date.now() - DAY);
    for (let i = 0; i < 25; i += 1) {
      await gov.query('INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [
        old,
        'admin:root',
        'old.thing',
        'tenants/aged',
        {},
      ]);
      await gov.query(`INSERT INTO tenant_events (tenant_id, at, node, kind, message, detail) VALUES ($1, $2, 'n', 'pids', 'old', '{}')`, [tenantId, old]);
      await gov.query(
        `INSERT INTO workloads (id, tenant_id, node, command, cwd, state, created_by, finished_at) VALUES ($1, $2, 'n', '{/bin/true}', '/', 'exited', 'admin:root', $3)`,
        [`old-${i}`, tenantId, old],
      );
    }
    await gov.query(`INSERT INTO tenant_events (tenant_id, at, node, kind, message, detail) VALUES ($1, $2, 'n', 'pids', 'young', '{}')`, [tenantId, young]);
    await gov.query(
      `INSERT INTO workloads (id, tenant_id, node, command, cwd, state, created_by) VALUES ('running-old', $1, 'n', '{/bin/sleep}', '/', 'running', 'admin:root')`,
      [tenantId],
    );
    await gov.query(
      `INSERT INTO quota_ledger (tenant_id, tenant_name, at, actor, generation, before, after) VALUES ($1, 'aged', $2, 'admin:root', 1, NULL, '{}'::jsonb)`,
      [tenantId, old],
    );
    const auditBefore = await count('audit_log');

    const removed = await pruneUnderLease(gov, 10);
    assert.deepEqual(removed, { audit_log: 25, quota_ledger: 1, tenant_events: 25, workloads: 25, quota_requests: 0 });
    assert.equal(await count('audit_log'), auditBefore - 25, 'the audit rows of this test run are kept');
    assert.equal(await count('tenant_events'), 1, 'the young event stays');
    assert.deepEqual(
      (await gov.query<{ id: string }>('SELECT id FROM workloads')).map((row) => row.id),
      ['running-old'],
      'a running workload stays, however old',
    );
    assert.equal(await count('quota_ledger', `tenant_id = '${tenantId}'`), 1, 'the ledger entry of the create stays');
  });

  it('keeps pending quota requests and removes decided ones past the retention', async () => {
    const insert = (state: string, decided: Date | null) =>
      gov.query(`INSERT INTO quota_requests (tenant_id, patch, reason, state, created_by, decided_at) VALUES ($1, '{}'::jsonb, 'r', $2, 'tenant', $3)`, [
        tenantId,
        state,
        decided,
      ]);
    await insert('approved', new Date(Date.now() - 40 * DAY));
    await insert('rejected', new Date(Date.now() - 40 * DAY));
    await insert('approved', new Date());
    await insert('pending', null);
    const removed = await pruneUnderLease(gov, 1);
    assert.equal(removed.quota_requests, 2);
    assert.deepEqual(
      (await gov.query<{ state: string }>('SELECT state FROM quota_requests ORDER BY state')).map((row) => row.state),
      ['approved', 'pending'],
    );
  });
});

/** One retention pass in batches of `batch`, under the fleet lease as the hourly job runs it. */
async function pruneUnderLease(gov: TestGovernor, batch: number): Promise<Record<string, number>> {
  const removed = await gov.app.get(FleetLeases).run(RETENTION_JOB, (fence) => gov.app.get(AuditService).prune(30 * DAY, fence, batch));
  assert.ok(removed, 'this lone governor holds the retention lease');
  return removed;
}
