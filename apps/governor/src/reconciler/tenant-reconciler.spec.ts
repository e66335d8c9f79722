import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../../../libs/cgroup/src/condition';
import { CgroupNotEmptyError, FREEZE_PENDING, type TenantApplyOptions, type TenantApplyResult } from '../../../../libs/cgroup/src/driver';
import type { Quota } from '../../../../libs/domain/src/quota.types';
import { firewallEntry, type TenantAddressing, type TenantNetworkResult } from '../../../../libs/network/src';
import type { FirewallTenant } from '../../../../libs/network/src/firewall';
import type { StoredAllocation } from '../../../../libs/persistence/src/allocation';
import type { TenantEntity, TenantIsolationStatus } from '../../../../libs/persistence/src/entities';
import type { GovernorConfig } from '../config/governor.config';
import { GovernorMetrics } from '../metrics/governor.metrics';
import { QuietTenants } from './quiet-tenants';
import type { Clock } from './reconcile-queue';
import type { TenantStatusRow } from './reconciler.repository';
import type { IsolationResult, TenantIsolation } from './tenant-isolation';
import type { TenantLinkHooks, TenantNetwork } from './tenant-network';
import { DesiredStateUnavailableError, KILL_PENDING, type TenantCgroups, TenantReconciler, type TenantReconcileStore } from './tenant-reconciler';
import type { TenantStatusWriter } from './tenant-status.writer';
import type { TenantTeardown } from './tenant-teardown';
import { TenantWaits } from './tenant-waits';

const NODE = 'node-1';
const config = { nodeName: NODE, net6Prefix: undefined } as GovernorConfig;

class SteppedClock implements Clock {
  time = 1_000;
  now(): number {
    return this.time;
  }
  after(): { cancel(): void } {
    return { cancel: () => undefined };
  }
}

function tenantRow(name: string, fields: Partial<TenantEntity> = {}): TenantEntity {
  return {
    id: `00000000-0000-4000-8000-${name.padStart(12, '0').slice(-12)}`,
    name,
    displayName: null,
    quota: {},
    rootfs: null,
    hostname: null,
    nodes: [],
    suspended: false,
    generation: 2,
    resourceVersion: 2,
    forceGeneration: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    deletionRequestedAt: null,
    deletedAt: null,
    ...fields,
  };
}

const allocationOf = (start: number): StoredAllocation => ({
  uidRange: { start, size: 65536 },
  netBlock: '10.223.0.0/31',
  hostAddress: '10.223.0.0',
  tenantAddress: '10.223.0.1',
  prefix: 31,
  createdAt: new Date(0),
  releasedAt: null,
});

/** Every call the reconcile makes on its collaborators, in order, as one line each. */
type Steps = string[];

class MemoryStore implements TenantReconcileStore {
  readonly tenants = new Map<string, TenantEntity>();
  readonly rows = new Map<string, TenantStatusRow>();
  readonly allocations = new Map<string, StoredAllocation>();
  down: Error | undefined;

  findTenant(name: string): Promise<TenantEntity | undefined> {
    if (this.down) return Promise.reject(this.down);
    return Promise.resolve(this.tenants.get(name));
  }
  status(tenantId: string, node: string): Promise<TenantStatusRow | undefined> {
    return Promise.resolve(this.rows.get(`${tenantId}/${node}`));
  }
  allocation(tenantId: string): Promise<StoredAllocation | undefined> {
    return Promise.resolve(this.allocations.get(tenantId));
  }
}

/** A cgroup driver in memory: which tenant cgroups exist, and how many looks after a kill each takes to empty. */
class MemoryCgroups implements TenantCgroups {
  readonly present = new Set<string>();
  /** looks after the kill before the cgroup is empty, per tenant name */
  readonly exiting = new Map<string, number>();
  /** the id of another (deleted) tenant whose cgroup of this name is still there */
  readonly ownedBy = new Map<string, string>();
  readonly failures = new Map<string, Error>();
  readonly options: TenantApplyOptions[] = [];
  conditions: Condition[] = [];

  constructor(private readonly steps: Steps) {}

