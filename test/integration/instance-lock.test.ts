import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN, setDatabaseReachable } from '../support/governor.harness';
import { startService } from '../support/service.process';

/**
 * Two governors on one run directory unmounted each other's namespaces; on one firewall table they replaced
 * each other's rules. Whatever a second governor shares with a running one, it must refuse to start and
 * name the holder, and leave the first one's state alone.
 */
describe('one governor per run directory, cgroup root and firewall table', () => {
  const first = hostScratch('lock-a');
  const other = hostScratch('lock-b');
  const dirs: string[] = [];
  let databaseUrl: string;
  let running: Awaited<ReturnType<typeof startService>>;

  const env = (scratch: typeof first, db: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'governor-lock-'));
    dirs.push(dataDir);
    return { ...scratch.env, DATABASE_URL: db, GOVERNOR_DATA_DIR: dataDir, GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN, GOVERNOR_NET_POOL: '10.240.0.0/24' };
  };

  before(async () => {
    databaseUrl = await createDatabase();
    running = await startService(env(first, databaseUrl));
  });
  after(async () => {
    await running.stop();
    await dropDatabase(databaseUrl);
    first.cleanup();
    other.cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const refused = async (overrides: Record<string, string>, what: RegExp): Promise<void> => {
    const db = await createDatabase();
    try {
      await assert.rejects(startService({ ...env(other, db), ...overrides }), (err: Error) => {
        assert.match(err.message, /exited with 75/);
        assert.match(err.message, what);
        assert.match(err.message, new RegExp(`in use by pid ${running.child.pid}\\b`));
        return true;
      });
    } finally {
      await dropDatabase(db);
    }
    const ready = await fetch(`${running.url}/readyz`);
    assert.equal(ready.status, 200, 'the first governor is untouched');
  };

  it('refuses a second governor on the same run directory', () => refused({ GOVERNOR_RUN_DIR: first.runDir }, /the run directory .* is in use/));

  it('refuses a second governor on the same cgroup root, naming the holder from /proc/locks', () =>
    refused({ GOVERNOR_CGROUP_ROOT: first.root }, /the cgroup root .* is in use by pid \d+ \(.*main\.js\)/));

  it('refuses a second governor on the same firewall table', () =>
    refused({ GOVERNOR_FIREWALL_TABLE: first.firewallTable }, /the firewall table inet .* is in use/));

  it('starts a governor whose run directory, cgroup root and firewall table are all its own', async () => {
    const db = await createDatabase();
    try {
      const second = await startService(env(other, db));
      assert.equal((await fetch(`${second.url}/readyz`)).status, 200);
      await second.stop();
    } finally {
      await dropDatabase(db);
    }
  });
});

describe('a governor started while its database is away', () => {
  it('waits and retries, answering /readyz 503 with the reason, and serves once the database is back', { timeout: 120_000 }, async () => {
    const db = await createDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'governor-wait-'));
    const port = await freePort();
    await setDatabaseReachable(db, false);
    const pending = startService(
      { DATABASE_URL: db, GOVERNOR_ROLE: 'api', GOVERNOR_DATA_DIR: dataDir, GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN, GOVERNOR_PORT: String(port) },
      90_000,
    );
    let service: Awaited<typeof pending> | undefined;
    try {
      let detail = '';
      for (let i = 0; i < 100 && !/waiting for the database/.test(detail); i += 1) {
        await sleep(100);
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (ready?.status === 503) detail = ((await ready.json()) as { detail: string }).detail;
      }
      assert.match(detail, /not ready: waiting for the database: .*not currently accepting connections/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      const api = await fetch(`http://127.0.0.1:${port}/v1/tenants`, { headers: { Authorization: `Bearer ${ROOT_TOKEN}` } });
      assert.equal(api.status, 503);
      assert.equal(api.headers.get('content-type'), 'application/problem+json');
      await sleep(6000); // longer than the old 3 retries of a second before giving up
      assert.match(((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { detail: string }).detail, /waiting for the database/);

      await setDatabaseReachable(db, true);
      service = await pending;
      assert.equal((await fetch(`${service.url}/readyz`)).status, 200);
      assert.match(service.stdout(), /waiting for the database/);
    } finally {
      await service?.stop();
      if (service === undefined) await pending.then((s) => s.stop()).catch(() => undefined);
      await dropDatabase(db);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
