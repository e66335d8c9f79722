import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CgroupDriver, CgroupNotEmptyError } from '../../../../libs/cgroup/src/driver';
import type { GovernorConfig } from '../config/governor.config';
import type { HostAccess } from '../host/host.access';
import type { TenantStatusRow } from './reconciler.repository';
import { TenantTeardown, type TenantTeardownStore } from './tenant-teardown';

const NODE = 'node-1';
const config = { nodeName: NODE, runDir: '/run/governor-unit' } as GovernorConfig;

/** Quarantined tenants and their status rows on this node, in memory; records what the sweep confirms. */
class MemoryTeardownStore implements TenantTeardownStore {
  readonly quarantine: Array<{ tenantId: string; name: string }> = [];
  readonly rows = new Map<string, TenantStatusRow>();
  readonly tornDown: string[] = [];
  down: Error | undefined;

  quarantined(): Promise<Array<{ tenantId: string; name: string }>> {
    return this.down ? Promise.reject(this.down) : Promise.resolve(this.quarantine);
  }
  status(tenantId: string): Promise<TenantStatusRow | undefined> {
    return Promise.resolve(this.rows.get(tenantId));
  }
  existsLive(): Promise<boolean> {
    return Promise.resolve(false);
  }
  markTornDown(tenantId: string, node: string): Promise<void> {
    this.tornDown.push(`${tenantId}@${node}`);
    return Promise.resolve();
  }
  workloadIds(): Promise<string[]> {
    return Promise.resolve([]);
  }
  nodesTornDown(): Promise<string[]> {
    return Promise.resolve([]);
  }
  tombstone(): Promise<void> {
    return Promise.resolve();
  }
}

/** A host whose namespaces could not be prepared at start (as /readyz reports it). */
const hostWithoutNamespaces: Pick<HostAccess, 'namespaces' | 'homes'> = {
  namespaces: () => {
    throw new Error('namespaces are unavailable: preparing the namespaces under /run/governor-unit/ns failed: ENOTDIR');
  },
  homes: () => {
    throw new Error('homes are unavailable: preparing the namespaces under /run/governor-unit/ns failed: ENOTDIR');
  },
};

/** Tenant cgroups in memory; a kill leaves the ones named in `exiting` populated at the one look. */
class MemoryCgroups implements Pick<CgroupDriver, 'hasTenant' | 'removeTenant'> {
  readonly kills: string[] = [];
  constructor(
    private readonly present: Set<string>,
    private readonly exiting: Set<string>,
  ) {}
  hasTenant(name: string): boolean {
    return this.present.has(name);
  }
  removeTenant(name: string, waitMs?: number): Promise<void> {
    this.kills.push(`${name} wait ${waitMs}`);
    if (this.exiting.has(name)) return Promise.reject(new CgroupNotEmptyError(`/cg/governor/tenants/${name}`, waitMs ?? 0));
    this.present.delete(name);
    return Promise.resolve();
  }
}

/** How often the teardown woke the quarantine release. */
class ReleaseKicks {
  count = 0;
  kick(): void {
    this.count += 1;
  }
}

function teardownWith(store: MemoryTeardownStore, release = new ReleaseKicks()): TenantTeardown {
  return new TenantTeardown(
    store,
    hostWithoutNamespaces,
    { alive: () => Promise.resolve([NODE]) },
    { remove: () => Promise.resolve() },
    { delete: () => false, sync: () => Promise.resolve() },
    release,
    config,
  );
}

const unconfirmed: TenantStatusRow = { observedGeneration: 3, phase: 'Ready', conditions: [], cgroupPath: null, isolation: null };

describe('TenantTeardown.sweepQuarantine', () => {
  it('kills a quarantined tenant once without waiting, and hands a cgroup still emptying back by name, unconfirmed', async () => {
    const store = new MemoryTeardownStore();
    store.quarantine.push({ tenantId: 'id-slow', name: 'slow' });
    store.rows.set('id-slow', unconfirmed);
    const cgroups = new MemoryCgroups(new Set(['slow']), new Set(['slow']));
    const release = new ReleaseKicks();
    assert.deepEqual(await teardownWith(store, release).sweepQuarantine(cgroups), ['slow']);
    assert.deepEqual(cgroups.kills, ['slow wait 0']);
    assert.deepEqual(store.tornDown, [], 'a teardown is confirmed only once the cgroup is gone');
    assert.equal(release.count, 0, 'nothing confirmed, so the quarantine release is not woken');
  });

  it('takes a host that cannot tear a tenant down as that tenant’s failure, and goes on with the next one', async () => {
    const store = new MemoryTeardownStore();
    store.quarantine.push({ tenantId: 'id-stuck', name: 'stuck' }, { tenantId: 'id-slow', name: 'slow' });
    store.rows.set('id-stuck', unconfirmed);
    store.rows.set('id-slow', unconfirmed);
    const cgroups = new MemoryCgroups(new Set(['slow']), new Set(['slow']));
    // Not a rejection: the service would report a rejected sweep as the database being unavailable.
    assert.deepEqual(await teardownWith(store).sweepQuarantine(cgroups), ['slow']);
    assert.deepEqual(store.tornDown, []);
  });

  it('leaves alone a tenant whose teardown this node has confirmed already', async () => {
    const store = new MemoryTeardownStore();
    store.quarantine.push({ tenantId: 'id-done', name: 'done' });
    store.rows.set('id-done', { ...unconfirmed, phase: 'Deleted' });
    const cgroups = new MemoryCgroups(new Set(['done']), new Set());
    const release = new ReleaseKicks();
    assert.deepEqual(await teardownWith(store, release).sweepQuarantine(cgroups), []);
    assert.deepEqual(cgroups.kills, []);
    assert.equal(release.count, 0, 'releasing is the lease holder’s job, woken only by a new confirmation');
  });

  it('ends the sweep when the database cannot be read', async () => {
    const store = new MemoryTeardownStore();
    store.down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    await assert.rejects(teardownWith(store).sweepQuarantine(new MemoryCgroups(new Set(), new Set())), /ECONNREFUSED/);
  });
});
