import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createGovernorApp } from '../../apps/governor/src/app.factory';
import { hostScratch } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';
import type { Tenant } from '../support/api';

// Issue 12 #7: a node that was away while a tenant was deleted, and its name taken by a new tenant, must not
// hand the new tenant what is left of the old one on this host (its user namespace and uid map, its cgroup
// with its processes, its home). The governor in role all is stopped; the old tenant is tombstoned in the
// database as another node would have done, and the new one is created through a governor in role api.
const host = hostScratch('identity');
let gov: TestGovernor | undefined;
after(async () => {
  await gov?.close();
  host.cleanup();
});

/** A tenant as the API shows it. */
type TenantView = Tenant;

async function ready(g: TestGovernor, name: string, id?: string): Promise<TenantView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await g.http.get(`/v1/tenants/${name}`).set('Authorization', g.root);
    const t = res.body as TenantView;
    if (
      res.status === 200 &&
      (id === undefined || t.id === id) &&
      t.status?.observedGeneration === t.generation &&
      t.status.phase === 'Ready' &&
      t.status.isolation?.init.state === 'running'
    )
      return t;
    assert.ok(Date.now() < deadline, `${name} ready: ${JSON.stringify(res.body)}`);
    await sleep(200);
  }
}

const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;
const uidMapOf = (pid: number) => readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
/** The loop image mounted on a tenant's home mount point, from /sys/block/loopN/loop/backing_file. */
function homeImage(point: string): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    const source = fields[dash + 2];
    if (fields[4] === point && source?.startsWith('/dev/loop')) return readFileSync(`/sys/block/${source.slice(5)}/loop/backing_file`, 'utf8').trim();
  }
  return undefined;
}

describe('a tenant deleted while this node was away, its name then taken by a new tenant', () => {
  it('gives the new tenant fresh namespaces with its own uid map, a fresh cgroup and its own home', async () => {
    gov = await startGovernor({ ...host.env, GOVERNOR_NODE_NAME: 'identity-a', GOVERNOR_NET_POOL: '10.247.0.0/24' });
    assert.equal((await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'reuse' })).status, 201);
    const old = await ready(gov, 'reuse');
    const sleeper = await gov.http
      .post('/v1/tenants/reuse/workloads')
      .set('Authorization', gov.root)
      .send({ command: ['/bin/sleep', '600'] });
    assert.equal(sleeper.status, 201, JSON.stringify(sleeper.body));
    const oldWorkloadPid = (sleeper.body as { pid: number }).pid;
    const oldInit = old.status.isolation!.init.pid!;
    const oldUidBase = old.status.uidRange!.start;
    assert.deepEqual(uidMapOf(oldInit), [0, oldUidBase, 65536]);
    const nsUser = join(host.runDir, 'ns', 'reuse', 'user');
    const cgroupDir = join(host.root, 'tenants', 'reuse');
    const oldNs = statSync(nsUser).ino;
    const oldCgroup = statSync(cgroupDir).ino;
    const oldHome = homeImage(join(host.runDir, 'homes', 'reuse'));
    assert.ok(oldHome?.includes(old.id), `the old home is the old tenant's image: ${oldHome}`);

    // The node goes away; meanwhile the tenant is deleted (another node tombstoned it and quarantined its
    // blocks, since this node was not alive) and a new tenant takes its name.
    await gov.app.close();
    await gov.query(`UPDATE tenants SET deletion_requested_at = now(), deleted_at = now() WHERE id = $1`, [old.id]);
    await gov.query(`UPDATE tenant_allocations SET quarantined_at = now() WHERE tenant_id = $1`, [old.id]);
    let api: INestApplication | undefined;
    let newId: string;
    try {
      api = await createGovernorApp({ ...gov.config, role: 'api' }, gov.databaseUrl);
      const created = await request(api.getHttpServer() as Server)
        .post('/v1/tenants')
        .set('Authorization', gov.root)
        .send({ name: 'reuse' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      newId = (created.body as { id: string }).id;
    } finally {
      await api?.close();
    }
    assert.notEqual(newId, old.id);

    // The node comes back.
    await gov.restart();
    const fresh = await ready(gov, 'reuse', newId);
    const newUidBase = fresh.status.uidRange!.start;
    assert.notEqual(newUidBase, oldUidBase, 'the old block stays in quarantine until this node confirms its teardown');
    const newInit = fresh.status.isolation!.init.pid!;
    assert.notEqual(newInit, oldInit);
    assert.deepEqual(uidMapOf(newInit), [0, newUidBase, 65536], 'the init runs in a user namespace with the new tenant’s uid map');
    assert.notEqual(statSync(nsUser).ino, oldNs, 'a fresh user namespace');
    assert.notEqual(statSync(cgroupDir).ino, oldCgroup, 'a fresh cgroup');
    const homeNow = homeImage(join(host.runDir, 'homes', 'reuse'));
    assert.ok(homeNow?.includes(newId), `the home mounted is the new tenant's image: ${homeNow}`);
    for (const deadline = Date.now() + 15_000; alive(oldWorkloadPid) || alive(oldInit); await sleep(100))
      assert.ok(Date.now() < deadline, 'the old tenant’s init and workload are gone');
    // The fresh cgroup has no workloads/ until the new tenant starts one: nothing of the old tenant's was kept.
    assert.equal(existsSync(join(cgroupDir, 'workloads')), false, 'the old workload leaf went with the old cgroup');
    // What is left of the old tenant elsewhere (its link, keyed by its id) goes with the quarantine sweep.
    for (const deadline = Date.now() + 15_000; spawnSync('ip', ['link', 'show', old.status.network!.hostInterface]).status === 0; await sleep(200))
      assert.ok(Date.now() < deadline, `the old tenant's link ${old.status.network!.hostInterface} is removed`);
  });
});