  tenantPath(name: string): string {
    return `/cg/governor/tenants/${name}`;
  }
  hasTenant(name: string): boolean {
    return this.present.has(name);
  }
  removeTenant(name: string, waitMs?: number): Promise<void> {
    this.steps.push(`kill ${name} wait ${waitMs}`);
    const left = this.exiting.get(name) ?? 0;
    if (left > 0) {
      this.exiting.set(name, left - 1);
      return Promise.reject(new CgroupNotEmptyError(this.tenantPath(name), waitMs ?? 0));
    }
    this.present.delete(name);
    return Promise.resolve();
  }
  async applyTenant(name: string, _quota: Quota, options: TenantApplyOptions): Promise<TenantApplyResult> {
    this.steps.push(`cgroup ${name}`);
    this.options.push(options);
    const failure = this.failures.get(name);
    if (failure) throw failure;
    const owner = this.ownedBy.get(name);
    if (owner !== undefined && owner !== options.owner) {
      try {
        await this.removeTenant(name, options.killTimeoutMs);
      } catch {
        throw new CgroupNotEmptyError(this.tenantPath(name), 0, owner);
      }
      this.ownedBy.delete(name);
    }
    this.present.add(name);
    return { changes: [], conditions: [...this.conditions], created: [] };
  }
  removeWorkload(tenant: string, id: string): Promise<void> {
    this.steps.push(`remove workload ${tenant}/${id}`);
    return Promise.resolve();
  }
}

class RecordingNetwork implements Pick<TenantNetwork, 'apply'> {
  failure: Error | undefined;
  constructor(private readonly steps: Steps) {}

  async apply(tenant: string, tenantId: string, addressing: TenantAddressing, quota: Quota['network'], hooks: TenantLinkHooks): Promise<TenantNetworkResult> {
    this.steps.push(`network ${tenant}`);
    if (this.failure) throw this.failure;
    await hooks.beforeUp?.();
    this.steps.push(`link up ${tenant}`);
    return { changes: [], namespaces: 'kept', firewall: firewallEntry(tenantId, addressing, quota) };
  }
}

class RecordingFirewall {
  constructor(private readonly steps: Steps) {}
  set(name: string, entry: FirewallTenant): boolean {
    this.steps.push(`firewall entry ${name} ${entry.tenantAddress}`);
    return true;
  }
  cover(name: string): Promise<void> {
    this.steps.push(`firewall cover ${name}`);
    return Promise.resolve();
  }
}

class RecordingIsolation implements Pick<TenantIsolation, 'ensure'> {
  /** the old init's leaf is still emptying after its kill, per tenant name */
  readonly emptying = new Set<string>();
  constructor(private readonly steps: Steps) {}

  ensure(tenant: TenantEntity, uidBase: number, previous: TenantIsolationStatus | null): Promise<IsolationResult> {
    this.steps.push(`init ${tenant.name} uid ${uidBase}`);
    const status = previous ?? { init: { pid: 4242, state: 'running', restarts: 0, restartedAt: null }, namespaces: [] };
    if (this.emptying.has(tenant.name))
      return Promise.resolve({ changes: [], conditions: [], status, killPending: new CgroupNotEmptyError(`/cg/governor/tenants/${tenant.name}/init`, 0) });
    return Promise.resolve({ changes: [], conditions: [], status });
  }
}

interface SavedStatus {
  tenant: string;
  phase: string;
  conditions: Condition[];
  observed: boolean;
}

class RecordingStatus implements Pick<TenantStatusWriter, 'save' | 'forget' | 'terminating'> {
  readonly saved: SavedStatus[] = [];
  constructor(private readonly steps: Steps) {}

  save(tenant: TenantEntity, phase: string, conditions: Condition[], _cgroupPath: string | null, observed = true): Promise<void> {
    this.steps.push(`status ${tenant.name} ${phase}`);
    this.saved.push({ tenant: tenant.name, phase, conditions, observed });
    return Promise.resolve();
  }
  forget(name: string, tenantId: string | undefined): Promise<void> {
    this.steps.push(`forget ${name} ${tenantId ?? 'without id'}`);
    return Promise.resolve();
  }
  terminating(tenant: TenantEntity): void {
    this.steps.push(`terminating ${tenant.name}`);
  }
}

