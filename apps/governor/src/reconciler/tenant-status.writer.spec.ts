import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GovernorConfig } from '../config/governor.config';
import { TenantCatalog } from '../metrics/tenant-catalog';
import type { TenantEntity } from '../../../../libs/persistence/src/entities';
import { FirewallSync } from './firewall-sync';
import type { TenantStatusRow, TenantStatusWrite } from './reconciler.repository';
import { type TenantStatusStore, TenantStatusWriter } from './tenant-status.writer';

/** Status rows in memory, keyed by tenant id and node. */
class MemoryStatusStore implements TenantStatusStore {
  readonly rows = new Map<string, TenantStatusRow>();

  status(tenantId: string, node: string): Promise<TenantStatusRow | undefined> {
    return Promise.resolve(this.rows.get(`${tenantId}/${node}`));
  }

  saveStatus(tenantId: string, node: string, status: TenantStatusWrite): Promise<void> {
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
});
