import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import type { FirewallTenant } from '../../../../libs/network/src';
import type { StoredAllocation } from '../../../../libs/persistence/src/allocation';
import { TenantEntity } from '../../../../libs/persistence/src/entities';
import { GovernorMetrics } from '../metrics/governor.metrics';
import type { ChangeHandlers } from './change-listener';
import { FakeClock } from './clock.fake';
import { FirewallSync } from './firewall-sync';
import { QuietTenants } from './quiet-tenants';
import type { ReconcileOutcome } from './reconcile-queue';
import type { TenantRecord } from './reconciler.repository';
import {
  type ChangeFeed,
  type HostCgroups,
  type QuarantineSweep,
  type ReconcilerHost,
  ReconcilerService,
  type ReconcilerStore,
  type TenantReconcile,
} from './reconciler.service';
import { DesiredStateUnavailableError } from './tenant-reconciler';

const RESYNC_MS = 30_000;

class FakeDriver implements HostCgroups {
  onHost: string[] = [];
  readonly fs = { onWrite: (): void => undefined };
  tenantsOnHost(): string[] {
    return this.onHost;
  }
}

class FakeHost implements ReconcilerHost<FakeDriver> {
  readonly driver = new FakeDriver();
  namespaces: string[] = [];
  maybeCgroups(): FakeDriver {
    return this.driver;
  }
  namespacesOnHost(): string[] {
    return this.namespaces;
  }
}

/** The tenant table, this node's statuses and the allocations, as liveRecords reads them; `down` fails every read. */
class FakeStore implements ReconcilerStore {
  records: TenantRecord[] = [];
  reads = 0;
  down = false;
  liveRecords(): Promise<TenantRecord[]> {
    this.reads += 1;
    return this.down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : Promise.resolve(this.records);
  }
}

/** Records each reconcile: the name and whether it was handed a resync's record; `hold` keeps one running. */
class FakeTenants implements TenantReconcile<FakeDriver> {
  readonly calls: Array<{ name: string; known: TenantRecord | undefined }> = [];
  private readonly held = new Map<string, () => void>();
  private readonly holding = new Set<string>();
  failWith: Error | undefined;

  reconcile(_driver: FakeDriver, name: string, _waits: unknown, known?: TenantRecord): Promise<ReconcileOutcome | undefined> {
    this.calls.push({ name, known });
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (!this.holding.has(name)) return Promise.resolve(undefined);
    this.holding.delete(name);
    return new Promise((resolve) => this.held.set(name, () => resolve(undefined)));
  }

  hold(name: string): void {
    this.holding.add(name);
  }

  release(name: string): void {
    this.held.get(name)?.();
    this.held.delete(name);
  }

  of(name: string): Array<TenantRecord | undefined> {
    return this.calls.filter((c) => c.name === name).map((c) => c.known);
  }
}

class FakeTeardown implements QuarantineSweep<FakeDriver> {
  sweeps = 0;
  sweepQuarantine(): Promise<string[]> {
    this.sweeps += 1;
    return Promise.resolve([]);
  }
}

class FakeFeed implements ChangeFeed {
  handlers: ChangeHandlers | undefined;
  listen(handlers: ChangeHandlers): { stop(): Promise<void> } {
    this.handlers = handlers;
    return { stop: () => Promise.resolve() };
  }
}

function record(name: string, index: number, over: Partial<TenantEntity> = {}): TenantRecord {
  const id = `0a1b2c3d-0000-4000-8000-${String(index).padStart(12, '0')}`;
  const tenant = Object.assign(new TenantEntity(), { id, name, nodes: [], quota: {}, generation: 1, suspended: false, deletionRequestedAt: null, ...over });
  const allocation: StoredAllocation = {
    uidRange: { start: 700_000_000 + index * 65_536, size: 65_536 },
    netBlock: `10.229.0.${index * 2}/31`,
    hostAddress: `10.229.0.${index * 2}`,
    tenantAddress: `10.229.0.${index * 2 + 1}`,
    prefix: 31,
    createdAt: new Date(0),
    releasedAt: null,
  };
  return { tenant, allocation, status: { observedGeneration: 1, phase: 'Ready', conditions: [], cgroupPath: `/cg/${name}`, isolation: null } };
}

