import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RETENTION_JOB, AuditRetention } from '../../apps/governor/src/audit/audit.retention';
import { AuditService } from '../../apps/governor/src/audit/audit.service';
import { FleetLeases } from '../../apps/governor/src/leases/fleet-leases.service';
import { startGovernor, startReplica, type TestGovernor, type TestReplica } from '../support/governor.harness';

const DAY = 86_400_000;
const AGENT_TOKEN = 'fleet-test-agent-token-0123456789';

/** Paths of a served OpenAPI document. */
async function documentedPaths(http: TestGovernor['http']): Promise<string[]> {
  const res = await http.get('/docs/openapi.json').expect(200);
  return Object.keys((res.body as { paths: Record<string, unknown> }).paths);
}

describe('fleet: API replicas and the fleet-wide jobs', () => {
  let gov: TestGovernor;
  let replica: TestReplica;

  before(async () => {
    gov = await startGovernor({ GOVERNOR_RETENTION: '30d', GOVERNOR_AGENT_TOKEN: AGENT_TOKEN });
    replica = await startReplica(gov, { GOVERNOR_RETENTION: '30d' });
  });
  after(async () => {
    await replica.close();
    await gov.close();
  });

  it('serves the REST API in role api, and no agent API: absent from its document, and 404', async () => {
    const paths = await documentedPaths(gov.http);
    assert.ok(paths.includes('/v1/tenants'));
    assert.ok(paths.includes('/v1/nodes'));
    assert.deepEqual(
      paths.filter((path) => path.startsWith('/agent')),
      [],
    );
    const res = await gov.http.get('/agent/v1/node').set('Authorization', `Bearer ${AGENT_TOKEN}`);
    assert.equal(res.status, 404);
    assert.equal(res.body.type, 'urn:governor:problem:route-not-found');
  });

  it('makes two API replicas interchangeable: what one writes, the other reads', async () => {
    await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .send({ name: 'both-sides', quota: { pids: { max: 64 } } })
      .expect(201);
    const read = await replica.http.get('/v1/tenants/both-sides').set('Authorization', gov.root).expect(200);
    assert.equal(read.body.quota.pids.max, 64);
    const patched = await replica.http
      .patch('/v1/tenants/both-sides')
      .set('Authorization', gov.root)
      .set('If-Match', read.headers.etag as string)
      .send({ quota: { pids: { max: 128 } } })
      .expect(200);
    const again = await gov.http.get('/v1/tenants/both-sides').set('Authorization', gov.root).expect(200);
    assert.equal(again.body.quota.pids.max, 128);
    assert.equal(again.headers.etag, patched.headers.etag);
  });

  const agedAudit = async (n: number, action: string) => {
    for (let i = 0; i < n; i += 1) {
      await gov.query('INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [
        new Date(Date.now() - 40 * DAY),
        'admin:root',
        action,
        'tenants/aged',
        {},
      ]);
    }
  };
  const count = async (action: string) => (await gov.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log WHERE action = $1', [action]))[0].n;

  it('runs retention on one replica of the fleet at a time', async () => {
    await agedAudit(5, 'aged.one');
    const passes = await Promise.all([gov.app.get(AuditRetention).prune(), replica.app.get(AuditRetention).prune()]);
    assert.equal(passes.filter((pass) => pass !== undefined).length, 1, 'exactly one replica holds the retention lease');
    assert.equal(passes.find((pass) => pass !== undefined)?.audit_log, 5);
    assert.equal(await count('aged.one'), 0);
  });

  it('stops a deposed lease holder from acting, and lets another replica take over with a higher token', async () => {
    const apps = [gov.app, replica.app];
    const holderIndex = apps.findIndex((app) => app.get(FleetLeases).tokenOf(RETENTION_JOB) !== undefined);
    assert.notEqual(holderIndex, -1);
    const holder = apps[holderIndex];
    const other = apps[1 - holderIndex];
    const token = holder.get(FleetLeases).tokenOf(RETENTION_JOB)!;
    const [row] = await gov.query<{ holder: string; token: string }>('SELECT holder, token FROM fleet_leases WHERE name = $1', [RETENTION_JOB]);
    assert.deepEqual(row, { holder: holder.get(FleetLeases).holder, token: String(token) });

    // The holder starts a pass and is held up before its first batch, as a long GC pause or a slow disk would.
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const deposedPass = holder.get(FleetLeases).run(RETENTION_JOB, async (fence) => {
      started();
      await paused;
      return holder.get(AuditService).prune(30 * DAY, fence);
    });
    await running;

    // Its lease session is terminated: the advisory lock goes with it.
    const terminated = await gov.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [0x67760003],
    );
    assert.equal(terminated.length, 1, 'one session holds the retention lock');
    await gov.query('SELECT pg_terminate_backend($1)', [terminated[0].pid]);

    await agedAudit(3, 'aged.two');
    const takeover = await waitFor(async () => other.get(AuditRetention).prune(), 10_000);
    assert.equal(takeover.audit_log, 3, 'the new holder prunes');
    assert.equal(other.get(FleetLeases).tokenOf(RETENTION_JOB), token + 1);

    // What the deposed holder still does fails its fence check: it deletes nothing.
    await agedAudit(4, 'aged.three');
    resume();
    assert.equal(await deposedPass, undefined, 'the deposed pass stops at its first fence check');
    assert.equal(await count('aged.three'), 4);
    assert.equal(holder.get(FleetLeases).tokenOf(RETENTION_JOB), undefined);
    // Its next hourly pass finds the lease held elsewhere.
    assert.equal(await holder.get(AuditRetention).prune(), undefined);
    assert.equal(await count('aged.three'), 4);
    assert.equal((await other.get(AuditRetention).prune())?.audit_log, 4);
  });
});

/** Polls `probe` until it gives something other than undefined, or fails after `timeoutMs`. */
async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
