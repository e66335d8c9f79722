import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bodyOf, type IssuedKey, type NodeView, type Problem, type Workload } from '../support/api';
import { FleetAgent } from '../support/fleet-agent';
import { startGovernor, startReplica, type TestGovernor, type TestReplica } from '../support/governor.harness';
import { waitFor } from '../support/wait';

const AGENT_TOKEN = 'fleet-workloads-agent-token-0123456789';
const NET_POOL = '10.253.128.0/20';

describe('fleet: workloads through the API, run by the owning agent', () => {
  let api: TestGovernor;
  let agents: FleetAgent[] = [];
  const admin = <T extends { set(name: string, value: string): T }>(req: T): T => req.set('Authorization', api.root);
  const leaf = (agent: FleetAgent, tenant: string, id: string) => join(agent.scratch.root, 'tenants', tenant, 'workloads', id);

  before(async () => {
    api = await startGovernor({ GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_AGENT_TOKEN: AGENT_TOKEN });
    const env = { GOVERNOR_NET_POOL: NET_POOL, GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_RESYNC_INTERVAL: '2s' };
    agents = ['wl-a', 'wl-b'].map(
      (node, index) => new FleetAgent({ node, index: 20 + index, linkNet: '10.253', databaseUrl: api.databaseUrl, agentToken: AGENT_TOKEN, env }),
    );
    await Promise.all(agents.map((agent) => agent.start()));
    await admin(api.http.post('/v1/tenants')).send({ name: 'jobs', nodes: [] }).expect(201);
    await waitFor(
      async () => {
        const body = (await admin(api.http.get('/v1/tenants/jobs')).expect(200)).body as { status: { phase: string; nodes: unknown[] } };
        return body.status.phase === 'Ready' && body.status.nodes.length === 2 ? true : undefined;
      },
      90_000,
      'tenant jobs Ready on both nodes',
    );
  });
  after(async () => {
    for (const agent of agents) await agent.cleanup();
    await api.close();
  });

  const get = async (id: string) => bodyOf<Workload>(await admin(api.http.get(`/v1/tenants/jobs/workloads/${id}`)).expect(200));

  it('starts a workload on the node asked for, in that agent’s cgroup root, and serves its logs and stop through the API', async () => {
    const [a, b] = agents;
    const started = bodyOf<Workload>(
      await admin(api.http.post('/v1/tenants/jobs/workloads'))
        .send({ node: 'wl-b', command: ['/bin/sh', '-c', 'echo hello from $(cat /proc/sys/kernel/hostname 2>/dev/null || echo b); exec sleep 300'] })
        .expect(201),
    );
    assert.equal(started.node, 'wl-b');
    const running = await waitFor(async () => ((await get(started.id)).state === 'running' ? true : undefined), 20_000, 'the workload running');
    assert.ok(running);
    // Its leaf is under wl-b's root, with a process in it, and nothing of it under wl-a's.
    assert.ok(readFileSync(join(leaf(b, 'jobs', started.id), 'cgroup.procs'), 'utf8').trim().length > 0);
    assert.equal(existsSync(leaf(a, 'jobs', started.id)), false);

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
    // Both agents share this machine's memory and nothing has memory.min: the tie goes to the first name.
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

    // Back again: the workload (its monitor outlived the agent) is running, read from its agent.
    await b.start();
    await waitFor(async () => ((await get(started.id)).state === 'running' ? true : undefined), 20_000, 'the workload running again');
  });
});

describe('fleet: workloads through the API to an agent that serves https, verified against GOVERNOR_AGENT_CA', () => {
  let dir: string;
  let api: TestGovernor;
  let plain: TestReplica;
  let agent: FleetAgent;
  const ADDRESS = '10.253.22.2';

  /** A CA, and a certificate of the agent's address signed by it. */
  function makeCertificates(): void {
    const run = (args: string[]) => {
      const done = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (done.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${done.stderr}`);
    };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=governor test CA']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'agent.key', '-out', 'agent.csr', '-subj', '/CN=wl-tls']);
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=IP:${ADDRESS}\n`);
    run(['x509', '-req', '-in', 'agent.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'agent.pem', '-days', '1', '-extfile', 'ext.cnf']);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'governor-agent-ca-'));
    makeCertificates();
    const common = { GOVERNOR_NET_POOL: '10.253.144.0/20', GOVERNOR_HEARTBEAT_INTERVAL: '1s', GOVERNOR_AGENT_TOKEN: AGENT_TOKEN };
    api = await startGovernor({ ...common, GOVERNOR_AGENT_CA: join(dir, 'ca.pem') });
    plain = await startReplica(api, common);
    agent = new FleetAgent({
      node: 'wl-tls',
      index: 22,
      linkNet: '10.253',
      databaseUrl: api.databaseUrl,
      agentToken: AGENT_TOKEN,
      env: { ...common, GOVERNOR_RESYNC_INTERVAL: '2s', GOVERNOR_TLS_CERT: join(dir, 'agent.pem'), GOVERNOR_TLS_KEY: join(dir, 'agent.key') },
    });
    await agent.start();
  });
  after(async () => {
    await agent.cleanup();
    await plain.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to boot with a GOVERNOR_AGENT_CA that is not a certificate', async () => {
    await assert.rejects(startReplica(api, { GOVERNOR_AGENT_TOKEN: AGENT_TOKEN, GOVERNOR_AGENT_CA: join(dir, 'ext.cnf') }), /GOVERNOR_AGENT_CA=/);
  });

  it('starts a workload over https with the CA, and a replica without it answers 503 naming the node', async () => {
    assert.match(agent.url, /^https:/);
    await api.http
      .post('/v1/tenants')
      .set('Authorization', api.root)
      .send({ name: 'sealed', nodes: ['wl-tls'] })
      .expect(201);
    await waitFor(
      async () =>
        ((await api.http.get('/v1/tenants/sealed').set('Authorization', api.root)).body as { status: { phase: string } }).status.phase === 'Ready'
          ? true
          : undefined,
      90_000,
      'tenant sealed Ready',
    );
    const started = bodyOf<Workload>(
      await api.http
        .post('/v1/tenants/sealed/workloads')
        .set('Authorization', api.root)
        .send({ command: ['/bin/sleep', '300'] })
        .expect(201),
    );
    assert.equal(started.node, 'wl-tls');
    assert.ok(existsSync(join(agent.scratch.root, 'tenants', 'sealed', 'workloads', started.id)));
    const refused = await plain.http.get(`/v1/tenants/sealed/workloads/${started.id}/logs`).set('Authorization', api.root).expect(503);
    assert.match(bodyOf<Problem>(refused).detail, /wl-tls/);
    await api.http.delete(`/v1/tenants/sealed/workloads/${started.id}?grace=0s`).set('Authorization', api.root).expect(202);
  });
});
