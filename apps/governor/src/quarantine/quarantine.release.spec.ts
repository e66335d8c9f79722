import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntityManager } from 'typeorm';
import { type Fence, LeaseLost } from '../leases/fleet-leases.service';
import { QUARANTINE_RELEASE_JOB, QuarantineRelease, type QuarantineLeases, type QuarantineStore } from './quarantine.release';
import type { ReleasedTenant } from './quarantine.repository';

const noTransaction = {} as EntityManager;

/** The lease as FleetLeases runs it: held or not, and a fence that fails once `deposed` is set. */
class LeaseDouble implements QuarantineLeases {
  held = true;
  deposed = false;
  readonly jobs: string[] = [];
  async run<T>(job: string, action: (fence: Fence) => Promise<T>): Promise<T | undefined> {
    this.jobs.push(job);
    if (!this.held) return undefined;
    try {
      return await action(() => (this.deposed ? Promise.reject(new LeaseLost(job, 1, 2)) : Promise.resolve()));
    } catch (err) {
      if (err instanceof LeaseLost) return undefined;
      throw err;
    }
  }
}

/** Quarantined tenants whose every node confirmed; a release takes them all, after the fence. */
class QuarantineDouble implements QuarantineStore {
  releasable: ReleasedTenant[] = [];
  passes = 0;
  gate: Promise<void> = Promise.resolve();
  async releaseTornDown(fence: Fence): Promise<ReleasedTenant[]> {
    this.passes += 1;
    await this.gate;
    await fence(noTransaction);
    const released = this.releasable;
    this.releasable = [];
    return released;
  }
}

const release = (store: QuarantineDouble, leases: LeaseDouble) => new QuarantineRelease(store, leases, { resyncIntervalMs: 60_000 });

describe('QuarantineRelease', () => {
  it('releases under the quarantine-release lease what every node confirmed, and nothing when another instance holds it', async () => {
    const store = new QuarantineDouble();
    const leases = new LeaseDouble();
    store.releasable = [{ tenantId: 'id-1', name: 'gone' }];
    leases.held = false;
    assert.equal(await release(store, leases).pass(), undefined);
    assert.equal(store.passes, 0, 'a process without the lease does not touch the quarantine');
    leases.held = true;
    assert.deepEqual(await release(store, leases).pass(), [{ tenantId: 'id-1', name: 'gone' }]);
    assert.deepEqual(leases.jobs, [QUARANTINE_RELEASE_JOB, QUARANTINE_RELEASE_JOB]);
  });

  it('gives up a pass whose fence fails, leaving the blocks to the new holder', async () => {
    const store = new QuarantineDouble();
    const leases = new LeaseDouble();
    store.releasable = [{ tenantId: 'id-1', name: 'gone' }];
    leases.deposed = true;
    assert.equal(await release(store, leases).pass(), undefined);
    assert.deepEqual(store.releasable, [{ tenantId: 'id-1', name: 'gone' }]);
  });

  it('folds the kicks that come while a pass runs into one more pass', async () => {
    const store = new QuarantineDouble();
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    const job = release(store, new LeaseDouble());
    for (let i = 0; i < 10; i += 1) job.kick();
    open();
    await job.settled();
    assert.equal(store.passes, 2);
  });
});
