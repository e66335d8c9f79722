import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pc from 'picocolors';
import type { TenantUsage } from './api.types';
import { fitColumns, renderTop, sortRows, TENANT_TOP_COLUMNS, type TenantSample, tenantRows } from './top.view';

const usage = (cpuSeconds: number, periods: number, throttled: number, memory: number, rbytes = 0, psiUsec = 0): TenantUsage => ({
  cpu: { usageSeconds: cpuSeconds, periods, throttledPeriods: throttled },
  memory: { currentBytes: memory },
  pids: { current: 3 },
  io: [{ device: '8:0', rbytes, wbytes: 0 }],
  pressure: { cpu: { some: { totalUsec: psiUsec } } },
  frozen: false,
  populated: true,
});
const sample = (name: string, at: number, u: TenantUsage): TenantSample => ({
  name,
  phase: 'Ready',
  quota: { cpu: { max: '2' }, memory: { max: 1073741824 } },
  usage: u,
  workloads: 1,
  at,
});

describe('top rows', () => {
  const before = new Map([
    ['busy', sample('busy', 0, usage(10, 100, 0, 100, 0))],
    ['idle', sample('idle', 0, usage(1, 100, 0, 200, 0))],
  ]);
  const now = [sample('busy', 2000, usage(11.9, 120, 5, 100, 4096, 400_000)), sample('idle', 2000, usage(1.01, 100, 0, 200))];
  const rows = tenantRows(before, now);

  it('turns two reads into CPU cores, a throttled share and io rates', () => {
    const busy = rows.find((r) => r.name === 'busy')!;
    assert.ok(Math.abs(busy.cpu! - 0.95) < 1e-9);
    assert.equal(busy.throttled, 0.25);
    assert.equal(busy.readRate, 2048);
    assert.equal(busy.psiCpu, 0.2, 'PSI: 0.4 s stalled in 2 s');
    assert.equal(busy.cpuCap, 2);
    assert.equal(rows.find((r) => r.name === 'idle')!.throttled, 0);
  });

  it('has no rates on the first frame', () => {
    assert.equal(tenantRows(new Map(), now)[0].cpu, undefined);
  });

  it('sorts the busiest first for cpu and the biggest first for memory', () => {
    assert.deepEqual(
      sortRows(rows, 'cpu').map((r) => r.name),
      ['busy', 'idle'],
    );
    assert.deepEqual(
      sortRows(rows, 'memory').map((r) => r.name),
      ['idle', 'busy'],
    );
    assert.deepEqual(
      sortRows(rows, 'name').map((r) => r.name),
      ['busy', 'idle'],
    );
  });

  it('drops the least important columns to fit a narrow terminal', () => {
    const names = fitColumns(TENANT_TOP_COLUMNS, 80).map((c) => c.header);
    assert.ok(names.includes('TENANT') && names.includes('CPU%') && names.includes('MEMORY'));
    assert.ok(!names.includes('PHASE'));
    assert.equal(fitColumns(TENANT_TOP_COLUMNS, 400).length, TENANT_TOP_COLUMNS.length);
  });

  it('renders a title, a header with the sort column and one line per row, within the width', () => {
    const lines = renderTop(TENANT_TOP_COLUMNS, sortRows(rows, 'cpu'), {
      title: 'govctl top',
      sort: 'cpu',
      width: 160,
      height: 10,
      colors: pc.createColors(false),
    });
    assert.equal(lines[0], 'govctl top');
    assert.match(lines[2], /^TENANT +.*CPU%/);
    assert.match(lines[3], /^busy +Ready +95%/);
    assert.match(lines[4], /^idle /);
    assert.ok(lines.every((l) => l.length <= 160));
  });
});