class RecordingTeardown implements Pick<TenantTeardown, 'removeWorkloadRemains' | 'removeHostState' | 'finishDeletion'> {
  constructor(private readonly steps: Steps) {}
  async removeWorkloadRemains(driver: Pick<TenantCgroups, 'removeWorkload'>, tenant: TenantEntity): Promise<void> {
    this.steps.push(`workload remains ${tenant.name}`);
    await driver.removeWorkload(tenant.name, 'w1');
  }
  removeHostState(name: string, tenantId: string | undefined): Promise<void> {
    this.steps.push(`host state ${name} ${tenantId ?? 'without id'}`);
    return Promise.resolve();
  }
  finishDeletion(tenant: TenantEntity): Promise<void> {
    this.steps.push(`finish deletion ${tenant.name}`);
    return Promise.resolve();
  }
}

/** No host watch: each reconcile is a full one (the skipping is quiet-tenants.spec's). */
const unwatched = new QuietTenants({ hostWatch: () => undefined }, { fullCheckIntervalMs: 600_000, runDir: '/run/governor' });

function setup() {
  const steps: Steps = [];
  const store = new MemoryStore();
  const cgroups = new MemoryCgroups(steps);
  const network = new RecordingNetwork(steps);
  const isolation = new RecordingIsolation(steps);
  const status = new RecordingStatus(steps);
  const teardown = new RecordingTeardown(steps);
  const metrics = new GovernorMetrics();
  const clock = new SteppedClock();
  const waits = new TenantWaits(clock, { reclaim: 5_000, freeze: 10_000, kill: 10_000 });
  const reconciler = new TenantReconciler(store, network, metrics, isolation, new RecordingFirewall(steps), status, teardown, config, unwatched);
  const host = (tenant: TenantEntity, uidBase = 2_000_000_000) => {
    store.tenants.set(tenant.name, tenant);
    store.allocations.set(tenant.id, allocationOf(uidBase));
    return tenant;
  };
  const reconcile = (name: string) => reconciler.reconcile(cgroups, name, waits);
  return { steps, store, cgroups, network, isolation, status, metrics, clock, waits, host, reconcile };
}

