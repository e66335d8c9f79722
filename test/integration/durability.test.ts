import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { seeded } from '../support/seeded';
import { startService } from '../support/service.process';

/**
 * Acknowledged writes survive SIGKILL. Writers log every 2xx; the governor is killed at a random moment
 * (fixed seed) while they write, then restarted on the same database; every acknowledged write must be
 * there, nothing must be half done, and no tenant's generation or resourceVersion may go backwards.
 */
const KILLS = Number(process.env.GOVERNOR_DURABILITY_KILLS ?? 20);
const SEED = Number(process.env.GOVERNOR_DURABILITY_SEED ?? 20261206);
const WRITERS = 4;

interface Acknowledged {
  /** pids.max of the newest acknowledged quota PATCH, with the versions it answered */
  pids: number;
  generation: number;
  resourceVersion: number;
}

interface TenantView {
  name: string;
  generation: number;
  resourceVersion: number;
  quota: { pids?: { max?: number } };
}

interface LedgerEntry {
  generation: number;
  after: { pids?: { max?: number } } | null;
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown } | undefined> {
  try {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ROOT_TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, json: text.length > 0 ? (JSON.parse(text) as unknown) : undefined };
  } catch {
    return undefined; // the governor died under the request: its outcome is unknown, so nothing is claimed
  }
}

async function runMode(mode: 'embedded' | 'external'): Promise<void> {
  const random = seeded(SEED + (mode === 'embedded' ? 0 : 1));
  const dataDir = mkdtempSync(join(tmpdir(), `governor-durability-${mode}-`));
  const databaseUrl = mode === 'external' ? await createDatabase() : undefined;
  const env = {
    GOVERNOR_ROLE: 'api',
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    GOVERNOR_LOG_LEVEL: 'warn',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const acked = new Map<string, Acknowledged>();
  /** creates that were sent but not acknowledged: they may or may not exist, but if one exists it is whole */
  const maybe = new Set<string>();
  let sequence = 0;
  let acknowledgedWrites = 0;
  try {
    for (let round = 0; round < KILLS; round += 1) {
      const service = await startService(env, 120_000);
      await verify(service.url, acked, maybe);
      let stop = false;
      const writer = async (): Promise<void> => {
        while (!stop) {
          const names = [...acked.keys()];
          if (names.length < 4 || random.next() < 0.2) {
            const name = `d${round}-${(sequence += 1)}`;
            maybe.add(name);
            const res = await call(service.url, 'POST', '/v1/tenants', { name, quota: { pids: { max: 100 } } });
            if (res?.status === 201) {
              const view = res.json as TenantView;
              acked.set(name, { pids: 100, generation: view.generation, resourceVersion: view.resourceVersion });
              maybe.delete(name);
              acknowledgedWrites += 1;
            } else if (res !== undefined) assert.fail(`create ${name} answered ${res.status}: ${JSON.stringify(res.json)}`);
          } else {
            const name = random.pick(names);
            const pids = random.int(1, 1_000_000);
            const res = await call(service.url, 'PATCH', `/v1/tenants/${name}`, { quota: { pids: { max: pids } } });
            if (res?.status === 200) {
              const view = res.json as TenantView;
              const before = acked.get(name)!;
              // Writers race on one tenant: keep the newest acknowledged version.
              if (view.resourceVersion > before.resourceVersion) acked.set(name, { pids, generation: view.generation, resourceVersion: view.resourceVersion });
              acknowledgedWrites += 1;
            } else if (res !== undefined && res.status !== 200) assert.fail(`patch ${name} answered ${res.status}: ${JSON.stringify(res.json)}`);
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, () => writer());
      await sleep(random.int(300, 2500));
      service.child.kill('SIGKILL');
      await service.stop();
      stop = true;
      await Promise.all(writers);
    }
    const last = await startService(env, 120_000);
    try {
      await verify(last.url, acked, maybe);
    } finally {
      await last.stop();
    }
    process.stdout.write(`# durability (${mode}): ${KILLS} SIGKILLs, ${acknowledgedWrites} acknowledged writes, ${acked.size} tenants, all found\n`);
  } finally {
    if (databaseUrl) await dropDatabase(databaseUrl);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Every acknowledged write is there and nothing is half done; versions never went backwards. */
async function verify(url: string, acked: Map<string, Acknowledged>, maybe: Set<string>): Promise<void> {
  for (const [name, want] of acked) {
    const res = await call(url, 'GET', `/v1/tenants/${name}`);
    assert.equal(res?.status, 200, `acknowledged tenant ${name} is missing after a SIGKILL: ${JSON.stringify(res?.json)}`);
    const got = res.json as TenantView;
    assert.ok(got.resourceVersion >= want.resourceVersion, `${name}: resourceVersion went back from ${want.resourceVersion} to ${got.resourceVersion}`);
    assert.ok(got.generation >= want.generation, `${name}: generation went back from ${want.generation} to ${got.generation}`);
    if (got.resourceVersion === want.resourceVersion) assert.equal(got.quota.pids?.max, want.pids, `${name}: the acknowledged pids.max is lost`);
    await assertWhole(url, got);
    // What is there now is the floor for the next round: an unacknowledged write that landed is not undone.
    acked.set(name, { pids: got.quota.pids?.max ?? 0, generation: got.generation, resourceVersion: got.resourceVersion });
  }
  for (const name of maybe) {
    const res = await call(url, 'GET', `/v1/tenants/${name}`);
    if (res?.status === 404) continue;
    assert.equal(res?.status, 200);
    const got = res.json as TenantView;
    await assertWhole(url, got);
    acked.set(name, { pids: got.quota.pids?.max ?? 0, generation: got.generation, resourceVersion: got.resourceVersion });
    maybe.delete(name);
  }
}

/** The tenant row, its ledger and its status move together: one ledger entry per generation, the last one the quota. */
async function assertWhole(url: string, tenant: TenantView): Promise<void> {
  const res = await call(url, 'GET', `/v1/tenants/${tenant.name}/history?limit=500`);
  assert.equal(res?.status, 200);
  const entries = (res.json as { items: LedgerEntry[] }).items;
  assert.equal(entries.length, tenant.generation, `${tenant.name}: ${entries.length} ledger entries for generation ${tenant.generation}`);
  assert.deepEqual(
    entries.map((entry) => entry.generation),
    Array.from({ length: tenant.generation }, (_, i) => tenant.generation - i),
  );
  assert.equal(entries[0].after?.pids?.max, tenant.quota.pids?.max, `${tenant.name}: the newest ledger entry is not the quota`);
}

describe('durability under SIGKILL', { timeout: 900_000 }, () => {
  it(`keeps every acknowledged write through ${KILLS} SIGKILLs of the governor with the embedded server`, { timeout: 600_000 }, () => runMode('embedded'));
  it(`keeps every acknowledged write through ${KILLS} SIGKILLs of the governor with an external server`, { timeout: 600_000 }, () => runMode('external'));
});
