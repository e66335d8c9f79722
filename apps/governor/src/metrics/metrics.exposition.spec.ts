import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import type { HostCapabilities } from '../../../../libs/cgroup/src/capabilities';
import type { CgroupFileList, CgroupFileReader, FileListRead } from '../../../../libs/cgroup/src/collect';
import { ExpositionBuffer } from './exposition-buffer';
import { MetricFamily } from './metric-family';
import { MetricsExporter } from './metrics.exporter';
import { NodeHeartbeats } from './node-heartbeats';
import { TenantCatalog } from './tenant-catalog';

// GET /metrics' own formatting (MetricsExporter.exposition) against prom-client's registry.metrics(), and
// the scrape's one read of every file, over an in-memory tree filled from the samples in test/fixtures.

const FIXTURES = join(__dirname, '..', '..', '..', '..', '..', 'test', 'fixtures', 'cgroup');

/** The files of a fixture directory by name. */
function sample(fixture: string): Map<string, string> {
  const dir = join(FIXTURES, fixture);
  return new Map(
    readdirSync(dir)
      .filter((file) => statSync(join(dir, file)).isFile())
      .map((file) => [file, readFileSync(join(dir, file), 'utf8')]),
  );
}

/** A tree of cgroup files in memory that reads a whole list in one call, and counts how it was read. */
class ListReader implements CgroupFileReader {
  readonly files = new Map<string, string>();
  listReads = 0;
  fileReads = 0;
  failure: Error | undefined;

  place(dir: string, files: Map<string, string>): void {
    for (const [file, text] of files) this.files.set(`${dir}/${file}`, text);
  }

  read(dir: string, file: string): Promise<string | undefined> {
    this.fileReads += 1;
    return Promise.resolve(this.files.get(`${dir}/${file}`));
  }

  readList(list: CgroupFileList): Promise<FileListRead> {
    this.listReads += 1;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve({ texts: list.entries.map(([dir, file]) => this.files.get(`${dir}/${file}`)), errors: new Map() });
  }
}

const GUEST_61: HostCapabilities = {
  kernel: '6.1',
  mode: 'unified',
  mount: '/sys/fs/cgroup',
  root: '/sys/fs/cgroup/governor',
  available: ['cpu', 'cpuset', 'io', 'memory', 'pids'],
  missing: [],
  features: { kill: true, cpuBurst: true, memoryPeak: true, swap: true, cpuStatLocal: false, pidsEventsLocal: false, pressure: true, ioWeightEffective: false },
  pageSize: 4096,
};

function exporterOver(reader: ListReader, tenants: Record<string, string>) {
  const registry = new Registry();
  const catalog = new TenantCatalog();
  for (const [name, fixture] of Object.entries(tenants)) {
    reader.place(`tenants/${name}`, sample(fixture));
    catalog.setTenant({ name, id: `id-${name}`, hostInterface: undefined, phase: 'Ready' });
  }
  const heartbeats = new NodeHeartbeats();
  heartbeats.set([{ name: 'node-a', heartbeatAt: new Date('2025-01-01T00:00:00Z'), heartbeatIntervalMs: 10_000 }]);
  // prom-client's own kinds beside the families, as GovernorMetrics registers them.
  const writes = new Counter({ name: 'governor_cgroup_writes_total', help: 'Writes', registers: [registry] });
  const drift = new Counter({ name: 'governor_drift_corrections_total', help: 'Drift', labelNames: ['tenant', 'file'], registers: [registry] });
  const duration = new Histogram({ name: 'governor_reconcile_duration_seconds', help: 'Time', buckets: [0.01, 0.1], registers: [registry] });
  writes.inc(3);
  drift.inc({ tenant: 'acme', file: 'memory.max' });
  duration.observe(0.05);
  const exporter = new MetricsExporter({
    registry,
    catalog,
    heartbeats,
    host: () => ({ fs: reader, capabilities: GUEST_61 }),
    node: 'node-a',
    driftCorrections: drift,
    readNetdev: () => Promise.resolve(''),
    clock: () => Date.parse('2025-01-01T00:00:10Z'),
  });
  return { registry, catalog, exporter };
}

/** The text without the duration lines, which differ from one collection to the next. */
const stable = (text: string) =>
  text
    .split('\n')
    .filter((line) => !line.startsWith('governor_collector_duration_seconds{'))
    .join('\n');

