import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch, removeCgroupTree } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';
import type { Tenant } from '../support/api';

// Drift the reconciler repairs must also be counted (issue 12 #16), and a namespace lost under a running
// workload must converge (issue 12 #15). A governor in role all with a short resync, on scratch places.
const host = hostScratch('drift');
let gov: TestGovernor;

before(async () => {
  gov = await startGovernor({ ...host.env, GOVERNOR_NODE_NAME: 'drift-a', GOVERNOR_RESYNC_INTERVAL: '1s', GOVERNOR_NET_POOL: '10.248.0.0/24' });
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

/** A tenant as the API shows it. */
type TenantView = Tenant;

async function get(name: string): Promise<TenantView> {
  return (await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root)).body as TenantView;
}

async function until<T>(what: string, probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

const isReady = (t: TenantView) => t.status?.observedGeneration === t.generation && t.status.phase === 'Ready' && t.status.isolation?.init.state === 'running';

async function tenant(name: string): Promise<TenantView> {
  assert.equal((await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name })).status, 201);
  return until(`${name} ready`, () => get(name), isReady);
}

async function drift(name: string, file: string): Promise<number> {
  const text = (await gov.http.get('/metrics')).text;
  const match = new RegExp(`^governor_drift_corrections_total\\{tenant="${name}",file="${file}"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

const nft = (...args: string[]) => spawnSync('nft', args, { encoding: 'utf8' });
/** Deletes one link's anti-spoofing element (its link and the one source address it may send from). */
function deleteSpoofRule(hostInterface: string): void {
  const listing = nft('-j', 'list', 'set', 'inet', host.firewallTable, 'guard4').stdout;
  const { nftables } = JSON.parse(listing) as { nftables: Array<{ set?: { elem?: Array<{ concat: [string, string] }> } }> };
  const element = nftables.flatMap((entry) => entry.set?.elem ?? []).find((e) => e.concat[0] === hostInterface);
  assert.ok(element, listing);
  const deleted = nft('delete', 'element', 'inet', host.firewallTable, 'guard4', `{ "${hostInterface}" . ${element.concat[1]} }`);
  assert.equal(deleted.status, 0, deleted.stderr);
}
const ruleCount = (hostInterface: string) => nft('list', 'table', 'inet', host.firewallTable).stdout.split(`"${hostInterface}"`).length - 1;

describe('drift corrections are counted in governor_drift_corrections_total', () => {
  it('counts a tenant cgroup directory removed by hand and rebuilt', async () => {
    await tenant('rebuilt');
    const dir = join(host.root, 'tenants', 'rebuilt');
    removeCgroupTree(dir);
    await until(
      'rebuilt and counted',
      () => drift('rebuilt', 'cgroup'),
      (n) => n === 1,
    );
    assert.ok(spawnSync('test', ['-d', dir]).status === 0, 'the tenant cgroup is back');
  });

  it("counts a tenant's firewall element removed by hand in the same pass that adds a tenant to the table", async () => {
    const edited = await tenant('walled');
    const link = edited.status.network!.hostInterface;
    const rules = ruleCount(link);
    deleteSpoofRule(link);
    assert.equal((await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'newcomer' })).status, 201);
    await until('newcomer ready', () => get('newcomer'), isReady);
    await until(
      'the rule is back',
      () => ruleCount(link),
      (n) => n === rules,
    );
    assert.ok((await drift('walled', 'nftables')) >= 1, 'the hand edit is counted for the tenant it touched');
  });

  it("counts a tenant's firewall element removed by hand while the governor was stopped", async () => {
    const link = (await get('walled')).status.network!.hostInterface;
    const rules = ruleCount(link);
    await gov.app.close();
    deleteSpoofRule(link);
    await gov.restart();
    await until(
      'the rule is back',
      () => ruleCount(link),
      (n) => n === rules,
    );
    await until(
      'counted',
      () => drift('walled', 'nftables'),
      (n) => n >= 1,
    );
  });
});

describe('a tenant network namespace lost while a workload runs (issue 12 #15)', () => {
  it('converges: the link is rebuilt into the new namespace, and the workload of the old ones is reported killed with an event', async () => {
    const before = await tenant('lost');
    const started = await gov.http
      .post('/v1/tenants/lost/workloads')
      .set('Authorization', gov.root)
      .send({ command: ['/bin/sleep', '600'] });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const workload = started.body as { id: string; pid: number };
    const netns = join(host.runDir, 'ns', 'lost', 'net');
    // The bind mount goes; the namespace itself lives on in the workload and the init that joined it.
    assert.equal(spawnSync('umount', [netns]).status, 0);
    const after = await until(
      'Ready again with a new init',
      () => get('lost'),
      (t) => isReady(t) && t.status.isolation!.init.pid !== before.status.isolation!.init.pid,
      45_000,
    );
    assert.deepEqual(
      after.status.conditions.filter((c) => c.reason === 'NetworkFailed'),
      [],
    );
    const inside = spawnSync('nsenter', [`--net=${netns}`, 'ip', '-o', '-4', 'address', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    assert.match(inside.stdout, new RegExp(`inet ${after.status.network!.address.replace(/\./g, '\\.')}/`), inside.stderr);
    // The host end is paired with the eth0 of the tenant's namespace now: the gateway answers through it.
    const ping = spawnSync('nsenter', [`--net=${netns}`, 'ping', '-c', '1', '-W', '2', after.status.network!.gateway], { encoding: 'utf8' });
    assert.equal(ping.status, 0, ping.stdout + ping.stderr);
    const state = await until(
      'the old workload is reported',
      async () => (await gov.http.get(`/v1/tenants/lost/workloads/${workload.id}`).set('Authorization', gov.root)).body as { state: string },
      (w) => w.state !== 'running' && w.state !== 'starting',
    );
    assert.equal(state.state, 'killed');
    assert.equal(spawnSync('kill', ['-0', String(workload.pid)]).status === 0, false, 'nothing runs in the old namespaces');
    const events = await gov.query<{ kind: string; message: string }>(`SELECT kind, message FROM tenant_events WHERE tenant_id = $1`, [before.id]);
    assert.ok(
      events.some((e) => e.kind === 'init' && /namespace/.test(e.message)),
      JSON.stringify(events),
    );
    assert.equal(after.status.isolation!.init.restarts, 1);
  });
});
