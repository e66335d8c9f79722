import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RETENTION_JOB, AuditRetention } from '../../apps/governor/src/audit/audit.retention';
import { AuditService } from '../../apps/governor/src/audit/audit.service';
import { countCpus } from '../../apps/governor/src/admission/admission.rules';
import { FleetLeases } from '../../apps/governor/src/leases/fleet-leases.service';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bodyOf, type NodeView, type Problem, type Tenant } from '../support/api';
import { FleetAgent } from '../support/fleet-agent';
import { leaseBackends } from '../support/leases';
import { startGovernor, startReplica, type TestGovernor, type TestReplica } from '../support/governor.harness';
import { waitFor } from '../support/wait';

const DAY = 86_400_000;
const AGENT_TOKEN = 'fleet-test-agent-token-0123456789';
/** Tenant links of this file's agents; the agents' own links are 10.225.N.0/30. */
const NET_POOL = '10.225.128.0/20';

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
    assert.equal(bodyOf<Problem>(res).type, 'urn:governor:problem:route-not-found');
  });

  it('makes two API replicas interchangeable: what one writes, the other reads', async () => {
    await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .send({ name: 'both-sides', quota: { pids: { max: 64 } } })
      .expect(201);
    const read = await replica.http.get('/v1/tenants/both-sides').set('Authorization', gov.root).expect(200);
    assert.equal(bodyOf<Tenant>(read).quota.pids?.max, 64);
    const patched = await replica.http
      .patch('/v1/tenants/both-sides')
      .set('Authorization', gov.root)
      .set('If-Match', String(read.headers.etag))
      .send({ quota: { pids: { max: 128 } } })
      .expect(200);
    const again = await gov.http.get('/v1/tenants/both-sides').set('Authorization', gov.root).expect(200);
    assert.equal(bodyOf<Tenant>(again).quota.pids?.max, 128);
    assert.equal(again.headers.etag, patched.headers.etag);
  });

  it('allocates uid ranges clear of every node’s /etc/subuid and /etc/subgid as its agent registered them', async () => {
    const first = bodyOf<Tenant>(await replica.http.get('/v1/tenants/both-sides').set('Authorization', gov.root).expect(200)).status.uidRange!.start;
    // A host whose /etc/subuid holds the next two blocks of the pool (its agent registered them with its node).
    await gov.query(
      `INSERT INTO nodes (name, role, kernel, cgroup_mode, cgroup_mount, cgroup_root, controllers_available, controllers_missing, features,
                          heartbeat_at, sub_id_ranges)
       VALUES ('subid-host', 'agent', '6.1.0', 'unified', '/sys/fs/cgroup', '/sys/fs/cgroup/governor', '{}', '{}', '{}', now(), $1)`,
      [JSON.stringify([[first + 65536, 2 * 65536]])],
    );
    const created = bodyOf<Tenant>(
      await gov.http
        .post('/v1/tenants')
        .set('Authorization', gov.root)
        .send({ name: 'clear-of-subuid', nodes: ['subid-host'] })
        .expect(201),
    );
    assert.equal(created.status.uidRange!.start, first + 3 * 65536, 'the two blocks in that host’s /etc/subuid are skipped');
    await gov.query(`DELETE FROM nodes WHERE name = 'subid-host'`);
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
    const terminated = await leaseBackends(gov, RETENTION_JOB);
    assert.equal(terminated.length, 1, 'one session holds the retention lock');
    await gov.query('SELECT pg_terminate_backend($1)', [terminated[0]]);

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

interface TenantStatusBody {
  status: { phase: string; conditions: Array<{ reason: string; message: string }>; nodes: Array<{ node: string; phase: string; ready: boolean }> };
}

/** Metric samples of a Prometheus text exposition, keyed by name and labels as written. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) series.set(match[1], Number(match[2]));
  }
  return series;
}

describe('fleet: one API and three agents on hosts of their own', () => {
  const HEARTBEAT_MS = 1000;
  let api: TestGovernor;
  let agents: FleetAgent[] = [];
  const admin = (req: ReturnType<TestGovernor['http']['get']>) => req.set('Authorization', api.root);
  const tenant = async (name: string) => (await admin(api.http.get(`/v1/tenants/${name}`)).expect(200)).body as TenantStatusBody;

  before(async () => {
    api = await startGovernor({ GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_AGENT_TOKEN: AGENT_TOKEN });
    const env = { GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_RESYNC_INTERVAL: '2s' };
    // fleet-c declares a system reservation, which it registers with its capacity.
    const reserving = { ...env, GOVERNOR_SYSTEM_RESERVED: 'cpus=1,memory=256Mi' };
    agents = ['fleet-a', 'fleet-b', 'fleet-c'].map(
      (node, index) =>
        new FleetAgent({ node, index, linkNet: '10.225', databaseUrl: api.databaseUrl, agentToken: AGENT_TOKEN, env: node === 'fleet-c' ? reserving : env }),
    );
    await Promise.all(agents.map((agent) => agent.start()));
  });
  after(async () => {
    for (const agent of agents) await agent.cleanup();
    await api.close();
  });

  it('serves only health, metrics and the agent API in role agent, the agent API only with the agent token', async () => {
    const [a] = agents;
    const doc = (await (await fetch(`${a.url}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/agent/v1/node',
      '/agent/v1/node/rootfs',
      '/agent/v1/tenants/{name}/my-usage',
      '/agent/v1/tenants/{name}/plan',
      '/agent/v1/tenants/{name}/processes',
      '/agent/v1/tenants/{name}/usage',
      '/agent/v1/tenants/{name}/workloads',
      '/agent/v1/tenants/{name}/workloads/{id}',
      '/agent/v1/tenants/{name}/workloads/{id}/logs',
      '/healthz',
      '/readyz',
    ]);
    assert.equal((await fetch(`${a.url}/v1/tenants`, { headers: { Authorization: api.root } })).status, 404);
    assert.equal((await fetch(`${a.url}/agent/v1/node`, { headers: { Authorization: api.root } })).status, 401);
    const node = await fetch(`${a.url}/agent/v1/node`, { headers: { Authorization: `Bearer ${AGENT_TOKEN}` } });
    assert.equal(node.status, 200);
    const body = (await node.json()) as { name: string; agentUrl: string; capacity: { cpus: number; memoryBytes: number } };
    assert.equal(body.name, 'fleet-a');
    assert.equal(body.agentUrl, a.url);
    assert.ok(body.capacity.cpus > 0 && body.capacity.memoryBytes > 0);
  });

  it('lists every agent on /v1/nodes as Ready, with its capacity, agent URL and heartbeat interval', async () => {
    const nodes = (await admin(api.http.get('/v1/nodes')).expect(200)).body as {
      items: Array<{
        name: string;
        role: string;
        status: string;
        agentUrl: string;
        heartbeatIntervalSeconds: number;
        capacity: { cpus: number; cpuList: string | null; reserved: { cpus: number; memoryBytes: number } };
      }>;
    };
    assert.deepEqual(
      nodes.items.map((n) => [n.name, n.role, n.status, n.agentUrl, n.heartbeatIntervalSeconds]),
      agents.map((agent) => [agent.node, 'agent', 'Ready', agent.url, 1]),
    );
    const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    assert.deepEqual(
      nodes.items.map((n) => [n.name, n.capacity.cpuList === null ? null : countCpus(n.capacity.cpuList) === n.capacity.cpus, n.capacity.reserved]),
      [
        ['fleet-a', true, { cpus: 0, memoryBytes: 0 }],
        ['fleet-b', true, { cpus: 0, memoryBytes: 0 }],
        ['fleet-c', true, { cpus: 1, memoryBytes: 256 * 2 ** 20 }],
      ],
      `this machine's CPUs online: ${online}`,
    );
  });

  it('places each tenant on the nodes it lists, or on every node, with a status per node', async () => {
    for (const [name, nodes] of [
      ['only-a', ['fleet-a']],
      ['only-b', ['fleet-b']],
      ['b-and-c', ['fleet-b', 'fleet-c']],
      ['everywhere', []],
    ] as const) {
      await admin(api.http.post('/v1/tenants')).send({ name, nodes }).expect(201);
    }
    for (const [name, hosts] of [
      ['only-a', ['fleet-a']],
      ['only-b', ['fleet-b']],
      ['b-and-c', ['fleet-b', 'fleet-c']],
      ['everywhere', ['fleet-a', 'fleet-b', 'fleet-c']],
    ] as const) {
      let last: TenantStatusBody | undefined;
      const body = await waitFor(
        async () => {
          last = await tenant(name);
          return last.status.phase === 'Ready' ? last : undefined;
        },
        90_000,
        `tenant ${name} Ready`,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${JSON.stringify(last?.status)}`);
      });
      assert.deepEqual(
        body.status.nodes.map((n) => [n.node, n.phase, n.ready]),
        hosts.map((host) => [host, 'Ready', true]),
      );
      for (const agent of agents)
        assert.equal(existsSync(join(agent.scratch.root, 'tenants', name)), hosts.includes(agent.node as never), `${name} on ${agent.node}`);
    }
  });

  it('takes an agent killed with SIGKILL for NotReady within two heartbeats, and says so on its tenants', async (t) => {
    const b = agents[1];
    await b.kill('SIGKILL');
    const killedAt = Date.now();
    const notReadyAfter = await waitFor(
      async () => (bodyOf<NodeView>(await admin(api.http.get('/v1/nodes/fleet-b'))).status === 'NotReady' ? Date.now() - killedAt : undefined),
      10_000,
      'fleet-b NotReady',
    );
    // Two missed heartbeats of 1 s, plus the 200 ms poll and a loaded machine's scheduling.
    t.diagnostic(`fleet-b NotReady ${notReadyAfter} ms after SIGKILL (heartbeat interval ${HEARTBEAT_MS} ms)`);
    assert.ok(notReadyAfter <= 2 * HEARTBEAT_MS + 1500, `NotReady after ${notReadyAfter} ms`);
    const everywhere = await tenant('everywhere');
    assert.equal(everywhere.status.phase, 'Degraded');
    assert.ok(everywhere.status.conditions.some((c) => c.reason === 'NodeNotReady' && c.message.includes('fleet-b')));
    assert.equal((await tenant('only-b')).status.phase, 'Degraded');
    const bAndC = await tenant('b-and-c');
    assert.equal(bAndC.status.phase, 'Degraded');
    assert.deepEqual(
      bAndC.status.nodes.map((n) => [n.node, n.ready]),
      [
        ['fleet-b', false],
        ['fleet-c', true],
      ],
      'the status of each node is its own',
    );
    assert.equal((await tenant('only-a')).status.phase, 'Ready');
    const metrics = await waitFor(
      async () => {
        const series = await scrape(agents[0].url);
        return series.get('governor_node_ready{node="fleet-b"}') === 0 ? series : undefined;
      },
      5000,
      'governor_node_ready 0 for fleet-b',
    );
    assert.equal(metrics.get('governor_node_ready{node="fleet-a"}'), 1);
    assert.equal(metrics.get('governor_node_ready{node="fleet-c"}'), 1);
  });

  it('has the restarted agent Ready again without rewriting a cgroup file', async (t) => {
    const b = agents[1];
    const restartedAt = Date.now();
    await b.start();
    await waitFor(
      async () => (bodyOf<NodeView>(await admin(api.http.get('/v1/nodes/fleet-b'))).status === 'Ready' ? true : undefined),
      10_000,
      'fleet-b Ready',
    );
    t.diagnostic(`fleet-b Ready ${Date.now() - restartedAt} ms after its restart began`);
    // Its first full pass goes over its three tenants; the tenant gauge follows the status rows it wrote.
    const series = await waitFor(
      async () => {
        const seen = await scrape(b.url);
        const passed = (seen.get('governor_reconcile_total{result="success"}') ?? 0) >= 3;
        return passed && seen.get('governor_tenants{state="Ready",node="fleet-b"}') === 3 ? seen : undefined;
      },
      60_000,
      'a full pass of the restarted agent with its three tenants Ready',
    );
    assert.equal(series.get('governor_cgroup_writes_total'), 0);
    for (const name of ['only-b', 'b-and-c', 'everywhere']) assert.equal((await tenant(name)).status.phase, 'Ready', name);
  });
});
