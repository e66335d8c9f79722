import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { type ServiceProcess, startService } from '../support/service.process';
import { COUNTED_CALLS, countSyscalls, detach, type SyscallCount, trace } from '../support/syscall-count';

// A governor as a process of its own, with tenants whose cgroups, links, shaping and firewall are in
// sync. strace, attached to every thread of it, sees each execve, fork, write to a /sys or /proc file and
// netlink change request of the governor and its children: a pass with nothing to change must do none of
// them. The same counter sees the cgroup.freeze write of a suspension, the netlink request of a new rate
// (and no process for it), the tenant init of a new tenant and the monitor of a workload start, so a quiet
// counter is not a deaf one.
const scratch = hostScratch('noop');
const TENANTS = ['quiet-a', 'quiet-b', 'quiet-c'];
const RESYNC_MS = 1000;
const auth = { Authorization: `Bearer ${ROOT_TOKEN}` };
let databaseUrl: string;
let dataDir: string;
let service: ServiceProcess;

before(async () => {
  databaseUrl = await createDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'governor-noop-'));
  service = await startService({
    ...scratch.env,
    DATABASE_URL: databaseUrl,
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    GOVERNOR_NET_POOL: '10.242.4.0/24',
    GOVERNOR_RESYNC_INTERVAL: `${RESYNC_MS}ms`,
    // Every resync reads every tenant in full: the full pass is what writes nothing here (quiet-tenants.test
    // has the resync that skips a tenant nothing touched).
    GOVERNOR_FULL_CHECK_INTERVAL: '0s',
  });
  for (const name of TENANTS) {
    const res = await api('POST', '/v1/tenants', { name, quota: { network: { ingress: '8Mbit' } } });
    assert.equal(res.status, 201, await res.text());
  }
  for (const name of TENANTS) await until(name, (t) => t.status?.observedGeneration === 1 && t.status.phase === 'Ready');
});
after(async () => {
  await service?.stop();
  await dropDatabase(databaseUrl);
  rmSync(dataDir, { recursive: true, force: true });
  scratch.cleanup();
});

function api(method: string, path: string, body?: unknown): Promise<Response> {
  const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  return fetch(`${service.url}${path}`, { method, headers: { ...auth, 'Content-Type': type }, body: body === undefined ? undefined : JSON.stringify(body) });
}

type Tenant = { status?: { observedGeneration?: number; phase?: string; network?: { hostInterface?: string } } };
async function until(name: string, done: (t: Tenant) => boolean, ms = 30_000): Promise<Tenant> {
  for (const deadline = Date.now() + ms; ; await sleep(100)) {
    const tenant = (await (await api('GET', `/v1/tenants/${name}`)).json()) as Tenant;
    if (done(tenant)) return tenant;
    assert.ok(Date.now() < deadline, JSON.stringify(tenant));
  }
}

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/**
 * strace on every thread of the governor (and, with -f, the children they start) for `ms` after `during`:
 * the programs it started, its forks, its writes to /sys and /proc files and its netlink change requests,
 * and its own count of cgroup writes over the same time.
 */
