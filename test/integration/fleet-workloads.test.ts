import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bodyOf, type IssuedKey, type NodeView, type Problem, type Workload } from '../support/api';
import { HostAccess } from '../../apps/governor/src/host/host.access';
import { FleetAgent } from '../support/fleet-agent';
import { startGovernor, startReplica, type TestGovernor, type TestReplica } from '../support/governor.harness';
import { waitFor } from '../support/wait';

/** GET /v1/me/usage in role api. */
interface MyUsageBody {
  node: string;
  usage: { cpu: { usageSeconds?: number } };
  history: { intervalSeconds: number; points: Array<{ cpuCores?: number }> };
  nodes: Array<{
    node: string;
    usage?: { cpu: { usageSeconds?: number } };
    network?: { receiveBytes: number } | null;
    history?: { points: Array<{ cpuCores?: number }> };
    error?: { status: number; detail: string };
  }>;
}

const AGENT_TOKEN = 'fleet-workloads-agent-token-0123456789';
/** Tenant links of this file's agents; the agents' own links are 10.224.N.0/30. */
const NET_POOL = '10.224.128.0/20';
const LINK_NET = '10.224';
/** wl-c's address on its link (index 22), which its certificate names. */
const TLS_ADDRESS = `${LINK_NET}.22.2`;

