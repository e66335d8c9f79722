import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { NodeView, Plan, Problem, Readiness, Reply, Tenant } from '../support/api';
import { hostCgroupFacts, hostScratch } from '../support/cgroup-root';
import { setDatabaseReachable, startGovernor, type TestGovernor } from '../support/governor.harness';

// Runs on this host's cgroup v2 tree, which in hybrid mode has only the core files (procs, freeze, kill,
// events, cpu.stat usage, pressure): enough to create, attach, freeze, kill and remove subtrees, and to
// show that missing controllers are reported, never a crash.
const host = hostScratch('host');
const { root } = host;
let gov: TestGovernor;
const children: ChildProcess[] = [];

before(async () => {
  gov = await startGovernor({
    ...host.env,
    GOVERNOR_NODE_NAME: 'host-a',
    GOVERNOR_RESYNC_INTERVAL: '2s',
  });
});
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await gov?.close();
  host.cleanup();
});

async function waitFor(name: string, until: (tenant: Tenant) => boolean, timeoutMs = 15_000): Promise<Tenant> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res: Reply<Tenant> = await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root);
    if (res.status === 200 && until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${name}: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

function sleeper(): ChildProcess {
  const child = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const events = (dir: string) => readFileSync(join(dir, 'cgroup.events'), 'utf8');

describe('the cgroup subtree on this host', () => {
  it('registers the node with its kernel, cgroup mode and missing controllers', async () => {
    const res: Reply<NodeView> = await gov.http.get('/v1/nodes/host-a').set('Authorization', gov.root);
    assert.equal(res.status, 200);
    const facts = hostCgroupFacts();
    assert.equal(res.body.cgroup.mode, facts.mode);
    assert.equal(res.body.cgroup.root, root);
    assert.deepEqual(res.body.controllers.missing, facts.missing);
    assert.equal(res.body.features.kill, true);
    assert.equal(res.body.alive, true);
    assert.equal(statSync(root).mode & 0o777, 0o711, 'host users cannot list tenant names');
    const ready: Reply<Readiness> = await gov.http.get('/readyz');
    assert.equal(ready.body.checks.cgroupRoot, 'ok');
  });

  it('creates the tenant subtree and reports each unenforced limit as a condition', async () => {
    await gov.http
      .post('/v1/tenants')
      .set('Authorization', gov.root)
      .send({ name: 'acme', quota: { memory: { max: '64Mi' }, pids: { max: 10 } } });
    const tenant = await waitFor('acme', (t) => t.status.observedGeneration === 1);
    assert.equal(tenant.status.phase, 'Degraded');
    assert.equal(tenant.status.cgroupPath, join(root, 'tenants/acme'));
    const messages = tenant.status.conditions.map((c) => c.message);
    assert.ok(messages.includes(`memory limits not enforced: controller memory unavailable at ${root}`), messages.join('\n'));
    assert.ok(messages.includes(`pids limits not enforced: controller pids unavailable at ${root}`), messages.join('\n'));
    assert.ok(statSync(join(root, 'tenants/acme')).isDirectory());
    // attached/ and workloads/ wait for their first use (fewer memory cgroups on a host of many tenants).
    for (const dir of ['tenants/acme/attached', 'tenants/acme/workloads']) assert.equal(existsSync(join(root, dir)), false, dir);
  });

  it('is Ready when the quota asks for nothing this host lacks', async () => {
    await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'plain' });
    const tenant = await waitFor('plain', (t) => t.status.observedGeneration === 1);
    assert.equal(tenant.status.phase, 'Ready');
  });

  it('attaches a process by pid, and refuses init, itself, kernel threads and missing pids', async () => {
    await waitFor('acme', (t) => t.status.observedGeneration === 1);
    const child = sleeper();
    const res = await gov.http.post('/v1/tenants/acme/processes').set('Authorization', gov.root).send({ pid: child.pid });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const cgroup = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
    assert.match(cgroup, new RegExp(`^0::/${root.split('/').pop()}/tenants/acme/attached$`, 'm'));

    const refused = async (pid: unknown, status: number, pattern: RegExp) => {
      const r: Reply<Problem> = await gov.http.post('/v1/tenants/acme/processes').set('Authorization', gov.root).send({ pid });
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(r.body.detail, pattern);
    };
    await refused(1, 400, /init/);
    await refused(process.pid, 400, /governor itself/);
    await refused(2, 400, /kernel thread/);
    await refused(4194000, 404, /no process/);
    await refused('12', 400, /pid/);
  });

  it('freezes the whole tenant on suspend and thaws it on resume', async () => {
    const child = sleeper();
    await gov.http.post('/v1/tenants/acme/processes').set('Authorization', gov.root).send({ pid: child.pid });
    assert.equal((await gov.http.post('/v1/tenants/acme/suspend').set('Authorization', gov.root)).status, 202);
    await waitFor('acme', (t) => t.status.observedGeneration === 2);
    assert.match(events(join(root, 'tenants/acme')), /^frozen 1$/m);
    assert.equal((await gov.http.post('/v1/tenants/acme/resume').set('Authorization', gov.root)).status, 202);
    await waitFor('acme', (t) => t.status.observedGeneration === 3);
    assert.match(events(join(root, 'tenants/acme')), /^frozen 0$/m);
  });

  it('thaws a tenant frozen by hand within one resync and counts the drift', async () => {
    await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'drifty' });
    await waitFor('drifty', (t) => t.status.observedGeneration === 1);
    writeFileSync(join(root, 'tenants/drifty/cgroup.freeze'), '1');
    const deadline = Date.now() + 10_000;
    while (!/^frozen 0$/m.test(events(join(root, 'tenants/drifty'))) || readFileSync(join(root, 'tenants/drifty/cgroup.freeze'), 'utf8').trim() !== '0') {
      assert.ok(Date.now() < deadline, 'thawed within a resync (2s)');
      await sleep(100);
    }
    while (!/^governor_drift_corrections_total\{tenant="drifty",file="cgroup.freeze"\} 1$/m.test((await gov.http.get('/metrics')).text)) {
      assert.ok(Date.now() < deadline, 'the correction is counted');
      await sleep(100);
    }
  });

  it('plans a change without writing, naming what this host cannot enforce', async () => {
    const res: Reply<Plan> = await gov.http
      .post('/v1/tenants/acme/plan')
      .set('Authorization', gov.root)
      .send({ quota: { cpu: { max: '0.5' } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.nodes[0].node, 'host-a');
    assert.deepEqual(res.body.nodes[0].writes, []);
    assert.ok(res.body.nodes[0].warnings.some((w) => w.includes('cpu limits not enforced')));
    const tenant: Reply<Tenant> = await gov.http.get('/v1/tenants/acme').set('Authorization', gov.root);
    assert.equal(tenant.body.quota.cpu, undefined, 'a plan changes nothing');
  });

  it('writes nothing after a restart when everything is in sync', async () => {
    await waitFor('acme', (t) => t.status.observedGeneration === 3);
    await gov.restart();
    await waitFor('acme', (t) => t.status.observedGeneration === 3);
    await sleep(500);
    const metrics = await gov.http.get('/metrics');
    assert.match(metrics.text, /^governor_cgroup_writes_total 0$/m);
    assert.match(metrics.text, /^governor_reconcile_total\{result="success"\} [1-9]/m);
  });

  it('keeps enforcing and answers 503 while PostgreSQL is away, and catches up once it is back', async () => {
    await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'steady' });
    await waitFor('steady', (t) => t.status.observedGeneration === 1);
    await setDatabaseReachable(gov.databaseUrl, false);
    try {
      const res: Reply<Problem> = await gov.http.get('/v1/tenants/steady').set('Authorization', gov.root);
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(res.body.detail, /database is unavailable/);
      assert.equal((await gov.http.get('/readyz')).status, 503);
      await sleep(2500); // past a resync: the failed pass must leave the cgroups alone
      assert.ok(statSync(join(root, 'tenants/steady')).isDirectory());
    } finally {
      await setDatabaseReachable(gov.databaseUrl, true);
    }
    const deadline = Date.now() + 30_000;
    while ((await gov.http.post('/v1/tenants/steady/suspend').set('Authorization', gov.root)).status !== 202) {
      assert.ok(Date.now() < deadline, 'the API recovers');
      await sleep(200);
    }
    await waitFor('steady', (t) => t.status.observedGeneration === 2, 30_000);
    assert.match(events(join(root, 'tenants/steady')), /^frozen 1$/m, 'the reconciler and its listener recovered');
  });

  it('kills every process and removes the subtree on delete', async () => {
    const child = sleeper();
    await gov.http.post('/v1/tenants/acme/processes').set('Authorization', gov.root).send({ pid: child.pid });
    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    assert.equal((await gov.http.delete('/v1/tenants/acme').set('Authorization', gov.root)).status, 202);
    assert.equal(await exited, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while ((await gov.http.get('/v1/tenants/acme').set('Authorization', gov.root)).status !== 404) {
      assert.ok(Date.now() < deadline, 'the tenant disappears once torn down');
      await sleep(100);
    }
    assert.throws(() => statSync(join(root, 'tenants/acme')), /ENOENT/);
  });

  it('removes an orphan cgroup that no tenant owns', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(root, 'tenants/ghost'));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        statSync(join(root, 'tenants/ghost'));
      } catch {
        return;
      }
      await sleep(200);
    }
    assert.fail('the orphan is removed within a resync');
  });
});
