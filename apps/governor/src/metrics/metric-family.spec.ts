import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { MetricFamily, type Sample, ScrapeSnapshot } from './metric-family';

describe('MetricFamily', () => {
  it('is exposed by a prom-client Registry with its own type, help and the labels of each sample', async () => {
    const registry = new Registry();
    const labels = { tenant: 'acme', node: 'n1' };
    const samples: Sample[] = [
      { value: 1.5, sharedLabels: labels },
      { value: 7, sharedLabels: { tenant: 'beta', node: 'n1' } },
    ];
    new MetricFamily('governor_tenant_cpu_usage_seconds_total', 'CPU time', 'counter', () => Promise.resolve(samples)).register(registry);
    new MetricFamily('governor_tenant_cpu_weight', 'cpu.weight', 'gauge', () => Promise.resolve([])).register(registry);
    assert.equal(
      await registry.metrics(),
      [
        '# HELP governor_tenant_cpu_usage_seconds_total CPU time',
        '# TYPE governor_tenant_cpu_usage_seconds_total counter',
        'governor_tenant_cpu_usage_seconds_total{tenant="acme",node="n1"} 1.5',
        'governor_tenant_cpu_usage_seconds_total{tenant="beta",node="n1"} 7',
        '',
        '# HELP governor_tenant_cpu_weight cpu.weight',
        '# TYPE governor_tenant_cpu_weight gauge',
        '',
      ].join('\n'),
    );
  });

  it('refuses a counter whose name does not end in _total', () => {
    assert.throws(() => new MetricFamily('governor_tenant_cpu_usage_seconds', 'x', 'counter', () => Promise.resolve([])), /_total/);
  });
});

describe('ScrapeSnapshot', () => {
  it('keeps each family its own list and forgets a failed collector entirely', () => {
    const snapshot = new ScrapeSnapshot();
    const a = new MetricFamily('a_total', 'a', 'counter', () => Promise.resolve([]));
    const b = new MetricFamily('b', 'b', 'gauge', () => Promise.resolve([]));
    snapshot.series(a).push({ value: 1, sharedLabels: {} });
    snapshot.series(a).push({ value: 2, sharedLabels: {} });
    snapshot.series(b).push({ value: 3, sharedLabels: {} });
    assert.deepEqual(
      snapshot.samples(a).map((s) => s.value),
      [1, 2],
    );
    snapshot.drop([a]);
    assert.deepEqual(snapshot.samples(a), []);
    assert.equal(snapshot.samples(b).length, 1);
  });

  it('releases one waiter per turn of the event loop, so that other callbacks run in between', async () => {
    const snapshot = new ScrapeSnapshot();
    const order: string[] = [];
    const turns = ['a', 'b', 'c'].map((name) => snapshot.turn().then(() => order.push(name)));
    setImmediate(() => order.push('other'));
    await Promise.all(turns);
    assert.deepEqual(order, ['a', 'other', 'b', 'c']);
  });
});
