import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { dump, load } from 'js-yaml';
import { bodyOf, type IssuedKey, type Items, type Reply, type TenantEvent } from '../../support/api';
import { hostScratch } from '../../support/cgroup-root';
import { ALERT_RULES_FILE, isAlertRule, KNOWN_METRICS, loadAlertRules, loadDashboards, panelQueries, type RuleGroup } from '../../support/dashboards';
import { startGovernor, type TestGovernor } from '../../support/governor.harness';

// A real Prometheus (Debian's package) scrapes a governor in the guest, where every controller exists, with
// tenants that burn CPU, get OOM-killed, do disk I/O, send packets and drift. Every dashboard panel and every
// alert rule is then evaluated through Prometheus' HTTP API, and alerts fire from a copy of the rules whose
// `for:` is shortened.
const host = hostScratch('prom');
const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const PROM_PORT = 19_090;
const api = `http://127.0.0.1:${PROM_PORT}/api/v1`;
let gov: TestGovernor;
let prometheus: ChildProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'governor-prom-'));
const children: ChildProcess[] = [];

type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;
type QueryResult = { status: string; error?: string; data: { resultType: string; result: Vector } };

/** An instant query, now or at a given time (seconds since the epoch). */
async function query(expr: string, time?: number): Promise<QueryResult> {
  const res = await fetch(`${api}/query?query=${encodeURIComponent(expr)}${time === undefined ? '' : `&time=${time}`}`);
  return (await res.json()) as QueryResult;
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 2000)}`);
    await sleep(1000);
  }
}

/** The parts of a tenant this suite reads, once it has its link. */
type LinkedTenant = { generation: number; status: { observedGeneration: number; network: { address: string } } };

async function create(name: string, quota: unknown): Promise<LinkedTenant> {
  const res = await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name, quota });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return until(
    async () => bodyOf<LinkedTenant>(await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root)),
    (t) => t.status.observedGeneration === t.generation && t.status.network !== null,
    `${name} applied`,
    120_000,
  );
}

async function workload(tenant: string, request: string[] | { command: string[]; quota: unknown }): Promise<{ id: string }> {
  const body = Array.isArray(request) ? { command: request } : request;
  const res: Reply<{ id: string }> = await gov.http.post(`/v1/tenants/${tenant}/workloads`).set('Authorization', gov.root).send(body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** The alert rules with every `for:` cut to zero, so that a condition that holds once fires. */
function impatientRules(): string {
  const groups = (load(readFileSync(ALERT_RULES_FILE, 'utf8')) as { groups: RuleGroup[] }).groups;
  for (const group of groups) for (const rule of group.rules) if (isAlertRule(rule)) rule.for = '0s';
  const file = join(work, 'rules.yml');
  writeFileSync(file, dump({ groups }));
  return file;
}

before(async () => {
  assert.ok(spawnSync(PROMETHEUS, ['--version']).status === 0, "prometheus is installed (test/setup.sh installs Debian's package)");
  gov = await startGovernor({
    ...host.env,
    GOVERNOR_NODE_NAME: 'guest',
    GOVERNOR_RESYNC_INTERVAL: '2s',
    GOVERNOR_NET_POOL: '10.236.0.0/24',
    GOVERNOR_LOG_LEVEL: 'error',
  });
  await gov.app.listen(0, '127.0.0.1');
  const port = ((gov.app.getHttpServer() as Server).address() as AddressInfo).port;
  const config = join(work, 'prometheus.yml');
  writeFileSync(
    config,
    dump({
      // A scrape must finish within its interval; under TCG a loaded guest can take over a second, and a
      // failed scrape leaves the gauges stale at the moment the panels are queried.
      global: { scrape_interval: '3s', scrape_timeout: '3s', evaluation_interval: '1s' },
      rule_files: [impatientRules()],
      scrape_configs: [{ job_name: 'governor', static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
    }),
  );
  assert.equal(spawnSync(PROMTOOL, ['check', 'config', config]).status, 0, 'promtool accepts the test config');
  prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
});

after(async () => {
  prometheus?.kill('SIGTERM');
  for (const child of children) child.kill('SIGKILL');
  await gov?.close();
  host.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('a real Prometheus scraping the governor', () => {
  it('gets data for every dashboard panel and evaluates every alert rule', async () => {
    const device = process.env.GOVERNOR_TEST_DISK_DEV;
    const disk = process.env.GOVERNOR_TEST_DISK;
    assert.ok(device && disk, 'run.sh --disk gives the guest a test disk');
    const busy = await create('busy', {
      cpu: { max: '0.1', period: '100ms', weight: 200 },
      memory: { max: '48Mi', high: '40Mi', swapMax: '0' },
      pids: { max: 24 },
      io: { weight: 100, limits: [{ device, wbps: '8M' }] },
      network: { ingress: '10Mbit', egress: '10Mbit' },
    });
    // One burner held by the tenant cap only, one by its own cap too: the tenant dashboard tells them apart.
    await workload('busy', ['/bin/sh', '-c', 'while :; do :; done']);
    await workload('busy', { command: ['/bin/sh', '-c', 'while :; do :; done'], quota: { cpu: { max: '0.02', period: '100ms' } } });
    // A first hand edit, taken back before the counters are looked at: the drift series then exists when the
    // second edit below raises it, so the "increase(...) > 0" panels see a rise. A series born at its first
    // correction has no earlier sample, and increase() over it is 0.
    writeFileSync(join(host.root, 'tenants/busy/cpu.weight'), '300');
    await until(
      () => query('governor_drift_corrections_total{tenant="busy"}'),
      (r) => Number(r.data?.result?.[0]?.value[1]) >= 1,
      'the first drift correction in a scrape',
    );
    await until(
      () => query('up{job="governor"}'),
      (r) => r.data?.result?.[0]?.value[1] === '1',
      'the first scrape',
    );

    // Now that Prometheus sees the counters at their start, make them move: forks refused at pids.max, disk
    // writes by a process attached to busy, packets into busy, an OOM kill (past memory.high, then
    // memory.max), and a hand edit the reconciler takes back (drift).
    // Forks refused at pids.max for as long as the test runs, one try every half second, so that the "in the
    // last minute" panels see them however long the steps below take in a loaded guest (a shell would exit at
    // its first refused fork). Its own pids.max keeps room in busy's for the allocator started below.
    await workload('busy', {
      command: [
        '/usr/bin/python3',
        '-c',
        'import os, time\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(120)\n            os._exit(0)\n    except OSError:\n        pass\n    time.sleep(0.5)',
      ],
      quota: { pids: { max: 8 } },
    });
    const writer = spawn('/bin/sh', ['-c', `read go; exec /bin/dd if=/dev/zero of=${disk} bs=64k count=64 oflag=direct`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(writer);
    assert.equal((await gov.http.post('/v1/tenants/busy/processes').set('Authorization', gov.root).send({ pid: writer.pid })).status, 201);
    writer.stdin.end('go\n');
    spawnSync('ping', ['-c', '5', '-i', '0.2', '-W', '2', busy.status.network.address]);

    await until(
      () => query('governor_tenant_pids_events_total{tenant="busy",event="max"}'),
      (r) => Number(r.data?.result?.[0]?.value[1]) >= 1,
      'the refused forks in a scrape',
    );
    await until(
      () => query('governor_tenant_io_write_bytes_total{tenant="busy"}'),
      (r) => Number(r.data?.result?.[0]?.value[1]) > 0,
      'the disk writes',
    );
    // The OOM kill comes after the waits above, so that the "in the last minute" panels still hold it when
    // they are evaluated. The allocator shares busy's tenth of a CPU with two burners and the forker, so it
    // takes nearly all of the tenant's weight: a CI run where it had an equal share, beside a forker holding
    // every pid of busy, was still short of memory.max after four minutes.
    await workload('busy', { command: ['/usr/bin/python3', '-c', "b = b'x' * (200 * 1024 * 1024)"], quota: { cpu: { weight: 10_000 } } });
    await until(
      () => query('governor_tenant_memory_events_total{tenant="busy",event="oom_kill"}'),
      (r) => Number(r.data?.result?.[0]?.value[1]) >= 1,
      'the OOM kill in a scrape',
    );
    // The second hand edit last, so that the "in the last minute" drift panel holds the samples before and
    // after its correction however long the waits above took in a loaded guest.
    writeFileSync(join(host.root, 'tenants/busy/cpu.weight'), '300');
    await until(
      () => query('sum(governor_drift_corrections_total{tenant="busy"})'),
      (r) => Number(r.data?.result?.[0]?.value[1]) >= 2,
      'the second drift correction',
    );
    await sleep(10_000); // a few more scrapes, so that every rate() window holds two samples after the events
    // Every panel is evaluated at this one moment, so that the ones asking "did it happen in the last
    // minute" see the events however long evaluating a hundred queries in the guest takes.
    const at = Date.now() / 1000;
    const up = await query('up{job="governor"}', at);

    const empty: string[] = [];
    const failed: string[] = [];
    let count = 0;
    for (const dashboard of loadDashboards()) {
      for (const panel of panelQueries(dashboard, 'busy')) {
        count++;
        const res = await query(panel.expr, at);
        if (res.status !== 'success') failed.push(`${panel.dashboard} / ${panel.panel}: ${res.error}`);
        else if ((res.data.result?.length ?? 0) === 0) empty.push(`${panel.dashboard} / ${panel.panel} [${panel.refId}]: ${panel.expr}`);
      }
    }
    assert.ok(count > 50, `${count} panel queries`);
    assert.deepEqual(failed, [], 'every panel query evaluates');
    assert.deepEqual(empty, [], `every panel query returns data (up: ${JSON.stringify(up.data?.result)})`);

    const ruleErrors: string[] = [];
    for (const group of loadAlertRules()) {
      for (const rule of group.rules) {
        const res = await query(rule.expr);
        if (res.status !== 'success') ruleErrors.push(`${isAlertRule(rule) ? rule.alert : rule.record}: ${res.error}`);
      }
    }
    assert.deepEqual(ruleErrors, [], 'every alert rule evaluates');
  });

  it('fires the throttling and OOM alerts from the shipped rules (with for: cut to zero)', async () => {
    const firing = await until(
      async () => ((await (await fetch(`${api}/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } }).data.alerts,
      (alerts) =>
        ['GovernorTenantCPUThrottled', 'GovernorTenantOOMKill'].every((name) => alerts.some((a) => a.labels.alertname === name && a.state === 'firing')),
      'the alerts to fire',
      120_000,
    );
    assert.ok(firing.some((a) => a.labels.alertname === 'GovernorTenantCPUThrottled' && a.labels.tenant === 'busy'));
    assert.ok(firing.some((a) => a.labels.alertname === 'GovernorTenantOOMKill' && a.labels.tenant === 'busy'));
  });

  it("records the throttling episode and the OOM kill as events in each tenant's own view", async () => {
    const eventsOf = async (tenant: string) => {
      const key: Reply<IssuedKey> = await gov.http.post(`/v1/tenants/${tenant}/keys`).set('Authorization', gov.root).send({ name: 'events' });
      return async () => bodyOf<Items<TenantEvent>>(await gov.http.get('/v1/me/events').set('Authorization', `Bearer ${key.body.key}`)).items;
    };
    const busy = await eventsOf('busy');
    const throttled = await until(busy, (items) => items.some((e) => e.kind === 'throttling'), 'a throttling event', 60_000);
    assert.match(throttled.find((e) => e.kind === 'throttling')!.message, /throttled by cpu.max in \d+% of periods/);
    const oom = (e: { kind: string; message: string }) => e.kind === 'workload' && /was killed by the OOM killer/.test(e.message);
    await until(busy, (items) => items.some(oom), 'an oom-killed workload event', 60_000);
  });

  it('passes promtool check metrics on a real scrape, which has every documented metric and no other', async () => {
    const scrape = await gov.http.get('/metrics');
    assert.equal(scrape.status, 200);
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: scrape.text, encoding: 'utf8' });
    const problems = `${check.stdout}${check.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      // prom-client's process defaults name three gauges *_total; they are not Governor's to rename.
      .filter((line) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(line));
    assert.deepEqual(problems, []);

    const exported = new Set([...scrape.text.matchAll(/^(governor_[a-z_]+?)(?:_bucket|_sum|_count)?[{ ]/gm)].map((m) => m[1]));
    const known = Object.keys(KNOWN_METRICS).filter((name) => name.startsWith('governor_'));
    assert.deepEqual(
      [...exported].filter((name) => !(name in KNOWN_METRICS)),
      [],
      'no undocumented metric',
    );
    // cpu.stat.local came with 6.6; the guest runs 6.1, where the exporter leaves that series out.
    const absentHere = new Set(['governor_workload_cpu_throttled_local_seconds_total']);
    assert.deepEqual(
      known.filter((name) => !exported.has(name) && !absentHere.has(name)),
      [],
      'every documented metric has data',
    );
  });
});