async function passesWhileTraced(ms: number, during?: () => Promise<void>): Promise<SyscallCount & { writes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'governor-strace-'));
  const out = join(dir, 'log');
  const writesBefore = await metric(/^governor_cgroup_writes_total /);
  const strace = trace(service.child.pid as number, out, COUNTED_CALLS, ['-yy', '-s', '1']);
  try {
    await sleep(500); // strace attaches
    await during?.();
    await sleep(ms);
  } finally {
    // Also when `during` throws: a tracer left attached slows the governor for the tests after, and keeps this file running.
    await detach(strace);
  }
  const count = countSyscalls(readFileSync(out, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  return { ...count, writes: (await metric(/^governor_cgroup_writes_total /)) - writesBefore };
}

describe('a pass with nothing to change', () => {
  it('starts no process and writes nothing (no /sys or /proc file, no netlink change) over several resyncs', async () => {
    assert.equal(spawnSync('strace', ['-V']).status, 0, 'strace is installed (test/setup.sh)');
    const passesBefore = await metric(/^governor_reconcile_total\{result="success"\}/);
    const seen = await passesWhileTraced(4 * RESYNC_MS);
    assert.ok((await metric(/^governor_reconcile_total\{result="success"\}/)) - passesBefore >= 2 * TENANTS.length, 'passes ran while traced');
    assert.deepEqual(seen.execs, [], 'no ip, nsenter, tc, sysctl or nft');
    assert.equal(seen.forks, 0, 'no fork');
    assert.deepEqual(seen.kernelFileWrites, [], 'no write to a file under /sys or /proc');
    assert.equal(seen.netlinkWrites, 0, `no netlink change request: ${seen.netlinkSamples.join('; ')}`);
    assert.equal(seen.writes, 0, "the governor's own count of cgroup writes agrees");
  });

  it('sees the cgroup write of a change, so the silence above is not a deaf counter', async () => {
    const seen = await passesWhileTraced(RESYNC_MS, async () => {
      const res = await api('PATCH', '/v1/tenants/quiet-c', { suspended: true });
      assert.equal(res.status, 200, await res.text());
      await until('quiet-c', (t) => t.status?.observedGeneration === 2);
    });
    assert.ok(
      seen.kernelFileWrites.some((file) => file.endsWith('/tenants/quiet-c/cgroup.freeze')),
      `the tracer saw the write of quiet-c's cgroup.freeze: ${seen.kernelFileWrites.join(' ') || 'no write'}`,
    );
    assert.ok(seen.writes >= 1, "and so did the governor's own counter");
    assert.equal((await api('PATCH', '/v1/tenants/quiet-c', { suspended: false })).status, 200);
    await until('quiet-c', (t) => t.status?.observedGeneration === 3 && t.status.phase === 'Ready');
  });

  it('sets a new rate over netlink, starting no process and writing no cgroup file', async () => {
    const seen = await passesWhileTraced(2 * RESYNC_MS, async () => {
      const res = await api('PATCH', '/v1/tenants/quiet-a', { quota: { network: { ingress: '16Mbit' } } });
      assert.equal(res.status, 200, await res.text());
      await until('quiet-a', (t) => t.status?.observedGeneration === 2);
    });
    assert.deepEqual(seen.execs, [], 'no ip, tc, nsenter or sysctl');
    assert.ok(seen.netlinkWrites >= 1, 'the tracer saw the new rate go to the kernel as a netlink request');
    assert.deepEqual(seen.kernelFileWrites, [], 'a network change writes no file under /sys or /proc');
    assert.equal(seen.writes, 0, 'nor any cgroup file by its own count');
    const device = (await until('quiet-a', (t) => t.status?.network?.hostInterface !== undefined)).status?.network?.hostInterface as string;
    const qdiscs = JSON.parse(spawnSync('tc', ['-j', 'qdisc', 'show', 'dev', device, 'root'], { encoding: 'utf8' }).stdout) as {
      kind: string;
      options?: { rate?: number };
    }[];
    assert.deepEqual(
      qdiscs.map((q) => [q.kind, q.options?.rate]),
      [['tbf', 2_000_000]],
      'the host end is shaped to 16 Mbit/s (tc -j shows bytes per second)',
    );
  });

  it('creates and removes a tenant with its namespaces, link and shaping without ip, tc, nsenter or sysctl', async () => {
    const { execs: programs } = await passesWhileTraced(RESYNC_MS, async () => {
      const res = await api('POST', '/v1/tenants', { name: 'quiet-d', quota: { network: { ingress: '8Mbit' } } });
      assert.equal(res.status, 201, await res.text());
      // A whole tenant (its home image is made and mounted too) under strace -f: slow on a loaded host.
      await until('quiet-d', (t) => t.status?.observedGeneration === 1 && t.status.phase === 'Ready', 120_000);
      assert.equal((await api('DELETE', '/v1/tenants/quiet-d')).status, 202);
      for (const deadline = Date.now() + 120_000; (await api('GET', '/v1/tenants/quiet-d')).status !== 404; await sleep(100))
        assert.ok(Date.now() < deadline, 'quiet-d is gone within 120 s');
    });
    const network = programs.filter((program) => ['ip', 'tc', 'nsenter', 'sysctl', 'unshare'].includes(program));
    assert.deepEqual(network, [], `the tracer saw: ${programs.join(' ')}`);
    assert.ok(programs.includes('governor-tenant-init'), `the tenant's init is seen, so the tracer was live: ${programs.join(' ')}`);
  });

  it('sees the monitor a workload start runs, so the silence above is real', async () => {
    const { execs: programs } = await passesWhileTraced(RESYNC_MS, async () => {
      const res = await api('POST', '/v1/tenants/quiet-b/workloads', { command: ['/bin/true'] });
      assert.equal(res.status, 201, await res.text());
    });
    assert.ok(programs.includes('governor-monitor'), `the tracer saw: ${programs.join(' ') || 'nothing'}`);
  });

  it('repairs an accept put by hand over a drop of its firewall within a resync, and counts it as drift', async () => {
    const table = scratch.firewallTable;
    const listing = spawnSync('nft', ['-a', 'list', 'chain', 'inet', table, 'input'], { encoding: 'utf8' }).stdout;
    const match = /(iifname @links) drop # handle (\d+)/.exec(listing);
    assert.ok(match, listing);
    const [, links, handle] = match as unknown as [string, string, string];
    const replaced = spawnSync('nft', ['replace', 'rule', 'inet', table, 'input', 'handle', handle, ...links.split(' '), 'accept'], { encoding: 'utf8' });
    assert.equal(replaced.status, 0, replaced.stderr);
    for (const deadline = Date.now() + 5 * RESYNC_MS; ; await sleep(100)) {
      const now = spawnSync('nft', ['list', 'chain', 'inet', table, 'input'], { encoding: 'utf8' }).stdout;
      if (!/iifname @links accept\n\s*}/.test(now) && /iifname @links drop\n\s*}/.test(now)) break;
      assert.ok(Date.now() < deadline, `repaired within a resync:\n${now}`);
    }
    for (const deadline = Date.now() + 5 * RESYNC_MS; (await metric(/^governor_drift_corrections_total\{[^}]*file="nftables"/)) < 1; await sleep(100)) {
      assert.ok(Date.now() < deadline, 'the repair is counted in governor_drift_corrections_total{file="nftables"}');
    }
  });
});