describe('GET /metrics exposition', () => {
  it('is byte for byte what prom-client formats, prom-client metrics and empty families included', async () => {
    const reader = new ListReader();
    const { registry, exporter } = exporterOver(reader, { acme: '6.1', idle: '6.1/idle', old: '5.10' });
    const ours = (await exporter.exposition()).toString();
    const theirs = await registry.metrics();
    assert.equal(stable(ours), stable(theirs));
    assert.match(ours, /^governor_tenant_memory_events_total\{tenant="acme",node="node-a",event="oom_kill"\} 4$/m);
    assert.match(ours, /^# HELP governor_tenant_network_receive_bytes_total .*\n# TYPE governor_tenant_network_receive_bytes_total counter$/m);
    assert.match(ours, /^governor_reconcile_duration_seconds_bucket\{le="0.1"\} 1$/m);
    assert.ok(ours.endsWith('\n') && !ours.endsWith('\n\n'));
  });

  it('escapes help, label values and special values as prom-client does', async () => {
    const registry = new Registry();
    const odd = { tenant: 'a"b\\c\nd', node: 'n' };
    const family = new MetricFamily('governor_test_value', 'help with \\ and\nnewline', 'gauge', () =>
      Promise.resolve([
        { value: Number.NaN, sharedLabels: odd },
        { value: Number.POSITIVE_INFINITY, sharedLabels: { tenant: 'x', node: 'n' } },
        { value: Number.NEGATIVE_INFINITY, sharedLabels: {} },
        { value: 1e21, sharedLabels: { tenant: 'y', node: 'n' } },
        { value: -0.000001234, sharedLabels: { tenant: 'zürich-東京', node: 'n' } },
      ]),
    ).register(registry);
    const { values } = await family.get();
    const out = new ExpositionBuffer(16);
    family.write(values, out);
    out.byte(0x0a);
    assert.equal(out.finish().toString(), await registry.metrics());
  });

  it('reads every file of a scrape in one call and serves scrapes that arrive together from it', async () => {
    const reader = new ListReader();
    const { exporter } = exporterOver(reader, { acme: '6.1', beta: '6.1/idle' });
    const [first, second] = await Promise.all([exporter.exposition(), exporter.exposition()]);
    assert.equal(first, second);
    assert.deepEqual({ lists: reader.listReads, files: reader.fileReads }, { lists: 1, files: 0 });
    assert.match(first.toString(), /^governor_tenant_cpu_usage_seconds_total\{tenant="beta",node="node-a"\} /m);
    await exporter.exposition();
    assert.equal(reader.listReads, 2, 'the next scrape reads again');
  });

  it('reads again the files of a tenant that appears, and no longer those of one that left', async () => {
    const reader = new ListReader();
    const { catalog, exporter } = exporterOver(reader, { acme: '6.1' });
    assert.match((await exporter.exposition()).toString(), /tenant="acme"/);
    reader.place('tenants/late', sample('6.1/idle'));
    catalog.setTenant({ name: 'late', id: 'id-late', hostInterface: undefined, phase: 'Ready' });
    catalog.deleteTenant('acme');
    const text = (await exporter.exposition()).toString();
    assert.match(text, /^governor_tenant_memory_usage_bytes\{tenant="late",node="node-a"\} \d+$/m);
    assert.doesNotMatch(text, /tenant="acme"/);
  });

  it('fails the collectors that read files when the list cannot be read, and keeps the others', async () => {
    const reader = new ListReader();
    const { exporter } = exporterOver(reader, { acme: '6.1' });
    reader.failure = new Error('EACCES: the cgroup root');
    const text = (await exporter.exposition()).toString();
    for (const collector of ['tenants', 'cpu', 'memory', 'pids', 'io', 'pressure'])
      assert.match(text, new RegExp(`^governor_collector_success\\{collector="${collector}"\\} 0$`, 'm'), collector);
    for (const collector of ['network', 'workloads', 'node'])
      assert.match(text, new RegExp(`^governor_collector_success\\{collector="${collector}"\\} 1$`, 'm'), collector);
    assert.doesNotMatch(text, /^governor_tenant_cpu_usage_seconds_total/m);
    assert.doesNotMatch(text, /^governor_tenants\{/m, "a failed collector's series are all gone, those it had before its first read too");
  });
});
