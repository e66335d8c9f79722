import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import { removeCgroupTree, scratchCgroupRoot } from '../support/cgroup-root';

// The cgroup driver on this host's v2 tree (core files only in hybrid mode), counting native calls: a
// tenant in sync must cost one batched read and no write, and a hand edit must still be found per file.
const root = scratchCgroupRoot('batch');
const native = new KoffiNative();
let driver: CgroupDriver;
const written: string[] = [];
const options = { force: false, reclaimTimeoutMs: 0, suspended: false };

before(async () => {
  driver = await CgroupDriver.start({ root, native });
  driver.fs.onWrite((file) => written.push(file));
});
after(() => {
  driver?.close();
  removeCgroupTree(root);
});

describe('batched cgroup reconcile', () => {
  it('creates a tenant, then passes over it in sync with one native read and no write', async () => {
    await driver.applyTenant('batch-a', {}, options);
    const reads = driver.fs.batchReads;
    const writes = driver.fs.writes;
    const result = await driver.applyTenant('batch-a', {}, options);
    assert.deepEqual(result.changes, []);
    assert.equal(driver.fs.batchReads - reads, 1);
    assert.equal(driver.fs.writes - writes, 0);
  });

  it('reverts a hand freeze within one pass and reports the file it changed', async () => {
    const freeze = join(driver.tenantPath('batch-a'), 'cgroup.freeze');
    writeFileSync(freeze, '1');
    written.length = 0;
    const result = await driver.applyTenant('batch-a', {}, options);
    assert.deepEqual(
      result.changes.map((change) => change.file),
      [freeze],
    );
    assert.deepEqual(written, [freeze]);
    assert.equal(readFileSync(freeze, 'utf8').trim(), '0');
  });

  it('names the file, the value and the errno of a refused write in a plan', async () => {
    // cgroup.freeze takes only 0 or 1: the kernel refuses anything else with ERANGE.
    await assert.rejects(driver.fs.writeMany('tenants/batch-a', [{ name: 'cgroup.freeze', value: '7' }]), (err: Error) => {
      assert.match(err.message, /writing "7" to .*batch-a\/cgroup\.freeze failed: ERANGE/);
      return true;
    });
  });

  it('reads a missing file of a batch as absent and a missing cgroup as no snapshot', async () => {
    const snapshot = await driver.fs.readMany('tenants/batch-a', ['cgroup.freeze', 'memory.max']);
    assert.equal(snapshot?.get('cgroup.freeze')?.trim(), '0');
    assert.equal(snapshot?.has('memory.max'), true);
    assert.equal(snapshot?.get('memory.max'), undefined);
    assert.equal(await driver.fs.readMany('tenants/nobody', ['cgroup.freeze']), undefined);
  });

  it('reads the same files of many child cgroups, a few children to a native call', async () => {
    const before = driver.fs.batchReads;
    const snapshots = await driver.fs.readAcross('tenants', ['batch-a', 'nobody', 'batch-a'], ['cgroup.freeze', 'memory.max'], 2);
    assert.equal(driver.fs.batchReads - before, 2);
    assert.equal(snapshots.get('batch-a')?.get('cgroup.freeze')?.trim(), '0');
    assert.equal(snapshots.get('batch-a')?.has('memory.max'), true);
    assert.deepEqual([...(snapshots.get('nobody')?.values() ?? [])], [undefined, undefined]);
    await assert.rejects(driver.fs.readAcross('tenants', ['..'], ['cgroup.procs']), /refusing to build a cgroup path/);
  });

  it('refuses a batch name that climbs out of the cgroup', async () => {
    await assert.rejects(driver.fs.readMany('tenants/batch-a', ['../cgroup.procs']), /refusing to build a cgroup path/);
  });
});
