import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition } from './metrics.parse';
import { TENANT_SERIES, tenantsFromMetrics } from './tenant-metrics.parse';

describe('tenantsFromMetrics', () => {
  it("sums each tenant's series over nodes and devices into the usage top needs", () => {
    const text = [
      'governor_tenant_cpu_usage_seconds_total{tenant="acme",node="a"} 10',
      'governor_tenant_cpu_usage_seconds_total{tenant="acme",node="b"} 2.5',
      'governor_tenant_cpu_periods_total{tenant="acme",node="a"} 100',
      'governor_tenant_cpu_throttled_periods_total{tenant="acme",node="a"} 7',
      'governor_tenant_memory_usage_bytes{tenant="acme",node="a"} 4096',
      'governor_tenant_pids_current{tenant="acme",node="a"} 3',
      'governor_tenant_io_read_bytes_total{tenant="acme",node="a",device="8:0"} 100',
      'governor_tenant_io_write_bytes_total{tenant="acme",node="a",device="8:0"} 50',
      'governor_tenant_pressure_seconds_total{tenant="acme",node="a",resource="cpu",kind="some"} 1.5',
      'governor_tenant_pressure_seconds_total{tenant="acme",node="a",resource="cpu",kind="full"} 9',
      'governor_tenant_workloads{tenant="acme",node="a",state="running"} 2',
      'governor_tenant_workloads{tenant="acme",node="a",state="exited"} 5',
      'governor_tenant_workloads{tenant="pending",node="a",state="running"} 0',
    ].join('\n');
    const tenants = tenantsFromMetrics(parseExposition(text, TENANT_SERIES));
    assert.deepEqual([...tenants.keys()], ['acme'], 'a tenant without a CPU series is left to /usage');
    const acme = tenants.get('acme')!;
    assert.equal(acme.workloads, 2);
    assert.deepEqual(acme.usage.cpu, { usageSeconds: 12.5, periods: 100, throttledPeriods: 7 });
    assert.deepEqual([acme.usage.memory.currentBytes, acme.usage.pids.current], [4096, 3]);
    assert.deepEqual(acme.usage.io, [{ device: 'a/8:0', rbytes: 100, wbytes: 50 }]);
    assert.deepEqual(acme.usage.pressure.cpu, { some: { totalUsec: 1.5e6 } });
  });
});
