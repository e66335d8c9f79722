import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantCatalog } from './tenant-catalog';
import { TenantTargets } from './tenant-targets';

describe('TenantTargets', () => {
  it('builds paths and label sets once and reuses them until the catalog changes', () => {
    const catalog = new TenantCatalog();
    catalog.setTenant({ name: 'beta', id: 'b', hostInterface: undefined, phase: 'Ready' });
    catalog.setTenant({ name: 'acme', id: 'a', hostInterface: undefined, phase: 'Ready' });
    const targets = new TenantTargets(catalog, 'node-a');
    const first = targets.current();
    assert.deepEqual(
      first.map((t) => t.name),
      ['acme', 'beta'],
    );
    assert.equal(first[0].dir, 'tenants/acme');
    assert.deepEqual(first[0].labels, { tenant: 'acme', node: 'node-a' });
    assert.deepEqual(first[0].memoryEvents.oom_kill, { tenant: 'acme', node: 'node-a', event: 'oom_kill' });
    assert.deepEqual(first[0].pressure.io.full, { tenant: 'acme', node: 'node-a', resource: 'io', kind: 'full' });
    assert.equal(first[0].device('8:0'), first[0].device('8:0'), 'a device label set is built once');
    assert.equal(targets.current(), first, 'no catalog change, nothing rebuilt');

    catalog.setTenant({ name: 'beta', id: 'b', hostInterface: 'gv0123456789', phase: 'Ready' });
    catalog.setWorkloads(new Map([['acme', { states: { running: 1 }, running: ['w1'] }]]));
    const second = targets.current();
    assert.equal(second[0], first[0], 'an unchanged tenant keeps its target and label objects');
    assert.notEqual(second[1], first[1]);
    assert.equal(second[1].hostInterface, 'gv0123456789');
    assert.deepEqual(second[0].workloads, [{ id: 'w1', dir: 'tenants/acme/workloads/w1', labels: { tenant: 'acme', workload: 'w1', node: 'node-a' } }]);

    catalog.setWorkloads(new Map([['acme', { states: { running: 2 }, running: ['w1', 'w2'] }]]));
    const third = targets.current();
    assert.equal(third[0].workloads[0], second[0].workloads[0], 'a workload keeps its labels');
    catalog.deleteTenant('acme');
    assert.deepEqual(
      targets.current().map((t) => t.name),
      ['beta'],
    );
  });
});
