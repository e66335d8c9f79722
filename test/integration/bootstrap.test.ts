import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { createDatabase, dropDatabase } from '../support/governor.harness';
import { startService } from '../support/service.process';

let databaseUrl: string;
let scratch: string;
before(async () => {
  databaseUrl = await createDatabase();
  scratch = mkdtempSync(join(tmpdir(), 'governor-bootstrap-'));
});
after(async () => {
  await dropDatabase(databaseUrl);
  rmSync(scratch, { recursive: true, force: true });
});

async function liveRootTokens(): Promise<number> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM admin_tokens WHERE name = 'root' AND revoked_at IS NULL`);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

const env = (dataDir: string) => ({ DATABASE_URL: databaseUrl, GOVERNOR_ROLE: 'api', GOVERNOR_DATA_DIR: dataDir, GOVERNOR_LOG_LEVEL: 'warn' });

describe('the generated root admin token', () => {
  it('is not committed when its file cannot be written, and the next start generates one that works', async () => {
    // Root writes anywhere by mode, so the token's file is made unwritable by a directory in its place.
    const dataDir = join(scratch, 'data');
    mkdirSync(join(dataDir, 'admin-token'), { recursive: true });
    await assert.rejects(startService(env(dataDir)), /exited with 1 before listening[\s\S]*EISDIR/);
    assert.equal(await liveRootTokens(), 0, 'no root token nobody knows');

    rmdirSync(join(dataDir, 'admin-token'));
    const service = await startService(env(dataDir));
    try {
      const file = join(dataDir, 'admin-token');
      const token = readFileSync(file, 'utf8').trim();
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(
        readdirSync(dataDir).filter((name) => name.startsWith('admin-token')),
        ['admin-token'],
        'no temporary file is left behind',
      );
      assert.ok(service.stderr().includes(token), 'printed once to the terminal');
      const res = await fetch(`${service.url}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.equal(await liveRootTokens(), 1);
    } finally {
      await service.stop();
    }
  });
});