/** A CA, and a certificate of the https agent's address signed by it, in `dir`. */
function makeCertificates(dir: string): void {
  const run = (args: string[]) => {
    const done = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (done.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${done.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=governor test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'agent.key', '-out', 'agent.csr', '-subj', '/CN=wl-c']);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${TLS_ADDRESS}\n`);
  run(['x509', '-req', '-in', 'agent.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'agent.pem', '-days', '1', '-extfile', 'ext.cnf']);
}

/**
 * One api and three agents, each in a network namespace of its own, sharing one fleet across the file. wl-c
 * serves its agent API over https with a certificate of a CA the test makes; the api verifies it against that
 * CA (GOVERNOR_AGENT_CA), and a replica without the CA cannot reach it.
 */
describe('fleet: workloads through the API, run by the owning agent of three', () => {
  let dir: string;
  let api: TestGovernor;
  let plain: TestReplica;
  let agents: FleetAgent[] = [];
  let tenantKey: IssuedKey;
  const admin = <T extends { set(name: string, value: string): T }>(req: T): T => req.set('Authorization', api.root);
  const leaf = (agent: FleetAgent, tenant: string, id: string) => join(agent.scratch.root, 'tenants', tenant, 'workloads', id);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'governor-agent-ca-'));
    makeCertificates(dir);
    const common = { GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_AGENT_TOKEN: AGENT_TOKEN };
    api = await startGovernor({ ...common, GOVERNOR_AGENT_CA: join(dir, 'ca.pem') });
    plain = await startReplica(api, common);
    const env = { GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_RESYNC_INTERVAL: '2s', GOVERNOR_USAGE_SAMPLE_INTERVAL: '5s' };
    const tls = { GOVERNOR_TLS_CERT: join(dir, 'agent.pem'), GOVERNOR_TLS_KEY: join(dir, 'agent.key') };
    agents = ['wl-a', 'wl-b', 'wl-c'].map(
      (node, index) =>
        new FleetAgent({
          node,
          index: 20 + index,
          linkNet: LINK_NET,
          databaseUrl: api.databaseUrl,
          agentToken: AGENT_TOKEN,
          env: node === 'wl-c' ? { ...env, ...tls } : env,
        }),
    );
    await Promise.all(agents.map((agent) => agent.start()));
    await admin(api.http.post('/v1/tenants')).send({ name: 'jobs', nodes: [] }).expect(201);
    await waitFor(
      async () => {
        const body = (await admin(api.http.get('/v1/tenants/jobs')).expect(200)).body as { status: { phase: string; nodes: unknown[] } };
        return body.status.phase === 'Ready' && body.status.nodes.length === 3 ? true : undefined;
      },
      90_000,
      'tenant jobs Ready on its three nodes',
    );
    tenantKey = bodyOf<IssuedKey>(await admin(api.http.post('/v1/tenants/jobs/keys')).send({ name: 'self-service' }).expect(201));
  });
  after(async () => {
    for (const agent of agents) await agent.cleanup();
    await plain.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (id: string) => bodyOf<Workload>(await admin(api.http.get(`/v1/tenants/jobs/workloads/${id}`)).expect(200));

  it('starts a workload on the node asked for, in that agent’s cgroup root, and serves its logs and stop through the API', async () => {
    const [a, b, c] = agents;
    const started = bodyOf<Workload>(
      await admin(api.http.post('/v1/tenants/jobs/workloads'))
        .send({ node: 'wl-b', command: ['/bin/sh', '-c', 'echo hello from $(cat /proc/sys/kernel/hostname 2>/dev/null || echo b); exec sleep 300'] })
        .expect(201),
    );
    assert.equal(started.node, 'wl-b');
    const running = await waitFor(async () => ((await get(started.id)).state === 'running' ? true : undefined), 20_000, 'the workload running');
    assert.ok(running);
    // Its leaf is under wl-b's root, with a process in it, and nothing of it under wl-a's or wl-c's.
    assert.ok(readFileSync(join(leaf(b, 'jobs', started.id), 'cgroup.procs'), 'utf8').trim().length > 0);
    assert.equal(existsSync(leaf(a, 'jobs', started.id)), false);
    assert.equal(existsSync(leaf(c, 'jobs', started.id)), false);

    const logs = await waitFor(
      async () => {
        const res = await admin(api.http.get(`/v1/tenants/jobs/workloads/${started.id}/logs?stream=stdout`)).expect(200);
        return res.text.includes('hello from') ? res : undefined;
      },
      10_000,
      'its output through the API',
    );
    assert.match(String(logs.headers['content-type']), /^text\/plain/);
    assert.ok(typeof logs.headers['log-cursor'] === 'string', 'a single-stream read answers its cursor');

    const listed = (await admin(api.http.get('/v1/tenants/jobs/workloads')).expect(200)).body as { items: Workload[] };
    assert.deepEqual(
      listed.items.map((w) => [w.id, w.node, w.state]),
      [[started.id, 'wl-b', 'running']],
    );

    const stopping = bodyOf<Workload>(await admin(api.http.delete(`/v1/tenants/jobs/workloads/${started.id}?grace=1s`)).expect(202));
    assert.equal(stopping.node, 'wl-b');
    const ended = await waitFor(
      async () => {
        const w = await get(started.id);
        return w.state === 'killed' ? w : undefined;
      },
      20_000,
      'the workload killed',
    );
    assert.equal(ended.signal, 'SIGTERM');
    const [audit] = await api.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'workload.stop' AND target = $1`, [
      `tenants/jobs/workloads/${started.id}`,
    ]);
    assert.match(audit.actor, /^admin:/, 'the agent records the principal the API acted for');
  });

  it('picks the Ready node with the most memory headroom when no node is asked for, and says which', async () => {
    const res = await admin(api.http.post('/v1/tenants/jobs/workloads'))
      .send({ command: ['/bin/sleep', '300'] })
      .expect(201);
    const started = bodyOf<Workload>(res);
    // The agents share this machine's memory and nothing has memory.min: the tie goes to the first name.
    assert.equal(started.node, 'wl-a');
    await waitFor(async () => ((await get(started.id)).state === 'running' ? true : undefined), 20_000, 'the workload running');
    assert.ok(existsSync(leaf(agents[0], 'jobs', started.id)));
    const refused = await admin(api.http.post('/v1/tenants/jobs/workloads'))
      .send({ node: 'nowhere', command: ['/bin/true'] })
      .expect(400);
    assert.equal(bodyOf<Problem>(refused).errors[0].path, 'node');
  });

  it('serves a tenant key’s /v1/me/workloads through the agents too, audited as that key', async () => {
    const key = bodyOf<IssuedKey>(await admin(api.http.post('/v1/tenants/jobs/keys')).send({ name: 'ci' }).expect(201));
    const asTenant = <T extends { set(name: string, value: string): T }>(req: T): T => req.set('Authorization', `Bearer ${key.key}`);
    const started = bodyOf<Workload>(
      await asTenant(api.http.post('/v1/me/workloads'))
        .send({ node: 'wl-b', command: ['/bin/sh', '-c', 'echo mine; exec sleep 300'] })
        .expect(201),
    );
    assert.equal(started.node, 'wl-b');
    await waitFor(
      async () => ((await asTenant(api.http.get(`/v1/me/workloads/${started.id}/logs`)).expect(200)).text.includes('mine') ? true : undefined),
      10_000,
      'its output through /v1/me',
    );
    await asTenant(api.http.delete(`/v1/me/workloads/${started.id}?grace=0s`)).expect(202);
    // A stop is asynchronous: wait for the end, so that the next test's workloads.max 1 counts nothing of it.
    await waitFor(
      async () => (bodyOf<Workload>(await asTenant(api.http.get(`/v1/me/workloads/${started.id}`)).expect(200)).state === 'killed' ? true : undefined),
      20_000,
      'the tenant key’s workload killed',
    );
    const [audit] = await api.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'workload.start' AND target = $1`, [
      `tenants/jobs/workloads/${started.id}`,
    ]);
    assert.equal(audit.actor, `tenant:jobs/${key.id}`);
  });

  it('serves a tenant key’s /v1/me/usage in role api from the agent of each of its nodes: usage, link and history', async () => {
    const asTenant = <T extends { set(name: string, value: string): T }>(req: T): T => req.set('Authorization', `Bearer ${tenantKey.key}`);
    const burner = bodyOf<Workload>(
      await asTenant(api.http.post('/v1/me/workloads'))
        .send({ node: 'wl-c', command: ['/bin/sh', '-c', 'while :; do :; done'] })
        .expect(201),
    );
    try {
      // wl-c's sampler sees the burner within a sample or two; the history comes from the agent where it runs. The
      // machine is shared, so the burner may get far less than a core: any CPU in wl-c's history is the burner's.
      let last: MyUsageBody | undefined;
      const seen = await waitFor(
        async () => {
          last = (await asTenant(api.http.get('/v1/me/usage')).expect(200)).body as MyUsageBody;
          const c = last.nodes.find((n) => n.node === 'wl-c');
          return c?.history?.points.some((p) => (p.cpuCores ?? 0) > 0.05) ? last : undefined;
        },
        40_000,
        'wl-c’s history showing the burner',
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last seen: ${JSON.stringify(last?.nodes.map((n) => ({ node: n.node, history: n.history, error: n.error })))}`);
      });
      assert.equal(seen.node, 'wl-a', 'the top level is the first node that answered, in name order');
      assert.equal(typeof seen.usage.cpu.usageSeconds, 'number');
      assert.equal(seen.history.intervalSeconds, 5);
      assert.deepEqual(
        seen.nodes.map((n) => [n.node, typeof n.usage?.cpu.usageSeconds, typeof n.network?.receiveBytes]),
        [
          ['wl-a', 'number', 'number'],
          ['wl-b', 'number', 'number'],
          ['wl-c', 'number', 'number'],
        ],
      );
      const cpu = (node: string) => seen.nodes.find((n) => n.node === node)?.usage?.cpu.usageSeconds ?? 0;
      assert.ok(cpu('wl-c') > cpu('wl-b'), `wl-c burnt more CPU (${cpu('wl-c')} s) than the idle wl-b (${cpu('wl-b')} s)`);
      assert.equal((await admin(api.http.get('/v1/me/usage'))).status, 403, 'an admin token has no /v1/me');
    } finally {
      await asTenant(api.http.delete(`/v1/me/workloads/${burner.id}?grace=0s`)).expect(202);
      await waitFor(
        async () => (bodyOf<Workload>(await asTenant(api.http.get(`/v1/me/workloads/${burner.id}`)).expect(200)).state === 'killed' ? true : undefined),
        20_000,
        'the burner killed',
      );
    }
  });

  it('refuses to boot with a GOVERNOR_AGENT_CA that is not a certificate', async () => {
    await assert.rejects(startReplica(api, { GOVERNOR_AGENT_TOKEN: AGENT_TOKEN, GOVERNOR_AGENT_CA: join(dir, 'ext.cnf') }), /GOVERNOR_AGENT_CA=/);
  });

  it('starts a workload on the agent that serves https, verified with the CA, and a replica without the CA answers 503 naming the node', async () => {
    const c = agents[2];
    assert.match(c.url, /^https:/);
    await admin(api.http.post('/v1/tenants'))
      .send({ name: 'sealed', nodes: ['wl-c'] })
      .expect(201);
    await waitFor(
      async () => ((await admin(api.http.get('/v1/tenants/sealed')).expect(200)).body as { status: { phase: string } }).status.phase === 'Ready' || undefined,
      90_000,
      'tenant sealed Ready',
    );
    const started = bodyOf<Workload>(
      await admin(api.http.post('/v1/tenants/sealed/workloads'))
        .send({ command: ['/bin/sleep', '300'] })
        .expect(201),
    );
    assert.equal(started.node, 'wl-c');
    assert.ok(existsSync(leaf(c, 'sealed', started.id)));
    const refused = await admin(plain.http.get(`/v1/tenants/sealed/workloads/${started.id}/logs`)).expect(503);
    assert.match(bodyOf<Problem>(refused).detail, /wl-c/);
    await admin(api.http.delete(`/v1/tenants/sealed/workloads/${started.id}?grace=0s`)).expect(202);
  });

  it('serves usage, plan and process attach in role api through the agents of the tenant’s nodes', async () => {
    const usage = (await admin(api.http.get('/v1/tenants/jobs/usage')).expect(200)).body as {
      node: string;
      memory: unknown;
      nodes: Array<{ node: string; usage?: { memory: unknown }; error?: unknown }>;
    };
    assert.equal(usage.node, 'wl-a');
    assert.ok(usage.memory !== undefined, 'the top level keeps the single-host shape');
    assert.deepEqual(
      usage.nodes.map((n) => [n.node, n.usage !== undefined]),
      [
        ['wl-a', true],
        ['wl-b', true],
        ['wl-c', true],
      ],
    );

    const plan = (
      await admin(api.http.post('/v1/tenants/jobs/plan'))
        .send({ quota: { memory: { max: '300Mi' } } })
        .expect(200)
    ).body as {
      admission: { admitted: boolean };
      nodes: Array<{ node: string; writes: Array<{ file: string; to?: unknown; after?: unknown }> }>;
    };
    assert.deepEqual(
      plan.nodes.map((n) => n.node),
      ['wl-a', 'wl-b', 'wl-c'],
    );
    // Each node's agent planned against its own cgroup root: writes to memory.max where the controller is there,
    // a warning naming that root where it is not.
    plan.nodes.forEach((node, index) => {
      const said = JSON.stringify(node);
      assert.ok(said.includes('memory.max') || said.includes(`fl${20 + index}-`), `${node.node} planned on its own root: ${said}`);
    });
    assert.equal(plan.admission.admitted, true);
    await admin(api.http.post('/v1/tenants/jobs/plan'))
      .send({ quota: { memory: { max: 'lots' } } })
      .expect(400);

    // A quota request's plan is the same merged plan.
    const key = bodyOf<IssuedKey>(await admin(api.http.post('/v1/tenants/jobs/keys')).send({ name: 'planner' }).expect(201));
    const request = (
      await api.http
        .post('/v1/me/quota-requests')
        .set('Authorization', `Bearer ${key.key}`)
        .send({ quota: { memory: { max: '300Mi' } }, reason: 'more room' })
        .expect(201)
    ).body as { plan?: { nodes: Array<{ node: string }> }; planError?: string };
    assert.deepEqual(
      request.plan?.nodes.map((n) => n.node),
      ['wl-a', 'wl-b', 'wl-c'],
      String(request.planError),
    );
    await api.http
      .post(`/v1/me/quota-requests/${(request as unknown as { id: string }).id}/withdraw`)
      .set('Authorization', `Bearer ${key.key}`)
      .expect(200);

    const sleeper = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
    try {
      const missing = await admin(api.http.post('/v1/tenants/jobs/processes')).send({ pid: sleeper.pid }).expect(400);
      assert.equal(bodyOf<Problem>(missing).errors[0].path, 'node');
      assert.match(bodyOf<Problem>(missing).errors[0].message, /wl-a, wl-b, wl-c/);
      const attached = (await admin(api.http.post('/v1/tenants/jobs/processes')).send({ pid: sleeper.pid, node: 'wl-a' }).expect(201)).body as {
        pid: number;
        node: string;
        cgroup: string;
      };
      assert.equal(attached.node, 'wl-a');
      assert.ok(
        readFileSync(join(agents[0].scratch.root, 'tenants', 'jobs', 'attached', 'cgroup.procs'), 'utf8')
          .split('\n')
          .includes(String(sleeper.pid)),
      );
      const [audit] = await api.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'tenant.attach' ORDER BY at DESC LIMIT 1`);
      assert.match(audit.actor, /^admin:/);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('has the agents of a tenant’s nodes check its rootfs, and refuses one that is not a directory with 400 naming each node', async () => {
    // Role api holds no host: the API process itself cannot even ask whether a path is a directory.
    assert.throws(() => api.app.get(HostAccess).isDirectory('/'), /role api, which holds no host/);
    const missing = '/no/such/fleetlease-image';
    const refused = await admin(api.http.post('/v1/tenants'))
      .send({ name: 'imaged', nodes: ['wl-a', 'wl-c'], rootfs: missing })
      .expect(400);
    assert.equal(bodyOf<Problem>(refused).type, 'urn:governor:problem:validation');
    assert.deepEqual(bodyOf<Problem>(refused).errors, [
      { path: 'rootfs', message: `must be an existing directory (an unpacked image) on node wl-a; ${missing} is missing or not a directory` },
      { path: 'rootfs', message: `must be an existing directory (an unpacked image) on node wl-c; ${missing} is missing or not a directory` },
    ]);
    // A file is no rootfs either; placed on every node, every agent says so.
    const everywhere = await admin(api.http.post('/v1/tenants')).send({ name: 'imaged', rootfs: '/etc/hostname' }).expect(400);
    assert.deepEqual(
      bodyOf<Problem>(everywhere).errors.map((e) => /on node (\S+);/.exec(e.message)?.[1]),
      ['wl-a', 'wl-b', 'wl-c'],
    );
    await admin(api.http.get('/v1/tenants/imaged')).expect(404);

    // An agent answers for its own node, with the agent token only.
    const image = mkdtempSync(join(tmpdir(), 'governor-fleetlease-rootfs-'));
    try {
      const ask = (token: string) =>
        fetch(`${agents[0].url}/agent/v1/node/rootfs`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ rootfs: image }),
        });
      assert.equal((await ask('not-the-agent-token')).status, 401);
      const here = await ask(AGENT_TOKEN);
      assert.equal(here.status, 200);
      assert.deepEqual(await here.json(), { node: 'wl-a', rootfs: image, directory: true });
      const created = await admin(api.http.post('/v1/tenants'))
        .send({ name: 'imaged', nodes: ['wl-a', 'wl-c'], rootfs: image })
        .expect(201);
      assert.equal(bodyOf<{ rootfs: string }>(created).rootfs, image);
      await admin(api.http.delete('/v1/tenants/imaged')).expect(202);
      await waitFor(async () => ((await admin(api.http.get('/v1/tenants/imaged'))).status === 404 ? true : undefined), 60_000, 'imaged deleted');
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });

  it('passes an agent’s 4xx through, and reports a workload of a killed agent as unknown and its stop as 503 naming the node', async () => {
    // wl-a runs one workload of jobs (the test before last): at workloads.max 1 its agent refuses a second with
    // its own 409, which the API answers as it is.
    await admin(api.http.patch('/v1/tenants/jobs'))
      .send({ quota: { workloads: { max: 1 } } })
      .expect(200);
    const refused = await admin(api.http.post('/v1/tenants/jobs/workloads'))
      .send({ node: 'wl-a', command: ['/bin/sleep', '1'] })
      .expect(409);
    assert.equal(bodyOf<Problem>(refused).type, 'urn:governor:problem:workload-too-many');
    assert.match(bodyOf<Problem>(refused).detail, /on node wl-a/);

    const started = bodyOf<Workload>(
      await admin(api.http.post('/v1/tenants/jobs/workloads'))
        .send({ node: 'wl-b', command: ['/bin/sleep', '300'] })
        .expect(201),
    );
    await waitFor(async () => ((await get(started.id)).state === 'running' ? true : undefined), 20_000, 'the workload running');
    const b = agents[1];
    await b.kill('SIGKILL');
    await waitFor(
      async () => (bodyOf<NodeView>(await admin(api.http.get('/v1/nodes/wl-b'))).status === 'NotReady' ? true : undefined),
      10_000,
      'wl-b NotReady',
    );
    const seen = await get(started.id);
    assert.equal(seen.state, 'unknown');
    assert.match(String(seen.message), /wl-b/);
    const listed = (await admin(api.http.get('/v1/tenants/jobs/workloads')).expect(200)).body as { items: Workload[] };
    assert.equal(listed.items.find((w) => w.id === started.id)?.state, 'unknown');
    const stop = await admin(api.http.delete(`/v1/tenants/jobs/workloads/${started.id}`)).expect(503);
    assert.match(bodyOf<Problem>(stop).detail, /wl-b/);
    const logs = await admin(api.http.get(`/v1/tenants/jobs/workloads/${started.id}/logs`)).expect(503);
    assert.match(String(logs.headers['content-type']), /problem\+json/);

    // Usage and plan still answer from wl-a, and name wl-b as the node that could not; an attach there is 503.
    const usage = (await admin(api.http.get('/v1/tenants/jobs/usage')).expect(200)).body as {
      node: string;
      nodes: Array<{ node: string; error?: { status: number; detail: string } }>;
    };
    assert.equal(usage.node, 'wl-a');
    assert.equal(usage.nodes.find((n) => n.node === 'wl-b')?.error?.status, 503);
    assert.match(String(usage.nodes.find((n) => n.node === 'wl-b')?.error?.detail), /wl-b/);
    const plan = (
      await admin(api.http.post('/v1/tenants/jobs/plan'))
        .send({ quota: { pids: { max: 300 } } })
        .expect(200)
    ).body as {
      nodes: Array<{ node: string; unavailable?: boolean; warnings: string[] }>;
    };
    const down = plan.nodes.find((n) => n.node === 'wl-b');
    assert.equal(down?.unavailable, true);
    assert.match((down?.warnings ?? []).join(' '), /wl-b/);
    const mine = (await api.http.get('/v1/me/usage').set('Authorization', `Bearer ${tenantKey.key}`).expect(200)).body as MyUsageBody;
    assert.equal(mine.node, 'wl-a');
    assert.deepEqual(
      mine.nodes.map((n) => [n.node, n.error?.status ?? 200]),
      [
        ['wl-a', 200],
        ['wl-b', 503],
        ['wl-c', 200],
      ],
    );
    assert.match(String(mine.nodes[1].error?.detail), /node wl-b is NotReady/);
    const attach = await admin(api.http.post('/v1/tenants/jobs/processes')).send({ pid: process.pid, node: 'wl-b' }).expect(503);
    assert.match(bodyOf<Problem>(attach).detail, /wl-b/);
    // A tenant placed on wl-b only: no node answers, so usage and plan are 503 naming it.
    await admin(api.http.post('/v1/tenants'))
      .send({ name: 'solo', nodes: ['wl-b'] })
      .expect(201);
    const soloKey = bodyOf<IssuedKey>(await admin(api.http.post('/v1/tenants/solo/keys')).send({ name: 'solo' }).expect(201));
    const noneOfMine = await api.http.get('/v1/me/usage').set('Authorization', `Bearer ${soloKey.key}`).expect(503);
    assert.match(bodyOf<Problem>(noneOfMine).detail, /node wl-b is NotReady/);
    const none = await admin(api.http.get('/v1/tenants/solo/usage')).expect(503);
    assert.equal(bodyOf<Problem>(none).type, 'urn:governor:problem:agent-unavailable');
    assert.match(bodyOf<Problem>(none).detail, /node wl-b is NotReady/);
    const noPlan = await admin(api.http.post('/v1/tenants/solo/plan'))
      .send({ quota: { memory: { max: '300Mi' } } })
      .expect(503);
    assert.match(bodyOf<Problem>(noPlan).detail, /wl-b/);

    // A rootfs is left to a node whose agent cannot check it now: the create is accepted, and that agent says
    // what it found once it is back (below).
    const unchecked = '/no/such/fleetlease-image';
    await admin(api.http.post('/v1/tenants'))
      .send({ name: 'unchecked', nodes: ['wl-b'], rootfs: unchecked })
      .expect(201);

    // A node silent for 5 minutes is taken as gone: its workload reads lost (here its heartbeat is aged by hand).
    await api.query(`UPDATE nodes SET heartbeat_at = now() - interval '6 minutes' WHERE name = 'wl-b'`);
    const gone = await get(started.id);
    assert.equal(gone.state, 'lost');
    assert.match(String(gone.message), /node wl-b has sent no heartbeat since .*taken as gone/);

    // Back again: the workload (its monitor outlived the agent) is running, read from its agent.
    await b.start();
    await waitFor(async () => ((await get(started.id)).state === 'running' ? true : undefined), 20_000, 'the workload running again');
    const reported = await waitFor(
      async () => {
        const { status } = (await admin(api.http.get('/v1/tenants/unchecked')).expect(200)).body as {
          status: { conditions: Array<{ reason: string; message: string }> };
        };
        return status.conditions.find((c) => c.reason === 'InitFailed');
      },
      60_000,
      'wl-b reporting the rootfs it could not enter',
    );
    assert.match(reported.message, /rootfs/);
  });
});
