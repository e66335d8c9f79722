import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantEntity } from '../../../../libs/persistence/src/entities';
import { recordOf, type TenantRecordRow } from './tenants.repository';

const row: TenantRecordRow = {
  id: '0b9f4c1e-2a4d-4f43-9d0e-5b7a1c3e9f21',
  name: 'alpha',
  display_name: 'Alpha',
  quota: { pids: { max: 256 } },
  rootfs: null,
  hostname: null,
  nodes: [],
  suspended: false,
  generation: '9007199254740991',
  resource_version: '12',
  force_generation: null,
  created_at: new Date('2026-12-06T07:00:00.000Z'),
  updated_at: new Date('2026-12-06T07:00:01.000Z'),
  deletion_requested_at: null,
  deleted_at: null,
  uid_start: '1879048192',
  uid_size: 65536,
  net_block: '10.228.0.4/31',
  statuses: [
    {
      node: 'vm',
      observedGeneration: 9,
      phase: 'Ready',
      conditions: [],
      cgroupPath: '/sys/fs/cgroup/governor/tenants/alpha',
      isolation: null,
      updatedAt: '2026-12-06T07:00:02.123456+00:00',
    },
  ],
  fleet: [{ name: 'vm', heartbeatAt: '2026-12-06T07:00:05.5+00:00', heartbeatIntervalMs: 10_000 }],
};

describe('the tenant record of one statement', () => {
  it('builds the entities TypeORM would have: bigints as numbers, json timestamps as dates', () => {
    const record = recordOf(row, Date.parse('2026-12-06T07:00:06Z'));
    assert.ok(record.tenant instanceof TenantEntity);
    assert.equal(record.tenant.generation, 9007199254740991);
    assert.equal(record.tenant.resourceVersion, 12);
    assert.equal(record.tenant.forceGeneration, null);
    assert.equal(record.tenant.displayName, 'Alpha');
    assert.equal(record.statuses[0].tenantId, row.id);
    assert.equal(record.statuses[0].updatedAt.toISOString(), '2026-12-06T07:00:02.123Z');
    assert.deepEqual(record.allocation, {
      uidRange: { start: 1879048192, size: 65536 },
      netBlock: '10.228.0.4/31',
      hostAddress: '10.228.0.4',
      tenantAddress: '10.228.0.5',
      prefix: 31,
    });
    assert.deepEqual(record.fleet, [{ name: 'vm', ready: true, gone: false, heartbeatAt: new Date('2026-12-06T07:00:05.500Z') }]);
  });

  it('has no allocation for a tenant without one', () => {
    assert.equal(recordOf({ ...row, uid_start: null, uid_size: null, net_block: null }, Date.now()).allocation, undefined);
  });
});
