import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CatalogWorkloads, TenantCatalog } from './tenant-catalog';

describe('TenantCatalog', () => {
  it('moves its revision when a tenant is added, changed or deleted, and not when the reconciler sets it unchanged', () => {
    const catalog = new TenantCatalog();
    const start = catalog.revision;
    catalog.setTenant({ name: 'acme', id: 'a1', hostInterface: undefined, phase: 'Pending' });
    const added = catalog.revision;
    assert.ok(added > start);
    catalog.setTenant({ name: 'acme', id: 'a1', hostInterface: undefined, phase: 'Pending' });
    assert.equal(catalog.revision, added);
    catalog.setTenant({ name: 'acme', id: 'a1', hostInterface: 'gv0123456789', phase: 'Ready' });
    const changed = catalog.revision;
    assert.ok(changed > added);
    catalog.deleteTenant('acme');
    assert.ok(catalog.revision > changed);
    const deleted = catalog.revision;
    catalog.deleteTenant('acme');
    assert.equal(catalog.revision, deleted, 'deleting what is not there changes nothing');
    assert.deepEqual(catalog.tenants(), []);
  });

  it('moves its revision when workload counts change, and not for the same counts again', () => {
    const catalog = new TenantCatalog();
    catalog.setWorkloads(new Map([['acme', { states: { running: 1 }, running: ['w1'] }]]));
    const first = catalog.revision;
    catalog.setWorkloads(new Map([['acme', { states: { running: 1 }, running: ['w1'] }]]));
    assert.equal(catalog.revision, first);
    catalog.setWorkloads(new Map([['acme', { states: { running: 1, exited: 1 }, running: ['w1'] }]]));
    assert.ok(catalog.revision > first);
    assert.deepEqual(catalog.workloads('acme'), { states: { running: 1, exited: 1 }, running: ['w1'] });
    assert.deepEqual(catalog.workloads('other'), { states: {}, running: [] });
  });

  it('lists only the tenants it holds that have a running workload, with those workloads', () => {
    const catalog = new TenantCatalog();
    catalog.setTenant({ name: 'acme', id: 'a1', hostInterface: undefined, phase: 'Ready' });
    catalog.setTenant({ name: 'beta', id: 'b1', hostInterface: undefined, phase: 'Ready' });
    catalog.setTenant({ name: 'idle', id: 'i1', hostInterface: undefined, phase: 'Ready' });
    catalog.setWorkloads(
      new Map<string, CatalogWorkloads>([
        ['acme', { states: { running: 2 }, running: ['w1', 'w2'] }],
        ['beta', { states: { exited: 1 }, running: [] }],
        ['gone', { states: { running: 1 }, running: ['w3'] }],
      ]),
    );
    assert.deepEqual(
      catalog.running().map(({ tenant, ids }) => [tenant.name, ids]),
      [['acme', ['w1', 'w2']]],
    );
  });

  it('tells listeners about every deletion', () => {
    const catalog = new TenantCatalog();
    const deleted: string[] = [];
    catalog.onTenantDeleted((name) => deleted.push(name));
    catalog.setTenant({ name: 'acme', id: 'a1', hostInterface: undefined, phase: 'Ready' });
    catalog.deleteTenant('acme');
    assert.deepEqual(deleted, ['acme']);
  });

  it('keeps what reaped leaves counted in pids.events max, per tenant, until the tenant goes', () => {
    const catalog = new TenantCatalog();
    catalog.addRetiredPidsMax('acme', 3);
    catalog.addRetiredPidsMax('acme', 0);
    catalog.addRetiredPidsMax('acme', 2);
    assert.equal(catalog.retiredPidsMax('acme'), 5);
    assert.equal(catalog.retiredPidsMax('other'), 0);
    catalog.deleteTenant('acme');
    assert.equal(catalog.retiredPidsMax('acme'), 0);
  });
});
