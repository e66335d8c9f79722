import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';
import type { Tenant } from '../support/api';

// A resync skips a tenant found in sync that nothing has touched since its last full check (QuietTenants, with
// the default GOVERNOR_FULL_CHECK_INTERVAL of 10 minutes), and the kernel's word that something touched it
// brings the full check back within a resync: a hand edit of a cgroup file, of the tenant's address inside its
// namespace, of the host end's qdisc, and the tenant init killed are each repaired, while another tenant nothing
// touched stays skipped.
const host = hostScratch('quiet');
const RESYNC_S = 1;
let gov: TestGovernor;

before(async () => {
  gov = await startGovernor({ ...host.env, GOVERNOR_NODE_NAME: 'quiet-a', GOVERNOR_RESYNC_INTERVAL: `${RESYNC_S}s`, GOVERNOR_NET_POOL: '10.210.255.0/26' });
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

async function get(name: string): Promise<Tenant> {
  return (await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root)).body as Tenant;
}

async function until<T>(what: string, probe: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

const isReady = (t: Tenant) => t.status?.observedGeneration === t.generation && t.status.phase === 'Ready' && t.status.isolation?.init.state === 'running';

async function metric(pattern: RegExp): Promise<number> {
  const text = (await gov.http.get('/metrics')).text;
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}
const SKIPPED = /^governor_reconcile_total\{result="skipped"\}/;
const FULL = /^governor_reconcile_total\{result="success"\}/;
const drift = (name: string, file: string) => metric(new RegExp(`^governor_drift_corrections_total\\{tenant="${name}",file="${file}"\\}`));

const run = (command: string, ...args: string[]) => {
  const res = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(res.status, 0, `${command} ${args.join(' ')}: ${res.stderr}`);
  return res.stdout;
};

describe('a resync skips a tenant nothing touched, and hears what touches it', () => {
  it('skips tenants in sync, and reads in full the one a hand edit touched, within a few resyncs', async () => {
    for (const name of ['still', 'edited']) {
      const res = await gov.http
        .post('/v1/tenants')
        .set('Authorization', gov.root)
        .send({ name, quota: { network: { ingress: '8Mbit' } } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const edited = await until('edited ready', () => get('edited'), isReady);
    await until('still ready', () => get('still'), isReady);
    // Skips start once each tenant had a full check whose watches were in place from its start.
    await until(
      'tenants skipped',
      () => metric(SKIPPED),
      (n) => n >= 4,
    );
    const full = await metric(FULL);
    await sleep(3 * RESYNC_S * 1000);
    assert.ok((await metric(FULL)) - full <= 2, 'tenants nothing touched are not read in full at each resync');

    // A hand edit of a cgroup file (vfs_write: inotify on the tenant's directory); cgroup.freeze is a file of the
    // cgroup v2 core, there on a hybrid host too.
    const freeze = join(host.root, 'tenants', 'edited', 'cgroup.freeze');
    writeFileSync(freeze, '1');
    await until(
      'thawed',
      () => readFileSync(freeze, 'utf8').trim(),
      (text) => text === '0',
    );
    await until(
      'counted',
      () => drift('edited', 'cgroup.freeze'),
      (n) => n >= 1,
    );

    // The tenant's address removed inside its namespace (rtnetlink of every namespace with an id).
    const netns = join(host.runDir, 'ns', 'edited', 'net');
    const shown = () => spawnSync('nsenter', [`--net=${netns}`, 'ip', '-o', '-4', 'address', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
    const address = new RegExp(` inet (${edited.status.network!.address.replace(/\./g, '\\.')}/\\d+) `).exec(shown())?.[1];
    assert.ok(address, shown());
    run('nsenter', `--net=${netns}`, 'ip', 'address', 'del', address, 'dev', 'eth0');
    await until('address back', shown, (text) => text.includes(`inet ${address} `));

    // The host end's shaping removed (rtnetlink of the host: the qdisc of its ifindex).
    const link = edited.status.network!.hostInterface;
    run('tc', 'qdisc', 'del', 'dev', link, 'root');
    await until(
      'tbf back',
      () => run('tc', 'qdisc', 'show', 'dev', link),
      (text) => text.includes('tbf'),
    );

    // The tenant init killed (its pidfd).
    const pid = edited.status.isolation!.init.pid!;
    process.kill(pid, 'SIGKILL');
    await until(
      'a new init',
      () => get('edited'),
      (t) => isReady(t) && t.status.isolation!.init.pid !== pid,
    );

    // The other tenant was skipped all along: its full checks are the periodic ones, not one a resync.
    const skipped = await metric(SKIPPED);
    await sleep(3 * RESYNC_S * 1000);
    assert.ok((await metric(SKIPPED)) - skipped >= 4, 'still skipped (and edited again, once repaired)');
  });
});
