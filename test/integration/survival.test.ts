import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { type ServiceProcess, startService } from '../support/service.process';

const host = hostScratch('survival');
let databaseUrl: string | undefined;
after(async () => {
  if (databaseUrl) await dropDatabase(databaseUrl);
  host.cleanup();
});

async function api<T>(service: ServiceProcess, path: string, body?: object): Promise<{ status: number; body: T }> {
  const res = await fetch(`${service.url}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function until<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(value)}`);
    await sleep(200);
  }
}

type Workload = { id: string; state: string; exitCode: number | null; pid: number | null };

describe('a governor killed with SIGKILL while workloads run', () => {
  it('finds them again: the running one still runs, the one that exited meanwhile has its exit code', async () => {
    databaseUrl = await createDatabase();
    const env = {
      DATABASE_URL: databaseUrl,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      ...host.env,
      GOVERNOR_NET_POOL: '10.232.0.0/24',
      GOVERNOR_LOG_LEVEL: 'warn',
    };
    const first = await startService(env);
    let sleeper: Workload;
    let quitter: Workload;
    try {
      await api(first, '/v1/tenants', { name: 'keep' });
      await until(
        () => api<{ status: { observedGeneration: number } }>(first, '/v1/tenants/keep'),
        (r) => r.body.status.observedGeneration === 1,
        'applied',
      );
      sleeper = (await api<Workload>(first, '/v1/tenants/keep/workloads', { command: ['/bin/sleep', '60'] })).body;
      quitter = (await api<Workload>(first, '/v1/tenants/keep/workloads', { command: ['/bin/sh', '-c', 'sleep 2; exit 7'] })).body;
      assert.equal(quitter.state, 'running');
    } finally {
      await first.stop('SIGKILL');
    }
    await sleep(3000); // the quitter exits while no governor runs

    const second = await startService(env);
    try {
      const exited = await until(
        () => api<Workload>(second, `/v1/tenants/keep/workloads/${quitter.id}`),
        (r) => r.body.state !== 'running',
        'the exit is found',
      );
      assert.deepEqual({ state: exited.body.state, exitCode: exited.body.exitCode }, { state: 'exited', exitCode: 7 });
      const running = await api<Workload>(second, `/v1/tenants/keep/workloads/${sleeper.id}`);
      assert.equal(running.body.state, 'running');
      assert.equal(spawnSync('kill', ['-0', String(running.body.pid)]).status, 0, 'the workload survived the governor');
    } finally {
      await second.stop();
    }
  });
});

