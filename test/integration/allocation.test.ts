import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import {
  AllocationExhaustedError,
  type AllocationPools,
  DEFAULT_NET_POOL,
  DEFAULT_UID_POOL,
  allocateTenant,
  allocationOf,
  allocationsOf,
  blockAddresses,
  netPoolCapacity,
  parseNetPool,
  parseSubIdFile,
  parseUidPool,
  poolCapacity,
  readSubIdRanges,
  releaseTenant,
  uidPoolCapacity,
} from '../../libs/persistence/src/allocation';
import { dataSourceOptions, migrate } from '../../libs/persistence/src/data-source';
import { TenantAllocations1795930493926 } from '../../libs/persistence/src/migrations/1795930493926-TenantAllocations';
import { createDatabase, dropDatabase } from '../support/governor.harness';

const BLOCK = 65536;
const UID0 = 0x70000000;
const pools = (uid: string, net: string): AllocationPools => ({ uid: parseUidPool(uid), net: parseNetPool(net) });
const DEFAULTS = pools(DEFAULT_UID_POOL, DEFAULT_NET_POOL);

/** Counts the allocator's retries: each failed INSERT is rolled back to its savepoint. */
function countingRetries(manager: EntityManager, retries: { count: number }): EntityManager {
  const query = manager.query.bind(manager);
  manager.query = (sql: string, params?: unknown[]) => {
    if (sql.startsWith('ROLLBACK TO SAVEPOINT')) retries.count++;
    return query(sql, params);
  };
  return manager;
}

