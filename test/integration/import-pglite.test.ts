import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ROOT_TOKEN } from '../support/governor.harness';
import { startService } from '../support/service.process';

const IMPORT = join(__dirname, '..', '..', 'apps', 'governor', 'src', 'tools', 'import-pglite.js');
const MIGRATIONS = join(__dirname, '..', '..', 'libs', 'persistence', 'src', 'migrations');

const scratch = mkdtempSync(join(tmpdir(), 'governor-import-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface PGliteLike {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * A PGlite data directory as the last PGlite-based Governor left it: made by that PGlite release with this
 * repository's migrations (the schema has not changed since), holding tenants, a ledger, a key and audit rows.
 */
async function pgliteDataDir(dataDir: string): Promise<void> {
  const prefix = join(scratch, 'pglite');
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, '@electric-sql/pglite@0.5.14'], {
    stdio: 'ignore',
  });
  const dist = join(prefix, 'node_modules', '@electric-sql', 'pglite', 'dist');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PGlite } = require(join(dist, 'index.cjs')) as { PGlite: { create(dir: string, options: unknown): Promise<PGliteLike> } };
  const { btree_gist } = require(join(dist, 'contrib', 'btree_gist.cjs')) as { btree_gist: unknown };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create(join(dataDir, 'pgdata'), { extensions: { btree_gist } });
  try {
    await db.query('CREATE TABLE migrations (id SERIAL PRIMARY KEY, timestamp bigint NOT NULL, name varchar NOT NULL)');
    const runner = { query: (sql: string, params?: unknown[]) => db.query(sql, params) } as unknown as QueryRunner;
    for (const file of readdirSync(MIGRATIONS)
      .filter((name) => name.endsWith('.js'))
      .sort()) {
      for (const Migration of Object.values(require(join(MIGRATIONS, file)) as Record<string, new () => MigrationInterface>)) {
        const migration = new Migration();
        await migration.up(runner);
        await db.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [Number(/(\d{13})$/.exec(migration.name!)![1]), migration.name]);
      }
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
    await db.query(`INSERT INTO tenants (name, quota, generation, resource_version) VALUES ('alpha', '{"pids":{"max":100}}', 2, 3), ('beta', '{}', 1, 1)`);
    await db.query(
      `INSERT INTO tenant_allocations (tenant_id, uid_range, net_block)
       SELECT id, int8range(1879048192 + n * 65536, 1879048192 + (n + 1) * 65536), set_masklen('10.200.0.0'::inet + n * 2, 31)::cidr
       FROM (SELECT id, (row_number() OVER (ORDER BY name) - 1)::int AS n FROM tenants) t`,
    );
    await db.query(
      `INSERT INTO quota_ledger (tenant_id, tenant_name, actor, generation, before, after)
       SELECT id, name, 'admin:root', 1, NULL::jsonb, '{"pids":{"max":50}}'::jsonb FROM tenants WHERE name = 'alpha'
       UNION ALL SELECT id, name, 'admin:root', 2, '{"pids":{"max":50}}'::jsonb, '{"pids":{"max":100}}'::jsonb FROM tenants WHERE name = 'alpha'`,
    );
    await db.query(
      `INSERT INTO audit_log (actor, action, target, detail) VALUES ('admin:root', 'tenant.create', 'tenants/alpha', '{}'), ('admin:root', 'tenant.create', 'tenants/beta', '{}')`,
    );
  } finally {
    await db.close();
  }
}

describe('importing the data of the PGlite default of earlier versions', { timeout: 300_000 }, () => {
  it('moves tenants, allocations, ledger and audit into the embedded server with one command, and keeps the old directory', async () => {
    const dataDir = join(scratch, 'var');
    await pgliteDataDir(dataDir);

    const refused = spawnSync(process.execPath, [IMPORT, join(dataDir, 'nothing-here')], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /holds no PGlite data/);

    const run = spawnSync(process.execPath, [IMPORT, join(dataDir, 'pgdata')], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /tenants: 2 rows/);
    assert.match(run.stderr, /quota_ledger: 2 rows/);
    assert.ok(existsSync(join(dataDir, 'pgdata.pglite-imported', 'PG_VERSION')), 'the old directory is kept');
    assert.ok(!existsSync(join(dataDir, 'pgdata')));

    const service = await startService({ GOVERNOR_DATA_DIR: dataDir, GOVERNOR_ROLE: 'api', GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN });
    try {
      const get = (path: string) => fetch(`${service.url}${path}`, { headers: { Authorization: `Bearer ${ROOT_TOKEN}` } });
      const alpha = (await (await get('/v1/tenants/alpha')).json()) as {
        quota: unknown;
        generation: number;
        resourceVersion: number;
        status: { uidRange: { start: number } };
      };
      assert.deepEqual(alpha.quota, { pids: { max: 100 } });
      assert.equal(alpha.generation, 2);
      assert.equal(alpha.resourceVersion, 3);
      assert.equal(alpha.status.uidRange.start, 1879048192);
      const history = (await (await get('/v1/tenants/alpha/history')).json()) as { items: { generation: number }[] };
      assert.deepEqual(
        history.items.map((entry) => entry.generation),
        [2, 1],
      );
      const created = await fetch(`${service.url}/v1/tenants`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'gamma' }),
      });
      assert.equal(created.status, 201, 'sequences and allocations continue after the imported rows');
      const gamma = (await (await get('/v1/tenants/gamma')).json()) as { status: { uidRange: { start: number } } };
      assert.equal(gamma.status.uidRange.start, 1879048192 + 2 * 65536);
      const audit = (await (await get('/v1/audit?limit=10')).json()) as { items: { id: string }[] };
      assert.equal(audit.items[0].id, '3', 'the audit ids go on from the imported ones');
    } finally {
      await service.stop();
    }

    const again = spawnSync(process.execPath, [IMPORT, join(dataDir, 'pgdata.pglite-imported')], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(again.status, 1, 'importing into a server that has a schema is refused');
    assert.match(again.stderr, /already has a schema: nothing was imported/);
  });
});
