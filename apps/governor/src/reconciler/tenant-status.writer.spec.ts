import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import type { GovernorConfig } from '../config/governor.config';
import { TenantCatalog } from '../metrics/tenant-catalog';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { FirewallSync } from './firewall-sync';
import type { TenantStatusRow, TenantStatusWrite } from './reconciler.repository';
import { sameStatus, type TenantStatusStore, TenantStatusWriter } from './tenant-status.writer';

/** Status rows in memory, keyed by tenant id and node. */
class MemoryStatusStore implements TenantStatusStore {
  readonly rows = new Map<string, TenantStatusRow>();
  writes = 0;

  status(tenantId: string, node: string): Promise<TenantStatusRow | undefined> {
    return Promise.resolve(this.rows.get(`${tenantId}/${node}`));
  }

  saveStatus(tenantId: string, node: string, status: TenantStatusWrite): Promise<void> {
    this.writes += 1;
    const before = this.rows.get(`${tenantId}/${node}`);
    this.rows.set(`${tenantId}/${node}`, { ...status, isolation: status.isolation !== undefined ? status.isolation : (before?.isolation ?? null) });
    return Promise.resolve();
  }

  deleteStatus(tenantId: string, node: string): Promise<void> {
    this.rows.delete(`${tenantId}/${node}`);
    return Promise.resolve();
  }
}

const config = { nodeName: 'node-1' } as GovernorConfig;
const noFirewall = new FirewallSync(
  { ensure: () => Promise.resolve({ written: false, drift: [] }) },
  { applied: () => Promise.resolve(), failed: () => undefined },
);
const tenant = (generation: number) => ({ id: '0a1b2c3d-0000-4000-8000-000000000001', name: 'acme', generation }) as TenantEntity;

describe('TenantStatusWriter', () => {
  it('keeps the generation observed before when a reconcile failed, so a failed change is not taken as applied', async () => {
    const store = new MemoryStatusStore();
    const writer = new TenantStatusWriter(store, new TenantCatalog(), noFirewall, config);
    await writer.save(tenant(3), 'Ready', [], '/cg/acme');
    await writer.save(tenant(4), 'Error', [{ type: 'Reconciled', status: 'False', reason: 'ReconcileFailed', message: 'EACCES' }], '/cg/acme', false);
    const row = await store.status(tenant(4).id, 'node-1');
    assert.deepEqual({ generation: row?.observedGeneration, phase: row?.phase }, { generation: 3, phase: 'Error' });
  });

  it('keeps the catalog in step: a phase for a scrape, and nothing once the tenant is Deleted or forgotten', async () => {
    const catalog = new TenantCatalog();
    const store = new MemoryStatusStore();
    const writer = new TenantStatusWriter(store, catalog, noFirewall, config);
    await writer.save(tenant(1), 'Ready', [], '/cg/acme');
    assert.equal(catalog.tenant('acme')?.phase, 'Ready');
    await writer.save(tenant(1), 'Deleted', [], null);
    assert.equal(catalog.tenant('acme'), undefined);
    await writer.save(tenant(2), 'Ready', [], '/cg/acme');
    await writer.forget('acme', tenant(2).id);
    assert.equal(catalog.tenant('acme'), undefined);
    assert.equal(store.rows.size, 0);
  });

  it('writes nothing when the status means what the row read before the pass says', async () => {
    const store = new MemoryStatusStore();
    const writer = new TenantStatusWriter(store, new TenantCatalog(), noFirewall, config);
    const isolation = { init: { pid: 42, state: 'running', restarts: 0, restartedAt: null }, namespaces: [{ kind: 'pid', inode: 4026532000 }] };
    const degraded: Condition[] = [{ type: 'Degraded', status: 'True', reason: 'HomeFailed', message: 'no loop device' }];
    await writer.save(tenant(2), 'Degraded', degraded, '/cg/acme', true, isolation);
    // As jsonb hands it back: keys in another order.
    const stored = JSON.parse(
      JSON.stringify(await store.status(tenant(2).id, 'node-1'), [
        'observedGeneration',
        'cgroupPath',
        'phase',
        'isolation',
        'namespaces',
        'inode',
        'kind',
        'init',
        'state',
        'restartedAt',
        'restarts',
        'pid',
        'conditions',
        'message',
        'reason',
        'status',
        'type',
      ]),
    ) as TenantStatusRow;
    await writer.save(tenant(2), 'Degraded', [{ ...degraded[0] }], '/cg/acme', true, { ...isolation }, stored);
    assert.equal(store.writes, 1);
    await writer.save(tenant(2), 'Ready', [], '/cg/acme', true, isolation, stored);
    assert.equal(store.writes, 2);
    assert.equal((await store.status(tenant(2).id, 'node-1'))?.phase, 'Ready');
  });

  it('tells a changed generation, path, condition or init from the row', () => {
    const isolation = { init: { pid: 42, state: 'running', restarts: 0, restartedAt: null }, namespaces: [] };
    const row: TenantStatusRow = { observedGeneration: 3, phase: 'Ready', conditions: [], cgroupPath: '/cg/acme', isolation };
    const same = { observedGeneration: 3, phase: 'Ready', conditions: [], cgroupPath: '/cg/acme' };
    assert.equal(sameStatus(row, same), true);
    assert.equal(sameStatus(row, { ...same, isolation: { ...isolation } }), true);
    assert.equal(sameStatus(row, { ...same, observedGeneration: 4 }), false);
    assert.equal(sameStatus(row, { ...same, cgroupPath: null }), false);
    assert.equal(sameStatus(row, { ...same, conditions: [{ type: 'Degraded', status: 'True', reason: 'NetworkFailed', message: 'x' }] }), false);
    assert.equal(sameStatus(row, { ...same, isolation: { ...isolation, init: { ...isolation.init, pid: 43, restarts: 1 } } }), false);
    assert.equal(sameStatus(row, { ...same, isolation: null }), false);
  });
});