describe('pool arithmetic', () => {
  it('parses and sizes the default pools', () => {
    assert.deepEqual(DEFAULTS.uid, { start: 0x70000000, end: 0x7ffe0000 });
    assert.equal(uidPoolCapacity(DEFAULTS.uid), 4094);
    assert.deepEqual(DEFAULTS.net, { network: (10 * 256 + 200) * 65536, poolPrefix: 16, blockPrefix: 31 });
    assert.equal(netPoolCapacity(DEFAULTS.net), 32768);
    assert.equal(poolCapacity(DEFAULTS), 4094);
    assert.equal(netPoolCapacity(parseNetPool(' 10.200.0.0/16 , /30 ')), 16384);
    assert.equal(poolCapacity(pools('65536-196607', '192.168.7.0/30')), 2);
  });

  it('refuses uid pools that are not whole aligned blocks, and says what is allowed', () => {
    const bad: Array<[string, RegExp]> = [
      ['5-10', /START \(5\) is not a multiple of 65536/],
      ['1879048192-1879048193', /size END\+1-START \(2\) is not a multiple of 65536/],
      ['1879048192-1879048191', /END \(1879048191\) is below START/],
      ['0-65535', /START must be at least 65536/],
      ['4294901760-4294967295', /END must be at most 4294901759/],
      ['0x70000000-0x7ffdffff', /not of the form START-END/],
      ['', /not of the form START-END/],
    ];
    for (const [text, message] of bad) {
      assert.throws(() => parseUidPool(text), message, text);
      assert.throws(() => parseUidPool(text), /e\.g\. 1879048192-2147352575/, text);
    }
  });

  it('refuses net pools that are not aligned IPv4 networks with /31 or /30 blocks', () => {
    const bad: Array<[string, RegExp]> = [
      ['10.0.0.1/8', /host bits are set: the network is 10\.0\.0\.0\/8/],
      ['10.300.0.0/16', /octet is above 255/],
      ['10.200.0.0/16,/29', /block prefix \/29 is not \/31 or \/30/],
      ['10.200.0.0/31,/30', /pool prefix \/31 is outside \/8 to \/30/],
      ['10.0.0.0/7', /pool prefix \/7/],
      ['fd00::/64', /not an IPv4 network/],
      ['10.200.0.0', /not an IPv4 network/],
    ];
    for (const [text, message] of bad) assert.throws(() => parseNetPool(text), message, text);
  });

  it('puts the host on the first address of a /31 and on the first usable one of a /30', () => {
    assert.deepEqual(blockAddresses('10.200.0.4/31'), { hostAddress: '10.200.0.4', tenantAddress: '10.200.0.5', prefix: 31 });
    assert.deepEqual(blockAddresses('10.200.0.4/30'), { hostAddress: '10.200.0.5', tenantAddress: '10.200.0.6', prefix: 30 });
  });

  it('parses /etc/subuid, skipping comments, blanks and malformed lines', () => {
    const text = '# users\nalice:100000:65536\n\n  bob:165536:65536  \n1000:231072:65536\nbroken:12\nzero:300000:0\nx:1:y\n';
    assert.deepEqual(parseSubIdFile(text), [
      [100000, 65536],
      [165536, 65536],
      [231072, 65536],
    ]);
  });

  it('reads subuid and subgid together, a missing file being no entries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'governor-subid-'));
    try {
      writeFileSync(join(dir, 'subuid'), 'a:100000:65536\n');
      writeFileSync(join(dir, 'subgid'), 'a:200000:10\n');
      assert.deepEqual(await readSubIdRanges([join(dir, 'subuid'), join(dir, 'subgid'), join(dir, 'absent')]), [
        [100000, 65536],
        [200000, 10],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('allocation on PostgreSQL', () => {
  let url: string;
  let db: DataSource;
  before(async () => {
    url = await createDatabase();
    db = new DataSource({ ...dataSourceOptions(url), extra: { max: 20, connectionTimeoutMillis: 10_000 } });
    await db.initialize();
    await migrate(db);
  });
  after(async () => {
    await db?.destroy();
    if (url) await dropDatabase(url);
  });
  // Each test starts with nothing live; released rows stay, as they do in production.
  beforeEach(() => db.query('UPDATE tenant_allocations SET released_at = now() WHERE released_at IS NULL'));

  let seq = 0;
  const tenants = async (n: number): Promise<string[]> => {
    const rows = await db.query<Array<{ id: string }>>(
      `INSERT INTO tenants (name) SELECT 't' || ($1::int + i) FROM generate_series(1, $2::int) i RETURNING id`,
      [seq, n],
    );
    seq += n;
    return rows.map((row) => row.id);
  };
  const allocate = (id: string, p = DEFAULTS, excluded: Array<[number, number]> = []) => db.transaction((tx) => allocateTenant(tx, id, p, excluded));
  const sqlState = (err: unknown) => {
    const { code, constraint } = err instanceof QueryFailedError ? (err.driverError as { code?: string; constraint?: string }) : {};
    return { code, constraint };
  };

  it('gives 100 concurrent creates disjoint ranges, the lowest ones, in 100 transactions', async (t) => {
    const ids = await tenants(100);
    const retries = { count: 0 };
    const started = performance.now();
    const results = await Promise.all(ids.map((id) => db.transaction((tx) => allocateTenant(countingRetries(tx, retries), id, DEFAULTS, []))));
    const ms = performance.now() - started;
    t.diagnostic(`100 concurrent allocations on 20 connections: ${ms.toFixed(0)} ms, ${retries.count} retries after 23P01 or 40P01`);

    const starts = results.map((r) => r.uidRange.start).sort((a, b) => a - b);
    assert.deepEqual(
      starts,
      ids.map((_, i) => UID0 + i * BLOCK),
    );
    assert.ok(results.every((r) => r.uidRange.size === BLOCK));
    assert.deepEqual(new Set(results.map((r) => r.netBlock)), new Set(ids.map((_, i) => `10.200.0.${2 * i}/31`)));
    // And PostgreSQL agrees: no two live rows overlap.
    const [overlaps] = await db.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM tenant_allocations a JOIN tenant_allocations b ON a.tenant_id < b.tenant_id
        WHERE a.released_at IS NULL AND b.released_at IS NULL AND (a.uid_range && b.uid_range OR a.net_block && b.net_block)`,
    );
    assert.equal(overlaps.n, 0);
    const stored = await allocationsOf(db.manager, ids);
    ids.forEach((id, i) => assert.deepEqual(stored.get(id)?.uidRange, results[i].uidRange));
  });

  it('does not wait for a create in flight: it takes the next block', async () => {
    const [a, b] = await tenants(2);
    const holder = db.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      assert.equal((await allocateTenant(holder.manager, a, DEFAULTS, [])).uidRange.start, UID0);
      // The holder has not committed: its row is invisible to b's pick, its advisory lock is not.
      const got = await allocate(b);
      assert.deepEqual([got.uidRange.start, got.netBlock], [UID0 + BLOCK, '10.200.0.2/31']);
      await holder.commitTransaction();
    } finally {
      if (holder.isTransactionActive) await holder.rollbackTransaction();
      await holder.release();
    }
  });

  it('retries after 23P01 inside the caller transaction, which survives, even in REPEATABLE READ', async () => {
    const [a, b] = await tenants(2);
    const retries = { count: 0 };
    const stale = db.createQueryRunner();
    await stale.connect();
    await stale.startTransaction('REPEATABLE READ');
    try {
      await stale.query('SELECT 1'); // takes the snapshot, before a's allocation commits
      await allocate(a);
      const got = await allocateTenant(countingRetries(stale.manager, retries), b, DEFAULTS, []);
      assert.deepEqual([got.uidRange.start, got.netBlock], [UID0 + BLOCK, '10.200.0.2/31']);
      assert.equal(retries.count, 2, 'the snapshot shows block 0 and 10.200.0.0/31 free; the constraints refuse each once');
      await stale.query('SELECT 1');
      await stale.commitTransaction();
    } finally {
      if (stale.isTransactionActive) await stale.rollbackTransaction();
      await stale.release();
    }
    assert.equal((await allocationOf(db.manager, b))?.netBlock, '10.200.0.2/31');
  });

  it('skips ranges listed in /etc/subuid or /etc/subgid', async () => {
    const excluded = parseSubIdFile(`root:${UID0}:${BLOCK}\nu:${UID0 + 2 * BLOCK + 5}:10\n`);
    const [a, b, c] = await tenants(3);
    assert.equal((await allocate(a, DEFAULTS, excluded)).uidRange.start, UID0 + BLOCK);
    assert.equal((await allocate(b, DEFAULTS, excluded)).uidRange.start, UID0 + 3 * BLOCK);
    // an unrelated excluded range far below the pool changes nothing
    assert.equal((await allocate(c, DEFAULTS, [...excluded, [100000, 65536]])).uidRange.start, UID0 + 4 * BLOCK);
  });

  it('frees a released range for reuse and keeps the released row as history', async () => {
    const [a, b, c] = await tenants(3);
    const first = await allocate(a);
    await allocate(b);
    assert.equal(await releaseTenant(db.manager, a), true);
    assert.equal(await releaseTenant(db.manager, a), false);
    const reused = await allocate(c);
    assert.deepEqual(reused.uidRange, first.uidRange);
    assert.equal(reused.netBlock, first.netBlock);
    const history = await allocationOf(db.manager, a);
    assert.ok(history?.releasedAt instanceof Date);
    assert.deepEqual(history.uidRange, first.uidRange);
    await assert.rejects(allocate(a), /was released .* not allocated again/);
  });

  it('gives a tenant its existing allocation again, with or without a transaction of the caller', async () => {
    const [a] = await tenants(1);
    const first = await allocateTenant(db.manager, a, DEFAULTS, []);
    assert.deepEqual(await allocate(a), first);
    assert.equal((await allocationOf(db.manager, a))?.releasedAt, null);
  });

  it('says which pool is exhausted and how to enlarge it', async () => {
    const small = pools(`${UID0}-${UID0 + 2 * BLOCK - 1}`, DEFAULT_NET_POOL);
    const [a, b, c, d, e, f] = await tenants(6);
    await allocate(a, small);
    await allocate(b, small);
    await assert.rejects(allocate(c, small), (err: unknown) => {
      assert.ok(err instanceof AllocationExhaustedError);
      assert.equal(err.pool, 'uid');
      assert.match(err.message, /uid pool 1879048192-1879179263 .* enlarge the pool \(GOVERNOR_UID_POOL/);
      return true;
    });
    const tinyNet = pools(`${UID0 + 8 * BLOCK}-${UID0 + 16 * BLOCK - 1}`, '10.201.0.0/30');
    await allocate(d, tinyNet);
    await allocate(e, tinyNet);
    await assert.rejects(
      allocate(f, tinyNet),
      (err: unknown) => err instanceof AllocationExhaustedError && err.pool === 'net' && /10\.201\.0\.0\/30,\/31/.test(err.message),
    );
    assert.equal(await allocationOf(db.manager, f), undefined);
  });

  it('has PostgreSQL refuse an overlapping live range or block, whatever the code does (23P01)', async () => {
    const [a, b] = await tenants(2);
    await allocate(a);
    const insert = (uid: string, net: string, released = false) =>
      db.query(`INSERT INTO tenant_allocations (tenant_id, uid_range, net_block, released_at) VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END)`, [
        b,
        uid,
        net,
        released,
      ]);
    await assert.rejects(insert(`[${UID0 + 100},${UID0 + 200})`, '10.250.0.0/31'), (err: unknown) => {
      assert.deepEqual(sqlState(err), { code: '23P01', constraint: 'tenant_allocations_uid_range_excl' });
      return true;
    });
    await assert.rejects(insert(`[${UID0 + 9 * BLOCK},${UID0 + 10 * BLOCK})`, '10.200.0.0/30'), (err: unknown) => {
      assert.deepEqual(sqlState(err), { code: '23P01', constraint: 'tenant_allocations_net_block_excl' });
      return true;
    });
  });

  it('lets a released range overlap a live one, but not come back to life over it', async () => {
    const [a, b] = await tenants(2);
    const live = await allocate(a);
    await db.query(`INSERT INTO tenant_allocations (tenant_id, uid_range, net_block, released_at) VALUES ($1, $2, $3, now())`, [
      b,
      `[${live.uidRange.start},${live.uidRange.start + BLOCK})`,
      live.netBlock,
    ]);
    await assert.rejects(
      db.query('UPDATE tenant_allocations SET released_at = NULL WHERE tenant_id = $1', [b]),
      (err: unknown) => sqlState(err).code === '23P01',
    );
  });

  it('stays fast with thousands of live rows', async (t) => {
    const ids = await tenants(4001);
    // 4000 live allocations filling the pool's first blocks, then a hole at block 1234.
    await db.query(
      `INSERT INTO tenant_allocations (tenant_id, uid_range, net_block)
       SELECT id, int8range($2 + (n - 1) * 65536, $2 + n * 65536), set_masklen('10.200.0.0'::inet + (n - 1) * 2, 31)::cidr
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)`,
      [ids.slice(0, 4000), UID0],
    );
    let started = performance.now();
    const next = await allocate(ids[4000]);
    const fullMs = performance.now() - started;
    assert.equal(next.uidRange.start, UID0 + 4000 * BLOCK);
    await releaseTenant(db.manager, ids[1234]);
    const [again] = await tenants(1);
    started = performance.now();
    const hole = await allocate(again);
    const holeMs = performance.now() - started;
    assert.equal(hole.uidRange.start, UID0 + 1234 * BLOCK);
    assert.equal(hole.netBlock, '10.200.9.164/31');
    t.diagnostic(`with 4000 live rows: next free in ${fullMs.toFixed(1)} ms, a hole in ${holeMs.toFixed(1)} ms`);
    assert.ok(fullMs < 1000 && holeMs < 1000, `${fullMs} ms, ${holeMs} ms`);
  });

  // Last: it takes the table away and puts it back empty.
  it('has a migration that goes down and up again', async () => {
    const runner = db.createQueryRunner();
    const exclusions = async () =>
      (
        (await runner.query(`SELECT array_agg(conname::text ORDER BY conname) AS names FROM pg_constraint WHERE contype = 'x'`)) as Array<{
          names: string[] | null;
        }>
      )[0].names;
    try {
      assert.deepEqual(await exclusions(), ['tenant_allocations_net_block_excl', 'tenant_allocations_uid_range_excl']);
      await new TenantAllocations1795930493926().down(runner);
      assert.equal(await exclusions(), null);
      assert.equal(((await runner.query(`SELECT to_regclass('tenant_allocations') AS t`)) as Array<{ t: unknown }>)[0].t, null);
      await new TenantAllocations1795930493926().up(runner);
      assert.deepEqual(await exclusions(), ['tenant_allocations_net_block_excl', 'tenant_allocations_uid_range_excl']);
    } finally {
      await runner.release();
    }
  });
});
