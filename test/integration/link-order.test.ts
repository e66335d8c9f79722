import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { type ServiceProcess, startService } from '../support/service.process';

const run = promisify(execFile);
const host = hostScratch('linkorder');
/** This file's own pool (other files use 10.231-10.251 and 10.254): a link with an address in it is one of ours. */
const POOL = '10.252.0.0/22';
const TENANTS = 50;
let databaseUrl: string | undefined;
after(async () => {
  if (databaseUrl) await dropDatabase(databaseUrl);
  host.cleanup();
});

type Tenant = { id: string; status: { phase: string; network?: { hostInterface: string } } };

async function api<T>(service: ServiceProcess, path: string, body?: object): Promise<{ status: number; body: T }> {
  const res = await fetch(`${service.url}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface LinkRow {
  ifname: string;
  flags: string[];
  addr_info?: Array<{ family: string; local: string }>;
}

/**
 * Watches the host's links and the firewall table as fast as `ip` and `nft` answer, and records every look
 * that found one of this file's links up while the table (read after the links) did not name it. Links are
 * read first: a table read later that still lacks an up link proves the link went up unfiltered.
 */
class LinkWatch {
  readonly violations: string[] = [];
  readonly seenUp = new Set<string>();
  looks = 0;
  private stopped = false;
  private done: Promise<void> | undefined;

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const links = JSON.parse((await run('ip', ['-j', 'address', 'show'])).stdout) as LinkRow[];
      const up = links
        .filter(
          (l) => l.ifname.startsWith('gv') && l.flags.includes('UP') && (l.addr_info ?? []).some((a) => a.family === 'inet' && a.local.startsWith('10.252.')),
        )
        .map((l) => l.ifname);
      let table = '';
      try {
        table = (await run('nft', ['-j', 'list', 'table', 'inet', host.firewallTable])).stdout;
      } catch {
        // no table (yet): every up link is a violation
      }
      for (const link of up) {
        this.seenUp.add(link);
        if (!table.includes(`"${link}"`)) this.violations.push(`look ${this.looks}: ${link} up, not in table inet ${host.firewallTable}`);
      }
      this.looks += 1;
    }
  }
}

async function allReady(service: ServiceProcess, names: string[], what: string): Promise<Map<string, string>> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const tenants = await Promise.all(names.map((name) => api<Tenant>(service, `/v1/tenants/${name}`)));
    const waiting = tenants.filter((t) => t.body.status.phase !== 'Ready');
    if (waiting.length === 0) return new Map(tenants.map((t, i) => [names[i], t.body.status.network!.hostInterface]));
    assert.ok(Date.now() < deadline, `${what}: ${waiting.length} not Ready, e.g. ${JSON.stringify(waiting[0].body.status)}`);
    await sleep(500);
  }
}

describe('a tenant link never goes up before the firewall covers it', () => {
  it(`holds while ${TENANTS} tenants are created at once, and while they are rebuilt after a reboot`, async () => {
    databaseUrl = await createDatabase();
    const env = { DATABASE_URL: databaseUrl, GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN, ...host.env, GOVERNOR_NET_POOL: POOL, GOVERNOR_LOG_LEVEL: 'warn' };
    const names = Array.from({ length: TENANTS }, (_, i) => `lo${String(i).padStart(2, '0')}`);

    const watch = new LinkWatch();
    watch.start();
    let interfaces: Map<string, string>;
    const first = await startService(env);
    try {
      const created = await Promise.all(names.map((name) => api<Tenant>(first, '/v1/tenants', { name })));
      assert.deepEqual(
        created.map((r) => r.status),
        names.map(() => 201),
      );
      interfaces = await allReady(first, names, 'created');
    } finally {
      await first.stop('SIGKILL');
    }
    await watch.stop();
    assert.deepEqual(watch.violations.slice(0, 5), [], `${watch.violations.length} looks saw an unfiltered link`);
    assert.equal(watch.seenUp.size, TENANTS, 'the watch saw every link up');
    const looksWhileCreating = watch.looks;

    // A reboot: nothing of the tenants on the host (processes, cgroups, namespaces, links, nftables, /run).
    host.cleanup();
    for (const link of interfaces.values()) {
      const deadline = Date.now() + 30_000;
      while (
        (await run('ip', ['link', 'show', link])
          .then(() => true)
          .catch(() => false)) &&
        Date.now() < deadline
      )
        await sleep(100);
    }

    const rebuild = new LinkWatch();
    rebuild.start();
    const second = await startService(env);
    try {
      // The statuses say Ready from before the reboot: the links themselves tell when the rebuild is done.
      const deadline = Date.now() + 240_000;
      while (![...interfaces.values()].every((link) => rebuild.seenUp.has(link))) {
        assert.ok(Date.now() < deadline, `rebuilt after the reboot: ${rebuild.seenUp.size} of ${TENANTS} links up`);
        await sleep(500);
      }
      await allReady(second, names, 'rebuilt after the reboot');
    } finally {
      await second.stop();
    }
    await rebuild.stop();
    assert.deepEqual(rebuild.violations.slice(0, 5), [], `${rebuild.violations.length} looks saw an unfiltered link after the reboot`);
    assert.equal(rebuild.seenUp.size, TENANTS, 'the watch saw every rebuilt link up');
    console.log(`link-order: ${looksWhileCreating} looks while creating, ${rebuild.looks} while rebuilding; no link up outside the table`);
  });
});
