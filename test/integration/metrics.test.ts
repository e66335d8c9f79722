import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Problem, Reply, Tenant } from '../support/api';
import { hostCgroupFacts, hostScratch, removeCgroupTree } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

// GET /metrics of a governor in role all on this host's cgroup v2 core. The hybrid tree has no cpu,
// memory, pids or io controller, so only the core series exist here (cpu.stat usage, *.pressure,
// cgroup.events) plus the links' counters; the kernel tier checks the rest in the guest.
const host = hostScratch('metrics');
const NODE = 'metrics-a';
const TOKEN = 'metrics-test-token-0123456789';
let gov: TestGovernor;

before(async () => {
  // A long resync: a cgroup removed by hand stays removed until the test has scraped.
  gov = await startGovernor({ ...host.env, GOVERNOR_NODE_NAME: NODE, GOVERNOR_RESYNC_INTERVAL: '1h', GOVERNOR_NET_POOL: '10.234.0.0/24' });
  for (const name of ['alpha', 'beta', 'gamma']) await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name });
  for (const name of ['alpha', 'beta', 'gamma']) await ready(name);
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

async function ready(name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res: Reply<Tenant> = await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root);
    if (res.body.status?.observedGeneration === 1 && res.body.status.phase === 'Ready') return;
    assert.ok(Date.now() < deadline, JSON.stringify(res.body));
    await sleep(100);
  }
}

/** The exposition as "name{labels}" to value. */
async function scrape(http = gov.http, authorization?: string): Promise<{ status: number; text: string; series: Map<string, number>; type: string }> {
  const req = http.get('/metrics');
  const res = authorization === undefined ? await req : await req.set('Authorization', authorization);
  const series = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { status: res.status, text: res.text, series, type: res.headers['content-type'] ?? '' };
}

const t = (tenant: string, extra = '') => `{tenant="${tenant}",node="${NODE}"${extra}}`;
const named = (series: Map<string, number>, tenant: string) => [...series.keys()].filter((key) => key.includes(`tenant="${tenant}"`));