async function reconcileCount(metrics: GovernorMetrics, result: 'success' | 'error'): Promise<number> {
  return (await metrics.reconcileTotal.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
}

describe('TenantReconciler', () => {
  it('applies a tenant in order: its cgroup, then its link with the firewall entry in the table before it goes up, then its init, then its status', async () => {
    const t = setup();
    t.host(tenantRow('acme'));
    const outcome = await t.reconcile('acme');
    assert.equal(outcome, undefined);
    assert.deepEqual(t.steps, [
      'cgroup acme',
      'firewall entry acme 10.223.0.1',
      'network acme',
      'firewall cover acme',
      'link up acme',
      'firewall cover acme',
      'init acme uid 2000000000',
      'status acme Ready',
    ]);
    assert.deepEqual(t.status.saved[0], { tenant: 'acme', phase: 'Ready', conditions: [], observed: true });
  });

  it('times each step of a reconcile by name: the fresh reads of the tenant and its status, its cgroup, network, init and status write', async () => {
    const t = setup();
    t.host(tenantRow('acme'));
    await t.reconcile('acme');
    const { values } = await t.metrics.reconcileStepDuration.get();
    const counts: Record<string, number> = {};
    for (const v of values) if (v.metricName?.endsWith('_count')) counts[String(v.labels.step)] = v.value;
    assert.deepEqual(counts, { read: 2, cgroup: 1, network: 1, isolation: 1, status: 1 }, 'the tenant row and its status read fresh');
    const sum = values.find((v) => v.metricName?.endsWith('_sum') && v.labels.step === 'network');
    assert.ok(sum !== undefined && sum.value >= 0);
  });

  it('asks the driver for one look at reclaim, a freeze and a kill, never an inline wait', async () => {
    const t = setup();
    t.host(tenantRow('acme', { suspended: true }));
    await t.reconcile('acme');
    const [options] = t.cgroups.options;
    assert.deepEqual(
      { reclaim: options?.reclaimTimeoutMs, freeze: options?.freezeTimeoutMs, kill: options?.killTimeoutMs, suspended: options?.suspended },
      { reclaim: 0, freeze: 0, kill: 0, suspended: true },
    );
  });

  it('hands a freeze the kernel has not confirmed back as a requeue, keeps the status until the deadline, then says so', async () => {
    const t = setup();
    t.host(tenantRow('acme', { suspended: true }));
    t.cgroups.conditions = [{ type: 'Degraded', status: 'True', reason: FREEZE_PENDING, message: 'cgroup.events did not report frozen 1' }];
    assert.deepEqual(await t.reconcile('acme'), { requeueAfterMs: 50 });
    assert.deepEqual(await t.reconcile('acme'), { requeueAfterMs: 100 });
    assert.equal(t.status.saved.length, 0, 'a wait within its deadline is not news');
    assert.equal(t.waits.waiting('acme'), 'freeze');
    t.clock.time += 10_000;
    const overdue = await t.reconcile('acme');
    assert.ok(overdue?.requeueAfterMs !== undefined && overdue.requeueAfterMs <= 5_000);
    assert.deepEqual(
      t.status.saved.map((s) => [s.phase, s.conditions.map((c) => c.reason)]),
      [['Degraded', [FREEZE_PENDING]]],
    );
    t.cgroups.conditions = [];
    assert.equal(await t.reconcile('acme'), undefined);
    assert.equal(t.waits.waiting('acme'), undefined);
    assert.equal(t.status.saved.at(-1)?.phase, 'Suspended');
  });

  it('kills a deleted tenant’s cgroup of the same name once a look, requeues, says so once when overdue, then applies', async () => {
    const t = setup();
    t.host(tenantRow('acme'));
    t.cgroups.present.add('acme');
    t.cgroups.ownedBy.set('acme', 'old-tenant-id');
    t.cgroups.exiting.set('acme', 4);
    assert.deepEqual(await t.reconcile('acme'), { requeueAfterMs: 50 });
    assert.deepEqual(t.steps, ['cgroup acme', 'kill acme wait 0'], 'nothing of the new tenant goes in while the old one empties');
    assert.equal(t.waits.waiting('acme'), 'kill');
    t.clock.time += 10_000;
    await t.reconcile('acme');
    await t.reconcile('acme');
    assert.equal(t.status.saved.length, 1, 'an overdue kill is said once, not at every look');
    const [said] = t.status.saved;
    assert.equal(said?.phase, 'Degraded');
    assert.equal(said?.observed, false);
    assert.equal(said?.conditions[0]?.reason, KILL_PENDING);
    assert.match(said?.conditions[0]?.message ?? '', /deleted tenant of the same name \(id old-tenant-id\) still has processes 10000ms after cgroup\.kill/);
    await t.reconcile('acme');
    assert.equal(await t.reconcile('acme'), undefined);
    assert.equal(t.waits.waiting('acme'), undefined);
    assert.equal(t.status.saved.at(-1)?.phase, 'Ready');
    assert.equal(t.steps.filter((s) => s.startsWith('kill')).length, 5, 'one kill and one look per pass');
  });

  it('hands an old init leaf that is still emptying back as a requeue, and reports the overdue kill in the status', async () => {
    const t = setup();
    t.host(tenantRow('acme'));
    t.isolation.emptying.add('acme');
    assert.deepEqual(await t.reconcile('acme'), { requeueAfterMs: 50 });
    assert.equal(t.status.saved.length, 0);
    t.clock.time += 10_000;
    await t.reconcile('acme');
    assert.deepEqual(
      t.status.saved.map((s) => [s.phase, s.conditions.map((c) => c.reason)]),
      [['Degraded', [KILL_PENDING]]],
    );
    assert.match(t.status.saved[0]?.conditions[0]?.message ?? '', /old tenant init's leaf .*\/init still has processes 10000ms after cgroup\.kill/);
    t.isolation.emptying.delete('acme');
    assert.equal(await t.reconcile('acme'), undefined);
    assert.equal(t.status.saved.at(-1)?.phase, 'Ready');
  });

  it('records one tenant’s failure in its own status and goes on with the next tenant', async () => {
    const t = setup();
    t.host(tenantRow('broken'), 2_000_000_000);
    t.host(tenantRow('fine'), 2_000_065_536);
    t.cgroups.failures.set('broken', new Error('/cg/governor/tenants/broken/cpu.max: write "50000 100000": EACCES'));
    assert.equal(await t.reconcile('broken'), undefined);
    assert.equal(await t.reconcile('fine'), undefined);
    assert.deepEqual(
      t.status.saved.map((s) => [s.tenant, s.phase, s.observed, s.conditions.map((c) => c.reason)]),
      [
        ['broken', 'Error', false, ['ReconcileFailed']],
        ['fine', 'Ready', true, []],
      ],
    );
    assert.match(t.status.saved[0]?.conditions[0]?.message ?? '', /cpu\.max: write "50000 100000": EACCES/);
    assert.ok(!t.steps.includes('network broken'), 'a failed cgroup step does not go on to the link');
    assert.deepEqual([await reconcileCount(t.metrics, 'success'), await reconcileCount(t.metrics, 'error')], [1, 1]);
  });

  it('degrades a tenant whose namespaces or link failed, with the reason, and starts no init without them', async () => {
    const t = setup();
    t.host(tenantRow('acme'));
    t.network.failure = new Error('namespaces are unavailable: preparing the namespaces failed');
    await t.reconcile('acme');
    assert.ok(!t.steps.some((s) => s.startsWith('init')));
    const [said] = t.status.saved;
    assert.equal(said?.phase, 'Degraded');
    assert.deepEqual(
      said?.conditions.map((c) => [c.reason, c.message]),
      [['NetworkFailed', 'namespaces or link not in place: namespaces are unavailable: preparing the namespaces failed']],
    );
  });

  it('throws, touching nothing, when the desired state cannot be read: a database outage is no tenant’s failure', async () => {
    const t = setup();
    t.host(tenantRow('acme'));
    t.store.down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    await assert.rejects(t.reconcile('acme'), DesiredStateUnavailableError);
    assert.deepEqual(t.steps, []);
  });

  it('deletes a tenant: kill, a requeue while its processes exit, then workload remains, host state, status Deleted and the tombstone check', async () => {
    const t = setup();
    t.host(tenantRow('gone', { deletionRequestedAt: new Date(0) }));
    t.cgroups.present.add('gone');
    t.cgroups.exiting.set('gone', 1);
    assert.deepEqual(await t.reconcile('gone'), { requeueAfterMs: 50 });
    assert.deepEqual(t.steps, ['terminating gone', 'kill gone wait 0']);
    t.steps.length = 0;
    assert.equal(await t.reconcile('gone'), undefined);
    assert.deepEqual(t.steps, [
      'terminating gone',
      'kill gone wait 0',
      'workload remains gone',
      'remove workload gone/w1',
      `host state gone ${tenantRow('gone').id}`,
      'status gone Deleted',
      'finish deletion gone',
    ]);
  });

  it('says an overdue kill of a deleted tenant once in its status, as Terminating', async () => {
    const t = setup();
    t.host(tenantRow('gone', { deletionRequestedAt: new Date(0) }));
    t.cgroups.present.add('gone');
    t.cgroups.exiting.set('gone', 10);
    await t.reconcile('gone');
    t.clock.time += 10_000;
    for (let look = 0; look < 3; look++) await t.reconcile('gone');
    assert.deepEqual(
      t.status.saved.map((s) => [s.phase, s.observed, s.conditions.map((c) => c.reason)]),
      [['Terminating', false, [KILL_PENDING]]],
    );
  });

  it('removes what is left of a tenant that is not this node’s (gone, or placed elsewhere) and forgets its status', async () => {
    const t = setup();
    t.cgroups.present.add('orphan');
    const elsewhere = t.host(tenantRow('moved', { nodes: ['node-2'] }));
    t.cgroups.present.add('moved');
    assert.equal(await t.reconcile('orphan'), undefined);
    assert.equal(await t.reconcile('moved'), undefined);
    assert.deepEqual(t.steps, [
      'kill orphan wait 0',
      'host state orphan without id',
      'forget orphan without id',
      'kill moved wait 0',
      `host state moved ${elsewhere.id}`,
      `forget moved ${elsewhere.id}`,
    ]);
    assert.equal(t.status.saved.length, 0);
  });
});