/** Lets the service's promises run until `done` holds (a few turns of the event loop at most). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; !done(); turn += 1) {
    if (turn > 100) throw new Error('the service never got there');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** No host watch: every resync reconciles every tenant in full (the skipping is quiet-tenants.spec's). */
const unwatched = new QuietTenants({ hostWatch: () => undefined }, { fullCheckIntervalMs: 600_000, runDir: '/run/governor' });

function setup() {
  const clock = new FakeClock();
  const store = new FakeStore();
  const host = new FakeHost();
  const tenants = new FakeTenants();
  const teardown = new FakeTeardown();
  const feed = new FakeFeed();
  const tables: FirewallTenant[][] = [];
  const firewall = new FirewallSync(
    {
      ensure: (entries) => {
        tables.push([...entries]);
        return Promise.resolve({ written: true, drift: [] });
      },
    },
    { applied: () => Promise.resolve(), failed: () => undefined },
  );
  const config = { nodeName: 'node-1', net6Prefix: undefined, reconcileWorkers: 2, resyncIntervalMs: RESYNC_MS };
  const service = new ReconcilerService<FakeDriver>(store, host, tenants, teardown, firewall, new GovernorMetrics(), config, feed, clock, unwatched);
  return { clock, store, host, tenants, teardown, feed, tables, service };
}

// The warnings of a database outage are what the retry tests cause: not news here.
Logger.overrideLogger(false);

