import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition } from './metrics.parse';

describe('parseExposition', () => {
  it('reads the wanted series with their labels and values, and skips the rest', () => {
    const text = [
      '# HELP governor_workload_cpu_usage_seconds_total CPU time',
      '# TYPE governor_workload_cpu_usage_seconds_total counter',
      'governor_workload_cpu_usage_seconds_total{tenant="acme",workload="w1",node="n"} 12.5',
      'governor_workload_memory_usage_bytes{tenant="acme",workload="w1",node="n"} 4096',
      'governor_tenants{state="Ready"} 2',
      'odd_label{msg="a \\"quoted\\" word"} 1',
    ].join('\n');
    assert.deepEqual(parseExposition(text, new Set(['governor_workload_cpu_usage_seconds_total', 'odd_label'])), [
      { name: 'governor_workload_cpu_usage_seconds_total', labels: { tenant: 'acme', workload: 'w1', node: 'n' }, value: 12.5 },
      { name: 'odd_label', labels: { msg: 'a "quoted" word' }, value: 1 },
    ]);
  });
});
