import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import type { HostCapabilities, HostFeatures } from '../../../../libs/cgroup/src/capabilities';
import type { CgroupFileReader } from '../../../../libs/cgroup/src/collect';
import type { ControllerName } from '../../../../libs/cgroup/src/target';
import type { HostView } from './collector';
import { MetricsExporter } from './metrics.exporter';
import { NodeHeartbeats } from './node-heartbeats';
import { TenantCatalog } from './tenant-catalog';

// The exporter against fixture trees: real cgroup file samples (test/fixtures/cgroup) copied into a
// ROOT-shaped temporary directory, read through a stand-in for CgroupFs that reads plain files.

const FIXTURES = join(__dirname, '..', '..', '..', '..', '..', 'test', 'fixtures', 'cgroup');
const scratch = mkdtempSync(join(tmpdir(), 'governor-metrics-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Copies the regular files of a fixture directory (e.g. "6.1" or "6.1/idle") into ROOT/<dir>. */
function place(root: string, dir: string, fixture: string): void {
  const from = join(FIXTURES, fixture);
  mkdirSync(join(root, dir), { recursive: true });
  for (const file of readdirSync(from)) if (statSync(join(from, file)).isFile()) copyFileSync(join(from, file), join(root, dir, file));
}

/** CgroupFs.read's contract over a plain directory: ENOENT is undefined, any other failure throws. */
class FixtureFs implements CgroupFileReader {
  readonly unreadable = new Set<string>();
  constructor(readonly root: string) {}
  async read(dir: string, file: string): Promise<string | undefined> {
    const rel = `${dir}/${file}`;
    if (this.unreadable.has(rel)) throw Object.assign(new Error(`EACCES: ${rel}`), { code: 'EACCES' });
    try {
      return await readFile(join(this.root, rel), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

const ALL: ControllerName[] = ['cpu', 'cpuset', 'io', 'memory', 'pids'];
const NO_FEATURES: HostFeatures = {
  kill: false,
  cpuBurst: false,
  memoryPeak: false,
  swap: false,
  cpuStatLocal: false,
  pidsEventsLocal: false,
  pressure: false,
  ioWeightEffective: false,
};

function capabilities(available: ControllerName[], features: Partial<HostFeatures>): HostCapabilities {
  return {
    kernel: 'test',
    mode: 'unified',
    mount: '/sys/fs/cgroup',
    root: '/sys/fs/cgroup/governor',
    available,
    missing: ALL.filter((c) => !available.includes(c)),
    features: { ...NO_FEATURES, ...features },
    pageSize: 4096,
  };
}

/** The Debian 12 guest (6.1): every controller, memory.peak and swap, no cpu.stat.local. */
const GUEST_61 = capabilities(ALL, { kill: true, cpuBurst: true, memoryPeak: true, swap: true, pressure: true });
/** A 6.6+ kernel: cpu.stat.local too. */
const KERNEL_66 = capabilities(ALL, { kill: true, cpuBurst: true, memoryPeak: true, swap: true, pressure: true, cpuStatLocal: true });
/** 5.10: no memory.peak, no burst, no cpu.stat.local. */
const KERNEL_510 = capabilities(ALL, { swap: true, pressure: true });
/** This development host: a controller-less v2 tree (hybrid mode). */
const HYBRID = capabilities([], { kill: true, pressure: true, cpuStatLocal: true });

interface Setup {
  root: string;
  fs: FixtureFs;
  catalog: TenantCatalog;
  heartbeats: NodeHeartbeats;
  registry: Registry;
  drift: Counter<'tenant' | 'file'>;
  exporter: MetricsExporter;
  netdev: { text: string | Error };
  readErrors: string[];
}

let counter = 0;
function setup(caps: HostCapabilities | undefined, tenants: Record<string, string> = {}): Setup {
  const root = join(scratch, `root-${(counter += 1)}`);
  mkdirSync(join(root, 'tenants'), { recursive: true });
  const fs = new FixtureFs(root);
  const catalog = new TenantCatalog();
  for (const [name, fixture] of Object.entries(tenants)) {
    place(root, `tenants/${name}`, fixture);
    catalog.setTenant({ name, id: `id-${name}`, hostInterface: undefined, phase: 'Ready' });
  }
  const heartbeats = new NodeHeartbeats();
  const registry = new Registry();
  const drift = new Counter({ name: 'governor_drift_corrections_total', help: 'drift', labelNames: ['tenant', 'file'], registers: [registry] });
  const netdev: Setup['netdev'] = { text: '' };
  const readErrors: string[] = [];
  const host: HostView | undefined = caps === undefined ? undefined : { fs, capabilities: caps };
  const exporter = new MetricsExporter({
    registry,
    catalog,
    heartbeats,
    host: () => host,
    node: 'node-a',
    driftCorrections: drift,
    readNetdev: () => (netdev.text instanceof Error ? Promise.reject(netdev.text) : Promise.resolve(netdev.text)),
    clock: () => Date.parse('2025-01-01T00:00:10Z'),
    onReadError: (collector, path) => readErrors.push(`${collector} ${path}`),
  });
  return { root, fs, catalog, heartbeats, registry, drift, exporter, netdev, readErrors };
}

/** The exposition as series text ("name{labels}") to value, plus the TYPE of each family. */
async function scrape(registry: Registry): Promise<{ text: string; series: Map<string, number>; types: Map<string, string> }> {
  const text = await registry.metrics();
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, series, types };
}

const t = (tenant: string, extra = '') => `{tenant="${tenant}",node="node-a"${extra}}`;
const tenantSeries = (series: Map<string, number>, tenant: string) => [...series.keys()].filter((key) => key.includes(`tenant="${tenant}"`));

describe('the exporter on the 6.1 guest', () => {
  it('exports every tenant series of DESIGN §6 with the values of the live 6.1 sample', async () => {
    const { registry } = setup(GUEST_61, { acme: '6.1' });
    const { series, types } = await scrape(registry);
    const expected: Record<string, number> = {
      [`governor_tenant_cpu_usage_seconds_total${t('acme')}`]: 16.711371,
      [`governor_tenant_cpu_user_seconds_total${t('acme')}`]: 2.858524,
      [`governor_tenant_cpu_system_seconds_total${t('acme')}`]: 13.852847,
      [`governor_tenant_cpu_periods_total${t('acme')}`]: 361,
      [`governor_tenant_cpu_throttled_periods_total${t('acme')}`]: 325,
      [`governor_tenant_cpu_throttled_seconds_total${t('acme')}`]: 33.131358,
      [`governor_tenant_cpu_burst_seconds_total${t('acme')}`]: 0,
      [`governor_tenant_cpu_limit_cores${t('acme')}`]: 0.5,
      [`governor_tenant_cpu_weight${t('acme')}`]: 200,
      [`governor_tenant_memory_usage_bytes${t('acme')}`]: 3334144,
      [`governor_tenant_memory_working_set_bytes${t('acme')}`]: 3334144 - 77824,
      [`governor_tenant_memory_peak_bytes${t('acme')}`]: 67108864,
      [`governor_tenant_memory_limit_bytes${t('acme')}`]: 67108864,
      [`governor_tenant_memory_high_bytes${t('acme')}`]: 50331648,
      [`governor_tenant_memory_events_total${t('acme', ',event="low"')}`]: 0,
      [`governor_tenant_memory_events_total${t('acme', ',event="high"')}`]: 23,
      [`governor_tenant_memory_events_total${t('acme', ',event="max"')}`]: 104,
      [`governor_tenant_memory_events_total${t('acme', ',event="oom"')}`]: 2,
      [`governor_tenant_memory_events_total${t('acme', ',event="oom_kill"')}`]: 4,
      [`governor_tenant_memory_events_total${t('acme', ',event="oom_group_kill"')}`]: 1,
      [`governor_tenant_swap_usage_bytes${t('acme')}`]: 0,
      [`governor_tenant_pids_current${t('acme')}`]: 15,
      [`governor_tenant_pids_limit${t('acme')}`]: 16,
      [`governor_tenant_pids_events_total${t('acme', ',event="max"')}`]: 1,
      [`governor_tenant_io_read_bytes_total${t('acme', ',device="254:0"')}`]: 69226496,
      [`governor_tenant_io_write_bytes_total${t('acme', ',device="254:0"')}`]: 16777216,
      [`governor_tenant_io_reads_total${t('acme', ',device="254:0"')}`]: 113,
      [`governor_tenant_io_writes_total${t('acme', ',device="254:0"')}`]: 16,
      [`governor_tenant_pressure_seconds_total${t('acme', ',resource="cpu",kind="some"')}`]: 18.275581,
      [`governor_tenant_pressure_seconds_total${t('acme', ',resource="cpu",kind="full"')}`]: 16.848624,
      [`governor_tenant_frozen${t('acme')}`]: 0,
      [`governor_tenant_workloads${t('acme', ',state="running"')}`]: 0,
      'governor_tenants{state="Ready",node="node-a"}': 1,
      'governor_node_controller_available{controller="memory",node="node-a"}': 1,
    };
    for (const [key, value] of Object.entries(expected)) assert.equal(series.get(key), value, key);
    for (const resource of ['memory', 'io']) {
      for (const kind of ['some', 'full'])
        assert.ok(series.has(`governor_tenant_pressure_seconds_total${t('acme', `,resource="${resource}",kind="${kind}"`)}`));
    }
    for (const collector of ['tenants', 'cpu', 'memory', 'pids', 'io', 'pressure', 'network', 'workloads', 'node']) {
      assert.equal(series.get(`governor_collector_success{collector="${collector}"}`), 1, collector);
      assert.ok((series.get(`governor_collector_duration_seconds{collector="${collector}"}`) ?? -1) >= 0, collector);
      assert.equal(series.get(`governor_collector_errors_total{collector="${collector}"}`), 0, collector);
    }
    for (const [name, type] of types) if (name.startsWith('governor_tenant_')) assert.equal(type, name.endsWith('_total') ? 'counter' : 'gauge', name);
  });

  it('exports no limit series for limits of "max", and no io series for a tenant that did no I/O', async () => {
    const { registry } = setup(GUEST_61, { idle: '6.1/idle' });
    const { series } = await scrape(registry);
    for (const name of ['cpu_limit_cores', 'memory_limit_bytes', 'memory_high_bytes', 'pids_limit'])
      assert.equal(series.has(`governor_tenant_${name}${t('idle')}`), false, name);
    assert.equal(series.get(`governor_tenant_cpu_weight${t('idle')}`), 100);
    assert.deepEqual(
      tenantSeries(series, 'idle').filter((key) => key.startsWith('governor_tenant_io_')),
      [],
    );
  });
});

describe('older kernels and missing controllers', () => {
  it('leaves out what 5.10 lacks: burst, oom_group_kill, the full line of cpu.pressure and memory.peak', async () => {
    const { registry } = setup(KERNEL_510, { old: '5.10' });
    const { series } = await scrape(registry);
    assert.equal(series.get(`governor_tenant_cpu_throttled_periods_total${t('old')}`), 311);
    assert.equal(series.has(`governor_tenant_cpu_burst_seconds_total${t('old')}`), false);
    assert.equal(series.get(`governor_tenant_memory_events_total${t('old', ',event="oom_kill"')}`), 1);
    assert.equal(series.has(`governor_tenant_memory_events_total${t('old', ',event="oom_group_kill"')}`), false);
    assert.equal(series.has(`governor_tenant_pressure_seconds_total${t('old', ',resource="cpu",kind="full"')}`), false);
    assert.equal(series.has(`governor_tenant_pressure_seconds_total${t('old', ',resource="cpu",kind="some"')}`), true);
    assert.equal(series.has(`governor_tenant_memory_peak_bytes${t('old')}`), false);
    assert.equal(series.get(`governor_tenant_io_write_bytes_total${t('old', ',device="8:16"')}`), 314773504);
    assert.equal(series.get(`governor_tenant_io_reads_total${t('old', ',device="8:0"')}`), 8950);
    assert.equal(series.get('governor_collector_errors_total{collector="memory"}'), 0, 'a file a kernel lacks is not an error');
  });

  it('exports only the core series where the host has no controller, and says which are missing', async () => {
    const { registry } = setup(HYBRID, { plain: '6.18' });
    const { series } = await scrape(registry);
    assert.deepEqual(tenantSeries(series, 'plain').sort(), [
      `governor_tenant_cpu_system_seconds_total${t('plain')}`,
      `governor_tenant_cpu_usage_seconds_total${t('plain')}`,
      `governor_tenant_cpu_user_seconds_total${t('plain')}`,
      `governor_tenant_frozen${t('plain')}`,
      ...['cpu', 'io', 'memory'].flatMap((resource) =>
        ['full', 'some'].map((kind) => `governor_tenant_pressure_seconds_total${t('plain', `,resource="${resource}",kind="${kind}"`)}`),
      ),
      ...['exited', 'failed', 'killed', 'lost', 'oom-killed', 'running', 'starting'].map(
        (state) => `governor_tenant_workloads${t('plain', `,state="${state}"`)}`,
      ),
    ]);
    assert.equal(series.get(`governor_tenant_cpu_usage_seconds_total${t('plain')}`), 2.007601);
    for (const controller of ALL) assert.equal(series.get(`governor_node_controller_available{controller="${controller}",node="node-a"}`), 0, controller);
    for (const collector of ['memory', 'pids', 'io']) assert.equal(series.has(`governor_collector_success{collector="${collector}"}`), false, collector);
  });

  it('exports only the governor self-metrics and heartbeat ages without a host (role api)', async () => {
    const { registry, heartbeats } = setup(undefined);
    heartbeats.set([
      { name: 'node-b', heartbeatAt: new Date('2025-01-01T00:00:00Z'), heartbeatIntervalMs: 4000 },
      { name: 'node-a', heartbeatAt: new Date('2025-01-01T00:00:07.5Z'), heartbeatIntervalMs: 10_000 },
    ]);
    const { series } = await scrape(registry);
    assert.equal(series.get('governor_node_heartbeat_age_seconds{node="node-b"}'), 10);
    assert.equal(series.get('governor_node_heartbeat_age_seconds{node="node-a"}'), 2.5);
    assert.equal(series.get('governor_node_ready{node="node-b"}'), 0, 'NotReady: 10 s is more than two of its 4 s heartbeats');
    assert.equal(series.get('governor_node_ready{node="node-a"}'), 1);
    assert.deepEqual(
      [...series.keys()].filter((key) => key.startsWith('governor_collector_success')),
      ['governor_collector_success{collector="node"}'],
    );
    assert.deepEqual(
      [...series.keys()].filter((key) => key.startsWith('governor_tenant') || key.startsWith('governor_node_controller')),
      [],
    );
  });
});

describe('workloads and throttle attribution', () => {
  function withWorkload(caps: HostCapabilities, workloadFixture: string): Setup {
    const s = setup(caps, { acme: '6.1' });
    place(s.root, 'tenants/acme/workloads/w1', workloadFixture);
    s.catalog.setWorkloads(new Map([['acme', { states: { running: 1, exited: 2 }, running: ['w1'] }]]));
    return s;
  }
  const w = (extra = '') => `{tenant="acme",workload="w1",node="node-a"${extra}}`;

  it("exports a running workload's own usage and throttling, and cpu.stat.local where the kernel has it", async () => {
    const { registry } = withWorkload(KERNEL_66, '6.6');
    const { series } = await scrape(registry);
    assert.equal(series.get(`governor_workload_cpu_usage_seconds_total${w()}`), 731.440192);
    assert.equal(series.get(`governor_workload_cpu_throttled_periods_total${w()}`), 9417);
    assert.equal(series.get(`governor_workload_cpu_throttled_seconds_total${w()}`), 402.118775);
    assert.equal(series.get(`governor_workload_cpu_throttled_local_seconds_total${w()}`), 402.118775);
    assert.equal(series.has(`governor_workload_memory_usage_bytes${w()}`), false, 'the 6.6 sample has no memory.current');
    assert.equal(series.get(`governor_tenant_workloads${t('acme', ',state="running"')}`), 1);
    assert.equal(series.get(`governor_tenant_workloads${t('acme', ',state="exited"')}`), 2);
    assert.equal(series.get(`governor_tenant_workloads${t('acme', ',state="lost"')}`), 0);
  });

  it('sums pids.events max over the leaves before 6.11, with what the reaper kept of removed ones, never going down', async () => {
    const { registry, root, catalog } = withWorkload(GUEST_61, '6.1/idle');
    const events = (dir: string, max: number) => writeFileSync(join(root, dir, 'pids.events'), `max ${max}\n`);
    events('tenants/acme', 0);
    events('tenants/acme/workloads/w1', 3);
    mkdirSync(join(root, 'tenants/acme/attached'));
    events('tenants/acme/attached', 2);
    const maxHits = async () => (await scrape(registry)).series.get(`governor_tenant_pids_events_total${t('acme', ',event="max"')}`);
    assert.equal(await maxHits(), 5);
    events('tenants/acme/workloads/w1', 4);
    assert.equal(await maxHits(), 6);
    // The leaf is removed (the catalog still lists it running for a moment) before the reaper adds its count.
    rmSync(join(root, 'tenants/acme/workloads/w1'), { recursive: true });
    assert.equal(await maxHits(), 6, 'a leaf gone before its count is kept does not make the counter go down');
    catalog.addRetiredPidsMax('acme', 4);
    catalog.setWorkloads(new Map([['acme', { states: { exited: 3 }, running: [] }]]));
    assert.equal(await maxHits(), 6);
    events('tenants/acme/attached', 3);
    assert.equal(await maxHits(), 7, 'and it keeps counting');
  });

  it('reads only the tenant pids.events from 6.11, where it is hierarchical', async () => {
    const { registry, root } = withWorkload({ ...GUEST_61, features: { ...GUEST_61.features, pidsEventsLocal: true } }, '6.1/idle');
    writeFileSync(join(root, 'tenants/acme/pids.events'), 'max 7\n');
    writeFileSync(join(root, 'tenants/acme/workloads/w1/pids.events'), 'max 7\n');
    assert.equal((await scrape(registry)).series.get(`governor_tenant_pids_events_total${t('acme', ',event="max"')}`), 7);
  });

  it('does not read cpu.stat.local on a kernel without it (the 6.1 guest)', async () => {
    const { registry, fs } = withWorkload(GUEST_61, '6.1/idle');
    fs.unreadable.add('tenants/acme/workloads/w1/cpu.stat.local');
    const { series } = await scrape(registry);
    assert.equal(series.get(`governor_workload_cpu_usage_seconds_total${w()}`), 0);
    assert.equal(series.get(`governor_workload_memory_usage_bytes${w()}`), 0);
    assert.equal(series.has(`governor_workload_cpu_throttled_local_seconds_total${w()}`), false);
    assert.equal(series.get('governor_collector_errors_total{collector="cpu"}'), 0);
  });
});

describe('failures cost their own series only', () => {
  it("drops a deleted tenant's series, its drift corrections included, with the next scrape", async () => {
    const { registry, catalog, drift } = setup(GUEST_61, { gone: '6.1', kept: '6.1/idle' });
    drift.inc({ tenant: 'gone', file: 'memory.max' });
    drift.inc({ tenant: 'kept', file: 'cpu.max' });
    assert.ok(tenantSeries((await scrape(registry)).series, 'gone').length > 40);
    catalog.deleteTenant('gone');
    await nextTurn(); // the reconciler's deletion and an HTTP request never share one tick of the loop
    const { series, text } = await scrape(registry);
    assert.equal(text.includes('"gone"'), false, 'no series names the deleted tenant');
    assert.ok(tenantSeries(series, 'kept').length > 20);
    assert.equal(series.get('governor_drift_corrections_total{tenant="kept",file="cpu.max"}'), 1);
  });

  it('loses only the series of a tenant whose cgroup was removed by hand, and counts it', async () => {
    const { registry, root } = setup(GUEST_61, { broken: '6.1', fine: '6.1' });
    rmSync(join(root, 'tenants/broken'), { recursive: true });
    const { series } = await scrape(registry);
    assert.deepEqual(tenantSeries(series, 'broken'), []);
    assert.equal(series.get(`governor_tenant_cpu_usage_seconds_total${t('fine')}`), 16.711371);
    assert.equal(series.get(`governor_tenant_memory_events_total${t('fine', ',event="oom_kill"')}`), 4);
    assert.equal(series.get('governor_collector_errors_total{collector="tenants"}'), 1);
    assert.equal(series.get('governor_tenants{state="Ready",node="node-a"}'), 2, 'it is still a tenant of this node');
    for (const collector of ['tenants', 'cpu', 'memory', 'pids', 'io', 'pressure'])
      assert.equal(series.get(`governor_collector_success{collector="${collector}"}`), 1);
    assert.equal((await scrape(registry)).series.get('governor_collector_errors_total{collector="tenants"}'), 2, 'a counter, growing by scrape');
  });

  it('does not count the cgroup of a terminating tenant going away as an error', async () => {
    const { registry, root, catalog } = setup(GUEST_61, { leaving: '6.1' });
    catalog.setTenant({ name: 'leaving', id: 'id-leaving', hostInterface: undefined, phase: 'Terminating' });
    rmSync(join(root, 'tenants/leaving'), { recursive: true });
    const { series } = await scrape(registry);
    assert.equal(series.get('governor_collector_errors_total{collector="tenants"}'), 0);
    assert.equal(series.get('governor_tenants{state="Terminating",node="node-a"}'), 1);
  });

  it('loses only the series of a file that cannot be read or parsed', async () => {
    const { registry, fs, root, readErrors } = setup(GUEST_61, { acme: '6.1', other: '6.1' });
    fs.unreadable.add('tenants/acme/memory.stat');
    copyFileSync(join(FIXTURES, '6.1', 'cpu.max'), join(root, 'tenants/acme/pids.max'));
    const { series } = await scrape(registry);
    assert.equal(series.has(`governor_tenant_memory_working_set_bytes${t('acme')}`), false);
    assert.equal(series.get(`governor_tenant_memory_usage_bytes${t('acme')}`), 3334144);
    assert.equal(series.has(`governor_tenant_pids_limit${t('acme')}`), false);
    assert.equal(series.get(`governor_tenant_pids_current${t('acme')}`), 15);
    assert.equal(series.get(`governor_tenant_memory_working_set_bytes${t('other')}`), 3334144 - 77824);
    assert.equal(series.get('governor_collector_errors_total{collector="memory"}'), 1);
    assert.equal(series.get('governor_collector_errors_total{collector="pids"}'), 1);
    assert.equal(series.get('governor_collector_success{collector="memory"}'), 1);
    assert.deepEqual(readErrors, ['memory tenants/acme/memory.stat'], 'the unreadable file is reported; the garbled one is only counted');
  });

  it('reports a collector that fails as a whole with success 0 and none of its series, and keeps the others', async () => {
    const { registry, catalog, netdev } = setup(GUEST_61, { acme: '6.1' });
    catalog.setTenant({ name: 'acme', id: 'id-acme', hostInterface: 'gv0123456789', phase: 'Ready' });
    netdev.text = new Error('EACCES: /proc/net/dev');
    let { series } = await scrape(registry);
    assert.equal(series.get('governor_collector_success{collector="network"}'), 0);
    assert.deepEqual(
      [...series.keys()].filter((key) => key.startsWith('governor_tenant_network')),
      [],
    );
    assert.equal(series.get('governor_collector_success{collector="cpu"}'), 1);
    assert.equal(series.get(`governor_tenant_cpu_usage_seconds_total${t('acme')}`), 16.711371);

    netdev.text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      'gv0123456789:     516       6    0    2    0     0          0         0      900       7    0    3    0     0       0          0',
      '',
    ].join('\n');
    ({ series } = await scrape(registry));
    assert.equal(series.get('governor_collector_success{collector="network"}'), 1);
    assert.equal(series.get(`governor_tenant_network_receive_bytes_total${t('acme')}`), 900, 'into the tenant: what the host end sent');
    assert.equal(series.get(`governor_tenant_network_transmit_bytes_total${t('acme')}`), 516);
    assert.equal(series.get(`governor_tenant_network_drops_total${t('acme')}`), 5);
  });
});

describe('one collection per scrape', () => {
  it('reads each file once per scrape however many families ask, and again on the next scrape', async () => {
    const s = setup(GUEST_61, { acme: '6.1' });
    const reads = new Map<string, number>();
    const read = s.fs.read.bind(s.fs);
    s.fs.read = async (dir, file) => {
      reads.set(`${dir}/${file}`, (reads.get(`${dir}/${file}`) ?? 0) + 1);
      return read(dir, file);
    };
    await scrape(s.registry);
    assert.ok(reads.size >= 18, [...reads.keys()].join(' '));
    assert.deepEqual([...new Set(reads.values())], [1]);
    await Promise.all([scrape(s.registry), scrape(s.registry)]);
    assert.deepEqual([...new Set(reads.values())], [2], 'two scrapes at once share one collection');
  });
});