describe('ReconcilerService', () => {
  it('reads every tenant in one go for a resync and hands each worker its own record', async () => {
    const t = setup();
    t.store.records = [record('acme', 1), record('beta', 2), record('gamma', 3)];
    t.service.onApplicationBootstrap();
    await t.service.settled();
    assert.equal(t.store.reads, 1);
    for (const r of t.store.records) assert.deepEqual(t.tenants.of(r.tenant.name), [r]);
    await t.service.onApplicationShutdown();
  });

  it('puts every hosted tenant in the firewall table before any of them is reconciled, and no tenant of another node or being deleted', async () => {
    const t = setup();
    t.store.records = [record('acme', 1), record('elsewhere', 2, { nodes: ['node-2'] }), record('leaving', 3, { deletionRequestedAt: new Date() })];
    let tablesAtFirstReconcile = -1;
    const reconcile = t.tenants.reconcile.bind(t.tenants);
    t.tenants.reconcile = (...args) => {
      if (tablesAtFirstReconcile < 0) tablesAtFirstReconcile = t.tables.length;
      return reconcile(...args);
    };
    t.service.onApplicationBootstrap();
    await t.service.settled();
    assert.equal(tablesAtFirstReconcile, 1);
    assert.deepEqual(
      t.tables[0]?.map((e) => e.tenantAddress),
      ['10.229.0.3'],
    );
    // Every one is still reconciled: the others to be torn down here.
    assert.deepEqual(t.tenants.calls.map((c) => c.name).sort(), ['acme', 'elsewhere', 'leaving']);
    await t.service.onApplicationShutdown();
  });

  it('also reconciles names only cgroupfs or the namespace directory still has, as orphans read fresh', async () => {
    const t = setup();
    t.store.records = [record('acme', 1)];
    t.host.driver.onHost = ['acme', 'orphan'];
    t.host.namespaces = ['lost-ns'];
    t.service.onApplicationBootstrap();
    await t.service.settled();
    assert.deepEqual(t.tenants.of('orphan'), [undefined]);
    assert.deepEqual(t.tenants.of('lost-ns'), [undefined]);
    assert.equal(t.tenants.of('acme').length, 1);
    await t.service.onApplicationShutdown();
  });

  it("reads a tenant named in a NOTIFY fresh, ahead of the resync's tenants", async () => {
    const t = setup();
    t.store.records = [record('acme', 1), record('beta', 2), record('gamma', 3), record('delta', 4)];
    t.tenants.hold('acme');
    t.tenants.hold('beta');
    t.service.onApplicationBootstrap();
    await until(() => t.tenants.calls.length === 2);
    // Both workers are busy with acme and beta; gamma and delta wait as resync work.
    t.feed.handlers?.changed('delta');
    t.tenants.release('acme');
    t.tenants.release('beta');
    await t.service.settled();
    const order = t.tenants.calls.map((c) => c.name);
    assert.ok(order.indexOf('delta') < order.indexOf('gamma'), `order ${order.join(', ')}`);
    assert.deepEqual(t.tenants.of('delta'), [undefined]);
    assert.equal(t.tenants.of('gamma')[0]?.tenant.name, 'gamma');
    await t.service.onApplicationShutdown();
  });

  it('does not hand over a record read while a reconcile of that tenant ran: the tenant is read fresh', async () => {
    const t = setup();
    t.store.records = [record('acme', 1), record('beta', 2)];
    t.service.onApplicationBootstrap();
    await t.service.settled();
    t.tenants.hold('acme');
    t.feed.handlers?.changed('acme');
    // A resync reads while acme's own reconcile runs: what it read of acme may be older than what that one wrote.
    t.clock.advance(RESYNC_MS);
    await until(() => t.store.reads === 2);
    await new Promise((resolve) => setImmediate(resolve));
    t.tenants.release('acme');
    await t.service.settled();
    assert.deepEqual(t.tenants.of('acme').slice(1), [undefined, undefined]);
    assert.equal(t.tenants.of('beta')[1]?.tenant.name, 'beta');
    assert.equal(t.store.reads, 2);
    await t.service.onApplicationShutdown();
  });

  it('resyncs every tenant once per interval', async () => {
    const t = setup();
    t.store.records = [record('acme', 1)];
    t.service.onApplicationBootstrap();
    await t.service.settled();
    for (let i = 0; i < 3; i += 1) {
      t.clock.advance(RESYNC_MS);
      await t.service.settled();
    }
    assert.equal(t.store.reads, 4);
    assert.equal(t.tenants.of('acme').length, 4);
    await t.service.onApplicationShutdown();
    assert.equal(t.clock.pending, 0);
  });

  it('retries a failed read with a doubling delay, then reconciles every tenant once the database is back', async () => {
    const t = setup();
    t.store.records = [record('acme', 1)];
    t.store.down = true;
    t.service.onApplicationBootstrap();
    await t.service.settled();
    assert.equal(t.store.reads, 1);
    t.clock.advance(999);
    await t.service.settled();
    assert.equal(t.store.reads, 1);
    t.clock.advance(1);
    await t.service.settled();
    assert.equal(t.store.reads, 2);
    t.clock.advance(1999);
    await t.service.settled();
    assert.equal(t.store.reads, 2);
    t.store.down = false;
    t.clock.advance(1);
    await t.service.settled();
    assert.equal(t.store.reads, 3);
    assert.equal(t.tenants.of('acme').length, 1);
    // Back to the first delay for the next outage.
    t.store.down = true;
    t.clock.advance(RESYNC_MS);
    await t.service.settled();
    const reads: number = t.store.reads;
    t.clock.advance(1000);
    await t.service.settled();
    assert.equal(t.store.reads, reads + 1);
    await t.service.onApplicationShutdown();
  });

  it("takes a tenant's unreadable desired state as the database being down: one retry, not a failure per tenant", async () => {
    const t = setup();
    t.store.records = [record('acme', 1), record('beta', 2)];
    t.tenants.failWith = new DesiredStateUnavailableError('acme', new Error('connection terminated'));
    t.service.onApplicationBootstrap();
    await t.service.settled();
    assert.equal(t.store.reads, 1);
    t.tenants.failWith = undefined;
    t.clock.advance(1000);
    await t.service.settled();
    assert.equal(t.store.reads, 2);
    await t.service.onApplicationShutdown();
  });

  it("sweeps the quarantine once a resync's tenants are done, and not after a NOTIFY's reconcile alone", async () => {
    const t = setup();
    t.store.records = [record('acme', 1)];
    t.service.onApplicationBootstrap();
    await t.service.settled();
    assert.equal(t.teardown.sweeps, 1);
    t.feed.handlers?.changed('acme');
    await t.service.settled();
    assert.equal(t.teardown.sweeps, 1);
    await t.service.onApplicationShutdown();
  });

  it('resyncs when the change feed reconnects, since notifications may have been missed', async () => {
    const t = setup();
    t.store.records = [record('acme', 1)];
    t.service.onApplicationBootstrap();
    await t.service.settled();
    t.feed.handlers?.connected();
    await t.service.settled();
    assert.equal(t.store.reads, 2);
    await t.service.onApplicationShutdown();
  });
});
