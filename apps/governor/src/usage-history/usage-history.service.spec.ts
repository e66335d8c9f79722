import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CgroupDriver } from '../../../../libs/cgroup/src/driver';
import type { LinkCounters } from '../../../../libs/network/src/tenant-link';
import type { HostAccess } from '../host/host.access';
import type { CatalogTenant, TenantCatalog } from '../metrics/tenant-catalog';
import type { TenantEventsService } from '../tenant-events/tenant-events.service';
import { UsageHistoryService } from './usage-history.service';

/** Cgroup files as the kernel prints them, per tenant; a call to readAcross is counted with its tenants. */
class FakeCgroups {
  readonly calls: string[][] = [];
  usec = new Map<string, number>();
  oomKills = 0;

  readAcross(dir: string, children: readonly string[], files: readonly string[], perCall: number): Promise<Map<string, Map<string, string | undefined>>> {
    assert.equal(dir, 'tenants');
    assert.ok(children.length <= perCall);
    this.calls.push([...children]);
    const text = (child: string, file: string): string | undefined =>
      child === 'gone'
        ? undefined
        : (
            {
              'cpu.stat': `usage_usec ${this.usec.get(child) ?? 0}\nuser_usec 0\nsystem_usec 0\nnr_periods 10\nnr_throttled 0\nthrottled_usec 0\n`,
              'memory.current': '1048576\n',
              'pids.current': '3\n',
              'memory.events': `low 0\nhigh 0\nmax 0\noom 0\noom_kill ${this.oomKills}\noom_group_kill 0\n`,
            } as Record<string, string>
          )[file];
    return Promise.resolve(new Map(children.map((child) => [child, new Map(files.map((file) => [file, text(child, file)]))])));
  }
}

function service(tenants: CatalogTenant[], cgroups: FakeCgroups, links: Map<string, LinkCounters>, usageSampleIntervalMs = 15_000) {
  const events: Array<{ tenantId: string; kind: string }> = [];
  const host: Pick<HostAccess, 'maybeCgroups' | 'linkCounters'> = {
    maybeCgroups: () => ({ fs: cgroups }) as unknown as CgroupDriver,
    linkCounters: () => links,
  };
  const catalog: Pick<TenantCatalog, 'tenants'> = { tenants: () => tenants };
  const record: Pick<TenantEventsService, 'record'> = {
    record: (tenantId: string, kind: string) => {
      events.push({ tenantId, kind });
      return Promise.resolve();
    },
  };
  return { history: new UsageHistoryService(host, catalog, record, { usageSampleIntervalMs }), events };
}

const tenant = (name: string, hostInterface?: string): CatalogTenant => ({ name, id: `id-${name}`, hostInterface, phase: 'Ready' });

describe('UsageHistoryService', () => {
  it('reads every tenant 128 to a native call and every link from one listing', async () => {
    const cgroups = new FakeCgroups();
    const names = Array.from({ length: 300 }, (_, i) => `t-${i}`);
    const { history } = service(
      names.map((name) => tenant(name, `gv-${name}`)),
      cgroups,
      new Map(),
    );
    await history.sampleAll();
    assert.deepEqual(
      cgroups.calls.map((call) => call.length),
      [128, 128, 44],
    );
    assert.deepEqual(cgroups.calls.flat(), names);
  });

  it('turns two samples into a point: CPU, memory, pids and the link counters from the tenant side', async () => {
    const cgroups = new FakeCgroups();
    const links = new Map<string, LinkCounters>([['gv-a', { receiveBytes: 1000, transmitBytes: 0, drops: 0 }]]);
    const { history } = service([tenant('a', 'gv-a'), tenant('gone')], cgroups, links);
    await history.sampleAll();
    assert.deepEqual(history.history('a').points, []);
    cgroups.usec.set('a', 5_000_000);
    links.set('gv-a', { receiveBytes: 1000 + 625_000, transmitBytes: 0, drops: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await history.sampleAll();
    const [point] = history.history('a').points;
    assert.ok(point !== undefined);
    assert.ok((point.cpuCores ?? 0) > 0);
    assert.ok((point.receiveBitsPerSecond ?? 0) > 0);
    assert.equal(point.transmitBitsPerSecond, 0);
    assert.equal(point.memoryBytes, 1048576);
    assert.equal(point.pids, 3);
    // A tenant whose cgroup is gone has a point with nothing measured, not a failed sample.
    const [none] = history.history('gone').points;
    assert.equal(none?.memoryBytes, null);
    assert.equal(none?.cpuCores, null);
  });

  it('keeps 30 minutes of points at its step, and says the step', async () => {
    const { history } = service([tenant('a')], new FakeCgroups(), new Map(), 300_000);
    for (let i = 0; i < 9; i++) await history.sampleAll();
    assert.equal(history.history('a').intervalSeconds, 300);
    assert.equal(history.history('a').points.length, 6);
  });

  it('records an OOM kill seen between two samples as an event of that tenant', async () => {
    const cgroups = new FakeCgroups();
    const { history, events } = service([tenant('a')], cgroups, new Map());
    await history.sampleAll();
    cgroups.oomKills = 2;
    await history.sampleAll();
    assert.deepEqual(events, [{ tenantId: 'id-a', kind: 'oom-kill' }]);
  });
});