describe('GET /metrics on this host', () => {
  it('exports CPU time, pressure, freezer state and link counters of every tenant, read from the kernel', async () => {
    // A busy loop attached to alpha shows up as its CPU time. It runs until a tenth of a second of CPU is
    // seen (15 s at most), since on a loaded machine half a second of wall time can be far less CPU.
    const busy = spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    try {
      const attach = await gov.http.post('/v1/tenants/alpha/processes').set('Authorization', gov.root).send({ pid: busy.pid });
      assert.equal(attach.status, 201, JSON.stringify(attach.body));
      const deadline = Date.now() + 15_000;
      while (((await scrape()).series.get(`governor_tenant_cpu_usage_seconds_total${t('alpha')}`) ?? 0) <= 0.1 && Date.now() < deadline) await sleep(100);
    } finally {
      busy.kill('SIGKILL');
    }
    const { status, series, type } = await scrape();
    const facts = hostCgroupFacts();
    assert.equal(status, 200);
    assert.match(type, /^text\/plain; version=0\.0\.4/);
    assert.ok(
      (series.get(`governor_tenant_cpu_usage_seconds_total${t('alpha')}`) ?? 0) > 0.1,
      String(series.get(`governor_tenant_cpu_usage_seconds_total${t('alpha')}`)),
    );
    for (const name of ['alpha', 'beta', 'gamma']) {
      for (const family of ['cpu_usage_seconds_total', 'cpu_user_seconds_total', 'cpu_system_seconds_total'])
        assert.ok(series.has(`governor_tenant_${family}${t(name)}`), `${family} ${name}`);
      for (const resource of ['cpu', 'memory', 'io']) {
        for (const kind of ['some', 'full'])
          assert.ok(series.has(`governor_tenant_pressure_seconds_total${t(name, `,resource="${resource}",kind="${kind}"`)}`), `${resource} ${kind} ${name}`);
      }
      assert.equal(series.get(`governor_tenant_frozen${t(name)}`), 0);
      assert.equal(series.get(`governor_tenant_workloads${t(name, ',state="running"')}`), 0);
      assert.ok(series.has(`governor_tenant_network_receive_bytes_total${t(name)}`), `link of ${name}`);
      // A missing controller: none of its series, and the reason in governor_node_controller_available.
      const owners: Record<string, string> = { memory_usage_bytes: 'memory', pids_current: 'pids', cpu_throttled_seconds_total: 'cpu' };
      for (const [family, controller] of Object.entries(owners))
        if (facts.missing.includes(controller)) assert.equal(series.has(`governor_tenant_${family}${t(name)}`), false, family);
    }
    for (const controller of ['cpu', 'cpuset', 'io', 'memory', 'pids']) {
      const want = facts.available.includes(controller) ? 1 : 0;
      assert.equal(series.get(`governor_node_controller_available{controller="${controller}",node="${NODE}"}`), want, controller);
    }
    assert.equal(series.get(`governor_tenants{state="Ready",node="${NODE}"}`), 3);
    for (const collector of ['tenants', 'cpu', 'pressure', 'network', 'workloads', 'node'])
      assert.equal(series.get(`governor_collector_success{collector="${collector}"}`), 1);
    const age = series.get(`governor_node_heartbeat_age_seconds{node="${NODE}"}`);
    assert.ok(age !== undefined && age >= 0 && age < 30, String(age));
    assert.ok((series.get('governor_reconcile_total{result="success"}') ?? 0) >= 3, 'the self-metrics are still there');
    assert.ok(series.has('process_cpu_seconds_total'));
  });

  it('passes promtool check metrics, apart from the names of prom-client default metrics', () => {
    const promtool = spawnSync('promtool', ['--version']);
    assert.ok(!promtool.error, 'promtool is needed for this test: apt-get install prometheus (it provides /usr/bin/promtool)');
    return scrape().then(({ text }) => {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const problems = `${check.stdout}${check.stderr}`
        .split('\n')
        .filter((line) => line.trim() !== '')
        // prom-client's process defaults name three gauges *_total; they are not Governor's to rename.
        .filter((line) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(line));
      assert.deepEqual(problems, []);
    });
  });

  it("drops a deleted tenant's series as soon as it reports deleted", async () => {
    assert.ok(named((await scrape()).series, 'beta').length > 10);
    assert.equal((await gov.http.delete('/v1/tenants/beta').set('Authorization', gov.root)).status, 202);
    const deadline = Date.now() + 20_000;
    while ((await gov.http.get('/v1/tenants/beta').set('Authorization', gov.root)).status !== 404) {
      assert.ok(Date.now() < deadline, 'beta is torn down');
      await sleep(100);
    }
    const { series, text } = await scrape();
    assert.equal(text.includes('tenant="beta"'), false);
    assert.ok(series.has(`governor_tenant_cpu_usage_seconds_total${t('alpha')}`));
  });

  it('keeps answering when a tenant cgroup is removed by hand, and loses only that tenant series', async () => {
    const before = (await scrape()).series.get('governor_collector_errors_total{collector="tenants"}') ?? 0;
    const dir = join(host.root, 'tenants', 'gamma');
    // The whole subtree goes, its tenant init (in the init leaf) killed with it.
    removeCgroupTree(dir);
    const { status, series } = await scrape();
    assert.equal(status, 200);
    assert.deepEqual(named(series, 'gamma'), []);
    assert.ok(series.has(`governor_tenant_cpu_usage_seconds_total${t('alpha')}`));
    assert.ok(series.has(`governor_tenant_pressure_seconds_total${t('alpha', ',resource="io",kind="some"')}`));
    assert.equal(series.get('governor_collector_errors_total{collector="tenants"}'), before + 1);
    for (const collector of ['tenants', 'cpu', 'pressure', 'network', 'workloads', 'node'])
      assert.equal(series.get(`governor_collector_success{collector="${collector}"}`), 1);
  });
});

describe('GET /metrics with GOVERNOR_METRICS_TOKEN, in role api', () => {
  let api: TestGovernor;
  before(async () => {
    api = await startGovernor({ GOVERNOR_METRICS_TOKEN: TOKEN });
  });
  after(async () => {
    await api?.close();
  });

  it('answers 401 problem+json without the token or with another one, and 200 with it', async () => {
    for (const authorization of [undefined, `Bearer ${TOKEN}-not`, api.root]) {
      const res = await scrape(api.http, authorization);
      assert.equal(res.status, 401, String(authorization));
      assert.match(res.type, /^application\/problem\+json/);
      assert.equal((JSON.parse(res.text) as Problem).status, 401);
    }
    const { status, series } = await scrape(api.http, `Bearer ${TOKEN}`);
    assert.equal(status, 200);
    assert.equal(series.get('governor_collector_success{collector="node"}'), 1);
    assert.deepEqual(
      [...series.keys()].filter(
        (key) =>
          key.startsWith('governor_tenant') || key.startsWith('governor_node_controller') || key.startsWith('governor_collector_success{collector="cpu"'),
      ),
      [],
    );
    assert.ok(series.has('process_cpu_seconds_total'));
  });
});
