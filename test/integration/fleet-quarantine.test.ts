import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FleetLeases } from '../../apps/governor/src/leases/fleet-leases.service';
import { QUARANTINE_RELEASE_JOB, QuarantineRelease } from '../../apps/governor/src/quarantine/quarantine.release';
import { bodyOf, type NodeView, type Tenant } from '../support/api';
import { FleetAgent } from '../support/fleet-agent';
import { startGovernor, startReplica, type TestGovernor, type TestReplica } from '../support/governor.harness';
import { leaseBackends } from '../support/leases';
import { waitFor } from '../support/wait';

const AGENT_TOKEN = 'fleet-quarantine-agent-token-0123456789';
/** This file's pool (10.221.0.0/16): tenant links here, the agents' own links 10.221.40.0/30 and 10.221.41.0/30. */
const NET_POOL = '10.221.128.0/20';
const LINK_NET = '10.221';
/**
 * Long enough that no process runs a pass of its own during the test (the release runs every resync interval):
 * the in-process replicas act when the test calls them, and the agents reconcile on NOTIFY and at start.
 */
const QUIET = { GOVERNOR_RESYNC_INTERVAL: '1h' };

interface AllocationRow {
  quarantined: boolean;
  released_at: Date | null;
}

/**
 * The quarantine release as a fleet-wide job: two API replicas (in-process, so that the test can hold one up
 * mid-pass) and two agents, each on a host of its own. A tenant on both agents is deleted while one of them is
 * away: its blocks wait in quarantine until that node is back and has torn it down, and only the holder of
 * the job's lease releases them; a holder whose lease session is terminated is refused by the fence.
 */
