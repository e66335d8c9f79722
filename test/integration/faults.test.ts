import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { hostInterfaceName } from '../../libs/network/src/tenant-link';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { seeded } from '../support/seeded';
import { type ServiceProcess, startService } from '../support/service.process';

/**
 * The governor SIGKILLed at random points (fixed seed) of reconciling and of starting workloads, ROUNDS
 * times. After each restart: every tenant's cgroup holds what its spec says, no acknowledged workload is
 * lost, workloads that ended while the governor was down report their exit codes, and nothing exists twice.
 */
const ROUNDS = Number(process.env.GOVERNOR_FAULT_ROUNDS ?? 50);
const SEED = Number(process.env.GOVERNOR_FAULT_SEED ?? 50);

interface TenantModel {
  suspended: boolean;
  workloads: boolean;
}

interface WorkloadModel {
  tenant: string;
  exitCode: number;
  /** when its command ends, by the test's clock; 0 while not known to have started */
  endsAt: number;
}

describe(`${ROUNDS} SIGKILLs of the governor while it reconciles and starts workloads`, { timeout: 1_800_000 }, () => {
  const host = hostScratch('faults');
  const dataDir = mkdtempSync(join(tmpdir(), 'governor-faults-'));
  let databaseUrl: string;
  let sql: Client;
  let env: Record<string, string>;

  before(async () => {
    databaseUrl = await createDatabase();
    sql = new Client({ connectionString: databaseUrl, application_name: 'governor-test' });
    await sql.connect();
    env = {
      ...host.env,
      DATABASE_URL: databaseUrl,
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      GOVERNOR_NET_POOL: '10.245.0.0/24',
      GOVERNOR_RESYNC_INTERVAL: '2s',
      GOVERNOR_LOG_LEVEL: 'warn',
    };
  });

  after(async () => {
    await sql?.end();
    await dropDatabase(databaseUrl);
    host.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('converges after every kill: files as specified, no workload lost, exit codes kept, nothing twice', async () => {
    const random = seeded(SEED);
    const tenants = new Map<string, TenantModel>();
    const workloads = new Map<string, WorkloadModel>();
    let created = 0;
    let started = 0;
    let gov: ServiceProcess | undefined;

    const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> } | undefined> => {
      try {
        const res = await fetch(`${gov!.url}${path}`, {
          method,
          headers: { Authorization: `Bearer ${ROOT_TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
      } catch {
        return undefined; // killed under the request: its outcome is unknown
      }
    };

    const act = async (stopAt: number): Promise<void> => {
      while (Date.now() < stopAt) {
        const roll = random.next();
        const names = [...tenants.keys()];
        if (names.length < 2 || (roll < 0.15 && names.length < 6)) {
          const name = `f${(created += 1)}`;
          const workloadTenant = created % 2 === 1;
          const res = await api('POST', '/v1/tenants', { name, quota: { pids: { max: 128 } } });
          if (res?.status === 201) tenants.set(name, { suspended: false, workloads: workloadTenant });
          else if (res !== undefined) assert.fail(`create ${name}: ${res.status} ${JSON.stringify(res.json)}`);
        } else if (roll < 0.45) {
          const name = random.pick(names.filter((n) => !tenants.get(n)!.workloads));
          if (name === undefined) continue;
          const model = tenants.get(name)!;
          const res = await api('POST', `/v1/tenants/${name}/${model.suspended ? 'resume' : 'suspend'}`);
          if (res?.status === 202) model.suspended = !model.suspended;
        } else {
          const name = random.pick(names.filter((n) => tenants.get(n)!.workloads));
          if (name === undefined) continue;
          const exitCode = random.int(0, 100);
          const seconds = random.int(1, 4);
          const res = await api('POST', `/v1/tenants/${name}/workloads`, { command: ['/bin/sh', '-c', `sleep ${seconds}; exit ${exitCode}`] });
          if (res?.status === 201) {
            workloads.set(String(res.json.id), { tenant: name, exitCode, endsAt: Date.now() + seconds * 1000 });
            started += 1;
          }
        }
        await sleep(random.int(0, 50));
      }
    };

    const verify = async (round: number): Promise<void> => {
      for (const [name, model] of tenants) {
        // The governor gives a tenant's home and init up to 60 s each (mkfs and a loop mount on a loaded host).
        const deadline = Date.now() + 90_000;
        for (;;) {
          const view = await api('GET', `/v1/tenants/${name}`);
          assert.equal(view?.status, 200, `round ${round}: ${name} is there`);
          const status = view.json.status as { observedGeneration: number; phase: string };
          if (status.observedGeneration >= Number(view.json.generation)) break;
          assert.ok(
            Date.now() < deadline,
            `round ${round}: ${name} reconciled after the restart (${JSON.stringify(status)}); the governor's log ends:\n${gov!.stdout().split('\n').slice(-30).join('\n')}\n${gov!.stderr().slice(-2000)}`,
          );
          await sleep(100);
        }
        const freeze = readFileSync(join(host.root, 'tenants', name, 'cgroup.freeze'), 'utf8').trim();
        assert.equal(freeze, model.suspended ? '1' : '0', `round ${round}: ${name}'s cgroup.freeze matches its spec`);
      }
      const dirs = (path: string) =>
        existsSync(path)
          ? readdirSync(path, { withFileTypes: true })
              .filter((e) => e.isDirectory())
              .map((e) => e.name)
          : [];
      assert.deepEqual(dirs(join(host.root, 'tenants')).sort(), [...tenants.keys()].sort(), `round ${round}: one cgroup per tenant, no more`);
      assert.deepEqual(dirs(join(host.runDir, 'ns')).sort(), [...tenants.keys()].sort(), `round ${round}: one namespace directory per tenant`);
      const ids = new Set((await sql.query<{ id: string }>('SELECT id FROM tenants')).rows.map((row) => hostInterfaceName(row.id)));
      const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((line) => /^\d+: ([^@:]+)/.exec(line)?.[1] ?? '')
        .filter((link) => ids.has(link));
      assert.equal(links.length, tenants.size, `round ${round}: one link per tenant: ${links.join(', ')}`);
      assert.equal(new Set(links).size, links.length);

      for (const [id, model] of workloads) {
        const view = await api('GET', `/v1/tenants/${model.tenant}/workloads/${id}`);
        assert.equal(view?.status, 200, `round ${round}: workload ${id} is there`);
        const state = String(view.json.state);
        assert.notEqual(state, 'lost', `round ${round}: workload ${id} was lost: ${String(view.json.message)}`);
        assert.notEqual(state, 'failed', `round ${round}: workload ${id} failed: ${String(view.json.message)}`);
        if (state === 'exited') assert.equal(view.json.exitCode, model.exitCode, `round ${round}: workload ${id}'s exit code`);
        else if (Date.now() > model.endsAt + 15_000) assert.fail(`round ${round}: workload ${id} ended long ago but is still ${state}`);
      }
      const [{ duplicates }] = (
        await sql.query<{ duplicates: number }>(
          `SELECT count(*)::int AS duplicates FROM (SELECT pid FROM workloads WHERE pid IS NOT NULL GROUP BY pid, node HAVING count(*) > 1) d`,
        )
      ).rows;
      assert.equal(duplicates, 0, `round ${round}: no workload started twice`);
    };

    try {
      for (let round = 1; round <= ROUNDS; round += 1) {
        gov = await startService(env, 120_000);
        await verify(round);
        await act(Date.now() + random.int(100, 1500));
        gov.child.kill('SIGKILL');
        await gov.stop();
      }
      gov = await startService(env, 120_000);
      // Let every workload end, then check all of them once more.
      const lastEnd = Math.max(0, ...[...workloads.values()].map((w) => w.endsAt));
      await sleep(Math.max(0, lastEnd - Date.now()) + 3000);
      await verify(ROUNDS + 1);
      const ended = [...workloads.keys()];
      for (const id of ended) {
        const model = workloads.get(id)!;
        const view = await api('GET', `/v1/tenants/${model.tenant}/workloads/${id}`);
        assert.equal(view?.json.state, 'exited', `workload ${id} ended: ${JSON.stringify(view?.json)}`);
      }
      process.stdout.write(`# faults: ${ROUNDS} SIGKILLs, ${tenants.size} tenants, ${started} workloads started, all converged with their exit codes\n`);
    } finally {
      await gov?.stop();
    }
  });
});