describe('a reboot, as the host sees it: /run empty, no cgroups, no links, no firewall', () => {
  it('rebuilds every tenant and reports the workloads that were running as lost', async () => {
    const rebootDb = await createDatabase();
    const env = { DATABASE_URL: rebootDb, GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN, ...host.env, GOVERNOR_NET_POOL: '10.233.0.0/24', GOVERNOR_LOG_LEVEL: 'warn' };
    type Tenant = { status: { observedGeneration: number; phase: string; network: { hostInterface: string; address: string } } };
    try {
      const before = await startService(env);
      let sleeper: Workload;
      let tenant: Tenant;
      try {
        await api(before, '/v1/tenants', { name: 'boot' });
        tenant = (
          await until(
            () => api<Tenant>(before, '/v1/tenants/boot'),
            (r) => r.body.status.phase === 'Ready',
            'ready',
          )
        ).body;
        sleeper = (await api<Workload>(before, '/v1/tenants/boot/workloads', { command: ['/bin/sleep', '600'] })).body;
        assert.equal(sleeper.state, 'running');
      } finally {
        await before.stop('SIGKILL');
      }
      // What a reboot leaves: nothing of the tenant on the host (processes, cgroups, namespaces, links,
      // nftables, /run), and everything in PostgreSQL.
      host.cleanup();
      // The kernel destroys an unmounted network namespace, and the veth in it, a moment later.
      await until(
        () => spawnSync('ip', ['link', 'show', tenant.status.network.hostInterface]).status,
        (code) => code !== 0,
        'the link goes with the netns',
      );

      const after = await startService(env);
      try {
        const lost = await until(
          () => api<Workload & { message: string }>(after, `/v1/tenants/boot/workloads/${sleeper.id}`),
          (r) => r.body.state !== 'running',
          'the workload is found gone',
        );
        assert.equal(lost.body.state, 'lost');
        assert.match(lost.body.message, /rebooted|cleared/);
        await until(
          () => ({
            link: spawnSync('ip', ['link', 'show', tenant.status.network.hostInterface]).status,
            ns: existsSync(join(host.runDir, 'ns', 'boot', 'net')),
            firewall: spawnSync('nft', ['list', 'table', 'inet', host.firewallTable]).status,
          }),
          (r) => r.link === 0 && r.ns && r.firewall === 0,
          'the link, the namespaces and the firewall are rebuilt',
        );
        assert.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(host.runDir, 'ns', 'boot', 'net')), 'the netns is a bind mount again');
        assert.ok(existsSync(join(host.root, 'tenants', 'boot')), 'the tenant cgroup is back');
        // The table comes first (it covers the link before the link goes up), the init last: a workload starts
        // once the tenant is set up again, and is refused with 409 until then.
        const again = await until(
          () => api<Workload>(after, '/v1/tenants/boot/workloads', { command: ['/bin/sh', '-c', 'exit 3'] }),
          (r) => r.status !== 409,
          'a workload is accepted once the tenant init runs again',
        );
        assert.equal(again.status, 201, JSON.stringify(again.body));
        const done = await until(
          () => api<Workload>(after, `/v1/tenants/boot/workloads/${again.body.id}`),
          (r) => r.body.state !== 'running',
          'a new workload runs',
        );
        assert.deepEqual({ state: done.body.state, exitCode: done.body.exitCode }, { state: 'exited', exitCode: 3 });
      } finally {
        await after.stop();
      }
    } finally {
      await dropDatabase(rebootDb);
    }
  });
});

describe('a stop whose grace outlives the governor that took it', () => {
  it('kills the workload that ignores SIGTERM when the grace ends, under the governor started after a SIGKILL', async () => {
    const graceDb = await createDatabase();
    const env = { DATABASE_URL: graceDb, GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN, ...host.env, GOVERNOR_NET_POOL: '10.246.0.128/25', GOVERNOR_LOG_LEVEL: 'warn' };
    try {
      const first = await startService(env);
      let stubborn: Workload;
      try {
        await api(first, '/v1/tenants', { name: 'grace' });
        await until(
          () => api<{ status: { observedGeneration: number } }>(first, '/v1/tenants/grace'),
          (r) => r.body.status.observedGeneration === 1,
          'applied',
        );
        stubborn = (await api<Workload>(first, '/v1/tenants/grace/workloads', { command: ['/bin/sh', '-c', 'trap "" TERM; while :; do sleep 1; done'] })).body;
        assert.equal(stubborn.state, 'running');
        const stop = await fetch(`${first.url}/v1/tenants/grace/workloads/${stubborn.id}?grace=4s`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${ROOT_TOKEN}` },
        });
        assert.equal(stop.status, 202);
      } finally {
        await first.stop('SIGKILL');
      }
      const second = await startService(env);
      try {
        assert.equal((await api<Workload>(second, `/v1/tenants/grace/workloads/${stubborn.id}`)).body.state, 'running', 'SIGTERM was ignored');
        const killed = await until(
          () => api<Workload & { signal: string | null }>(second, `/v1/tenants/grace/workloads/${stubborn.id}`),
          (r) => r.body.state !== 'running',
          'the workload is killed once its grace ends',
        );
        assert.deepEqual({ state: killed.body.state, signal: killed.body.signal }, { state: 'killed', signal: 'SIGKILL' });
      } finally {
        await second.stop();
      }
    } finally {
      await dropDatabase(graceDb);
    }
  });
});