describe('fleet: quarantine release under a lease with a fencing token', () => {
  let gov: TestGovernor;
  let replica: TestReplica;
  let agents: FleetAgent[] = [];
  let tenantId: string;
  let holderToken: number;
  const admin = <T extends { set(name: string, value: string): T }>(req: T): T => req.set('Authorization', gov.root);
  const allocation = async () =>
    (
      await gov.query<AllocationRow>('SELECT quarantined_at IS NOT NULL AS quarantined, released_at FROM tenant_allocations WHERE tenant_id = $1', [tenantId])
    )[0];
  const lease = async () =>
    (await gov.query<{ holder: string; token: string }>('SELECT holder, token FROM fleet_leases WHERE name = $1', [QUARANTINE_RELEASE_JOB]))[0];

  before(async () => {
    const common = { GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_AGENT_TOKEN: AGENT_TOKEN, ...QUIET };
    gov = await startGovernor(common);
    replica = await startReplica(gov, common);
    agents = ['fleetlease-a', 'fleetlease-b'].map(
      (node, index) => new FleetAgent({ node, index: 40 + index, linkNet: LINK_NET, databaseUrl: gov.databaseUrl, agentToken: AGENT_TOKEN, env: common }),
    );
    await Promise.all(agents.map((agent) => agent.start()));
  });
  after(async () => {
    for (const agent of agents) await agent.cleanup();
    await replica.close();
    await gov.close();
  });

  it('releases nothing while a node that hosted the deleted tenant has not torn it down', async () => {
    const [a, b] = agents;
    // The first replica to run a pass takes the lease.
    assert.deepEqual(await gov.app.get(QuarantineRelease).pass(), []);
    holderToken = gov.app.get(FleetLeases).tokenOf(QUARANTINE_RELEASE_JOB)!;
    assert.deepEqual(await lease(), { holder: gov.app.get(FleetLeases).holder, token: String(holderToken) });
    assert.equal(await replica.app.get(QuarantineRelease).pass(), undefined, 'the other replica does not hold the lease');

    tenantId = bodyOf<Tenant>(
      await admin(gov.http.post('/v1/tenants'))
        .send({ name: 'held', nodes: [a.node, b.node] })
        .expect(201),
    ).id;
    await waitFor(
      async () => {
        const { status } = bodyOf<Tenant>(await admin(gov.http.get('/v1/tenants/held')));
        return status.phase === 'Ready' ? true : undefined;
      },
      90_000,
      'held Ready on both nodes',
    );

    // fleetlease-b goes away, long enough to be taken as gone (its heartbeat aged past five minutes), so that
    // fleetlease-a alone tears the tenant down and tombstones it.
    await b.kill('SIGKILL');
    await gov.query(`UPDATE nodes SET heartbeat_at = now() - interval '10 minutes' WHERE name = $1`, [b.node]);
    await waitFor(async () => (bodyOf<NodeView>(await admin(gov.http.get(`/v1/nodes/${b.node}`))).status === 'NotReady' ? true : undefined), 10_000);
    await admin(gov.http.delete('/v1/tenants/held')).expect(202);
    await waitFor(async () => ((await admin(gov.http.get('/v1/tenants/held'))).status === 404 ? true : undefined), 60_000, 'held tombstoned by fleetlease-a');
    assert.equal(existsSync(join(a.scratch.root, 'tenants', 'held')), false, 'fleetlease-a tore it down');
    assert.equal(existsSync(join(b.scratch.root, 'tenants', 'held')), true, 'fleetlease-b, away, still has it');
    const statuses = await gov.query<{ node: string; phase: string }>('SELECT node, phase FROM tenant_statuses WHERE tenant_id = $1 ORDER BY node', [tenantId]);
    assert.deepEqual(
      statuses.map((row) => [row.node, row.phase]),
      [
        [a.node, 'Deleted'],
        [b.node, 'Ready'],
      ],
    );

    assert.deepEqual(await gov.app.get(QuarantineRelease).pass(), [], 'the holder releases nothing while fleetlease-b has not confirmed');
    assert.deepEqual(await allocation(), { quarantined: true, released_at: null });
  });

  it('refuses the release of a holder whose lease backend was terminated, and has the new holder release the blocks once', async () => {
    const [, b] = agents;
    const deposed = gov.app;
    // The holder starts a pass and is held up before its transaction, as a long GC pause or a slow disk would.
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const deposedPass = deposed.get(FleetLeases).run(QUARANTINE_RELEASE_JOB, async (fence) => {
      started();
      await paused;
      return deposed.get(QuarantineRelease).release(fence);
    });
    await running;

    // Its lease session is terminated: the advisory lock goes with it, and the other replica takes the lease.
    const backends = await leaseBackends(gov, QUARANTINE_RELEASE_JOB);
    assert.equal(backends.length, 1, 'one session holds the quarantine-release lock');
    await gov.query('SELECT pg_terminate_backend($1)', [backends[0]]);
    assert.deepEqual(await waitFor(async () => replica.app.get(QuarantineRelease).pass(), 10_000, 'the other replica takes the lease'), []);
    assert.deepEqual(await lease(), { holder: replica.app.get(FleetLeases).holder, token: String(holderToken + 1) });
    assert.deepEqual(await allocation(), { quarantined: true, released_at: null }, 'the new holder too waits for fleetlease-b');

    // fleetlease-b comes back and tears the tenant down: the blocks are releasable now.
    await b.start();
    await waitFor(
      async () => {
        const [row] = await gov.query<{ phase: string }>('SELECT phase FROM tenant_statuses WHERE tenant_id = $1 AND node = $2', [tenantId, b.node]);
        return (row === undefined || row.phase === 'Deleted') && !existsSync(join(b.scratch.root, 'tenants', 'held')) ? true : undefined;
      },
      60_000,
      'fleetlease-b confirms its teardown',
    );
    assert.deepEqual(await allocation(), { quarantined: true, released_at: null }, 'an agent confirms its own teardown and releases nothing');

    // The deposed holder wakes up: its release fails the fence check in its transaction, and releases nothing.
    resume();
    assert.equal(await deposedPass, undefined, 'the deposed pass stops at its fence check');
    assert.equal(deposed.get(FleetLeases).tokenOf(QUARANTINE_RELEASE_JOB), undefined);
    assert.deepEqual(await allocation(), { quarantined: true, released_at: null });
    assert.equal(await deposed.get(QuarantineRelease).pass(), undefined, 'its next pass finds the lease held elsewhere');

    // The new holder releases them, once.
    assert.deepEqual(await replica.app.get(QuarantineRelease).pass(), [{ tenantId, name: 'held' }]);
    const released = await allocation();
    assert.ok(released.released_at instanceof Date);
    assert.deepEqual(await replica.app.get(QuarantineRelease).pass(), [], 'a released block is not released again');
    assert.equal(await deposed.get(QuarantineRelease).pass(), undefined);
    assert.deepEqual(await allocation(), released);
  });
});
