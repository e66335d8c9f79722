import { readFile } from 'node:fs/promises';
import type { EntityManager } from 'typeorm';
import { blockAddresses, formatAddress, formatNetPool, formatUidPool, ID_BLOCK, type NetPool, type UidPool, parseSubIdFile } from './allocation-pools';

export * from './allocation-pools';

/**
 * Per-tenant host uid/gid ranges and link address blocks, in tenant_allocations. PostgreSQL guarantees
 * that live allocations are disjoint (the EXCLUDE constraints of the TenantAllocations migration); the
 * code here only picks the lowest free ranges and retries when a concurrent create took them first.
 */

export interface AllocationPools {
  uid: UidPool;
  net: NetPool;
}

export interface TenantAllocation {
  /** host uids [start, start + size) map to 0..size-1 in the tenant's user namespace; gids likewise */
  uidRange: { start: number; size: number };
  /** e.g. "10.200.0.4/31" */
  netBlock: string;
  hostAddress: string;
  tenantAddress: string;
  prefix: number;
}

export interface StoredAllocation extends TenantAllocation {
  createdAt: Date;
  /** set once the tenant is deleted: the ranges are free for others, the row is history */
  releasedAt: Date | null;
}

export class AllocationExhaustedError extends Error {
  constructor(
    readonly pool: 'uid' | 'net',
    detail: string,
  ) {
    super(`no free ${pool === 'uid' ? 'uid range' : 'address block'} is left: ${detail}`);
    this.name = 'AllocationExhaustedError';
  }
}

const EXCLUSION_VIOLATION = '23P01';
const DEADLOCK = '40P01';
const UNIQUE_VIOLATION = '23505';
const PRIMARY_KEY = 'tenant_allocations_pkey';
const UID_CONSTRAINT = 'tenant_allocations_uid_range_excl';
const NET_CONSTRAINT = 'tenant_allocations_net_block_excl';
const MAX_ATTEMPTS = 50;
/** pg_try_advisory_xact_lock(int4, int4) namespaces ("gv" 1 and 2), apart from the migration lock's int8 one */
const UID_LOCK = 0x67760001;
const NET_LOCK = 0x67760002;

/**
 * The lowest free aligned block of a pool, as a number. Both kinds of range are intervals of numbers
 * [lo, hi) here: uids as they are, addresses via inet - inet. Sorted by lo, the free space before each
 * occupied interval is [the furthest hi of those before it, its lo); the first such window that holds an
 * aligned block has the answer. One scan and sort of the live rows (a few ms for thousands), whatever the
 * pool's size; a sentinel at the pool's end closes the last window.
 * $1 pool start, $2 pool end (exclusive), $3 int8range[] also occupied (excluded or skipped), $4 block size.
 */
const lowestGap = (live: string) => `
  WITH occupied AS (
    ${live}
    UNION ALL SELECT lower(r), upper(r) FROM unnest($3::int8range[]) AS r WHERE r && int8range($1, $2)
    UNION ALL SELECT $2::bigint, $2::bigint + 1
  ), windows AS (
    SELECT lo, (GREATEST($1::bigint, max(hi) OVER (ORDER BY lo ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) + $4 - 1) / $4 * $4 AS base
      FROM occupied
  )
  SELECT base::text AS base FROM windows WHERE base + $4 <= lo ORDER BY lo LIMIT 1`;
const PICK_UID = lowestGap(`SELECT lower(uid_range) AS lo, upper(uid_range) AS hi FROM tenant_allocations
     WHERE released_at IS NULL AND uid_range && int8range($1, $2)`);
const PICK_NET = lowestGap(`SELECT network(net_block) - '0.0.0.0'::inet AS lo, broadcast(net_block) - '0.0.0.0'::inet + 1 AS hi FROM tenant_allocations
     WHERE released_at IS NULL AND net_block && $5::cidr`);

interface Pool {
  /** the lowest free block not in `taken`, in this statement's snapshot */
  pick(taken: string[]): Promise<number | undefined>;
  end: number;
  size: number;
  /** the advisory lock of the block at `base`: [namespace, key] */
  lock(base: number): [number, number];
}

/**
 * Picks the lowest free block and takes a transaction-level advisory lock on it. A block whose lock another
 * transaction holds is skipped: a create that has not committed yet is inserting it, invisibly to this
 * snapshot; its neighbour is tried next, without another pick, as creates in flight hold a run of them.
 * Once a lock is held the pick is repeated: under READ COMMITTED that statement's snapshot includes
 * whatever the lock's previous holder committed, so a block taken meanwhile is not inserted only to fail,
 * and a neighbour that is not free is not kept. Returns undefined when the pool has no free block.
 */
async function claim(manager: EntityManager, pool: Pool, taken: string[]): Promise<number | undefined> {
  let base = await pool.pick(taken);
  while (base !== undefined) {
    const [{ locked }] = await manager.query<Array<{ locked: boolean }>>('SELECT pg_try_advisory_xact_lock($1::int, $2::int) AS locked', pool.lock(base));
    if (locked) {
      const again = await pool.pick(taken);
      if (again === base) return base;
      base = again;
    } else {
      taken.push(`[${base},${base + pool.size})`);
      base = base + 2 * pool.size <= pool.end ? base + pool.size : await pool.pick(taken);
    }
  }
  return undefined;
}

const picker = (manager: EntityManager, sql: string, params: (taken: string[]) => unknown[]) => async (taken: string[]) => {
  const [row] = await manager.query<Array<{ base: string }>>(sql, params(taken));
  return row ? Number(row.base) : undefined;
};

/**
 * Allocates the lowest free uid block and address block to a tenant and records them, inside the
 * caller's transaction (or a transaction of its own when the manager has none). Idempotent: a tenant
 * with a live allocation gets it back. `excluded` are the [start, count] entries of /etc/subuid and
 * /etc/subgid (see readSubIdRanges); no tenant range overlaps them.
 *
 * Concurrency: the EXCLUDE constraints are the guarantee; an INSERT that collides fails with 23P01, and
 * the loser rolls back to a savepoint (so the caller's transaction survives) and picks again, at most 50
 * times. Retrying alone behaves badly under load, though: two creates that picked the same block both put
 * their row into the gist index, each then waits for the other's transaction, and PostgreSQL breaks the
 * deadlock only after deadlock_timeout (1 s) with 40P01. So each pick also takes a per-block
 * pg_try_advisory_xact_lock and skips blocks locked by creates in flight: concurrent creates take
 * neighbouring blocks without waiting for each other. That lock is not the guarantee, only the way to
 * avoid colliding; 23P01 remains possible (a REPEATABLE READ snapshot older than a winner's commit, a
 * writer that does not lock), and is retried. A single lock serialising all creates was not chosen: held
 * until the caller commits, it would queue every tenant create, with all else in its transaction, behind
 * the others. A block lost to a collision is remembered, so retries progress even when the caller's
 * snapshot cannot see the winner's row.
 */
export async function allocateTenant(
  manager: EntityManager,
  tenantId: string,
  pools: AllocationPools,
  excluded: Array<[number, number]>,
): Promise<TenantAllocation> {
  // SAVEPOINT and the advisory locks need a transaction, and all statements its one connection.
  if (!manager.queryRunner?.isTransactionActive) return manager.transaction((tx) => allocateTenant(tx, tenantId, pools, excluded));

  const { uid, net } = pools;
  const blockSize = 2 ** (32 - net.blockPrefix);
  const netEnd = net.network + 2 ** (32 - net.poolPrefix);
  const netCidr = `${formatAddress(net.network)}/${net.poolPrefix}`;
  const takenUids = excluded.filter(([, count]) => count > 0).map(([start, count]) => `[${start},${start + count})`);
  const takenBlocks: string[] = [];
  const uidPool: Pool = {
    pick: picker(manager, PICK_UID, (taken) => [uid.start, uid.end, taken, ID_BLOCK]),
    end: uid.end,
    size: ID_BLOCK,
    lock: (base) => [UID_LOCK, base / ID_BLOCK],
  };
  const netPool: Pool = {
    pick: picker(manager, PICK_NET, (taken) => [net.network, netEnd, taken, blockSize, netCidr]),
    end: netEnd,
    size: blockSize,
    // an int4 key: the block's address shifted into the signed range
    lock: (base) => [NET_LOCK, base - 2 ** 31],
  };
  for (let attempt = 1; ; attempt++) {
    // Checked on every attempt: a concurrent call for the same tenant may have won meanwhile.
    const existing = await allocationOf(manager, tenantId);
    if (existing) {
      if (existing.releasedAt) {
        throw new Error(`tenant ${tenantId}'s allocation was released at ${existing.releasedAt.toISOString()}; a deleted tenant is not allocated again`);
      }
      const { uidRange, netBlock, hostAddress, tenantAddress, prefix } = existing;
      return { uidRange, netBlock, hostAddress, tenantAddress, prefix };
    }
    const base = await claim(manager, uidPool, takenUids);
    if (base === undefined) {
      throw new AllocationExhaustedError(
        'uid',
        `every ${ID_BLOCK}-uid block of the uid pool ${formatUidPool(uid)} is allocated, being allocated, or overlaps /etc/subuid or /etc/subgid; enlarge the pool (GOVERNOR_UID_POOL, START-END in whole blocks of ${ID_BLOCK}) or delete tenants`,
      );
    }
    const block = await claim(manager, netPool, takenBlocks);
    if (block === undefined) {
      throw new AllocationExhaustedError(
        'net',
        `every /${net.blockPrefix} of the net pool ${formatNetPool(net)} is allocated or being allocated; enlarge the pool (GOVERNOR_NET_POOL, a shorter prefix such as /${net.poolPrefix - 1}) or delete tenants`,
      );
    }
    const uidRange = `[${base},${base + ID_BLOCK})`;
    const netBlock = `${formatAddress(block)}/${net.blockPrefix}`;

    await manager.query('SAVEPOINT tenant_allocation');
    try {
      await manager.query('INSERT INTO tenant_allocations (tenant_id, uid_range, net_block) VALUES ($1, $2::int8range, $3::cidr)', [
        tenantId,
        uidRange,
        netBlock,
      ]);
      await manager.query('RELEASE SAVEPOINT tenant_allocation');
      return { uidRange: { start: base, size: ID_BLOCK }, netBlock, ...blockAddresses(netBlock) };
    } catch (err) {
      await manager.query('ROLLBACK TO SAVEPOINT tenant_allocation');
      const { code, constraint } = err as { code?: unknown; constraint?: unknown };
      const retryable = code === EXCLUSION_VIOLATION || code === DEADLOCK || (code === UNIQUE_VIOLATION && constraint === PRIMARY_KEY);
      if (!retryable || attempt >= MAX_ATTEMPTS) throw err;
      if (constraint === UID_CONSTRAINT) takenUids.push(uidRange);
      if (constraint === NET_CONSTRAINT) takenBlocks.push(`[${block},${block + blockSize})`);
      // A little jitter, so that creates that lost together do not collide again in step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 10) * 2));
    }
  }
}

const SELECT_ALLOCATIONS = `
  SELECT tenant_id, lower(uid_range)::text AS start, (upper(uid_range) - lower(uid_range))::int AS size, net_block::text AS net_block, created_at, released_at
    FROM tenant_allocations WHERE tenant_id = ANY ($1::uuid[])`;

interface AllocationRow {
  tenant_id: string;
  start: string;
  size: number;
  net_block: string;
  created_at: Date;
  released_at: Date | null;
}

/** A tenant's allocation, live or released (see releasedAt), or undefined when it never had one. */
export async function allocationOf(manager: EntityManager, tenantId: string): Promise<StoredAllocation | undefined> {
  return (await allocationsOf(manager, [tenantId])).get(tenantId);
}

/** allocationOf for many tenants in one query, keyed by tenant id; tenants without one are absent. */
export async function allocationsOf(manager: EntityManager, tenantIds: string[]): Promise<Map<string, StoredAllocation>> {
  const rows = tenantIds.length === 0 ? [] : await manager.query<AllocationRow[]>(SELECT_ALLOCATIONS, [tenantIds]);
  return new Map(
    rows.map((row) => [
      row.tenant_id,
      {
        uidRange: { start: Number(row.start), size: row.size },
        netBlock: row.net_block,
        ...blockAddresses(row.net_block),
        createdAt: row.created_at,
        releasedAt: row.released_at,
      },
    ]),
  );
}

/**
 * Puts a deleted tenant's blocks in quarantine: they stay taken (released_at stays NULL, so the EXCLUDE
 * constraints still hold them) until releaseTornDown finds every node's teardown confirmed. A uid block
 * handed out while a node that was down still had the old tenant's files or IPC objects would give them to
 * the next tenant.
 */
export async function quarantineTenant(manager: EntityManager, tenantId: string): Promise<void> {
  await manager.query('UPDATE tenant_allocations SET quarantined_at = now() WHERE tenant_id = $1 AND quarantined_at IS NULL AND released_at IS NULL', [
    tenantId,
  ]);
}

/**
 * Releases the blocks of every quarantined tenant whose teardown every node that has a status row for it reports
 * Deleted (a node that was never given the tenant has no row), in the caller's transaction; the tenants
 * released now. Only the holder of the quarantine-release lease calls it, after its fence check in the same
 * transaction (QuarantineRepository). `released_at IS NULL` makes a block's release happen once whoever asks.
 */
export async function releaseTornDown(manager: EntityManager): Promise<Array<{ tenantId: string; name: string }>> {
  const [rows] = await manager.query<[Array<{ tenant_id: string; name: string }>, number]>(
    `UPDATE tenant_allocations a SET released_at = now()
       FROM tenants t
      WHERE t.id = a.tenant_id AND a.quarantined_at IS NOT NULL AND a.released_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM tenant_statuses s WHERE s.tenant_id = a.tenant_id AND s.phase <> 'Deleted')
      RETURNING a.tenant_id, t.name`,
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, name: row.name }));
}

/** Tenants whose blocks wait in quarantine, with their names, for the agents' sweep. */
export async function quarantinedTenants(manager: EntityManager): Promise<Array<{ tenantId: string; name: string }>> {
  const rows = await manager.query<Array<{ tenant_id: string; name: string }>>(
    `SELECT a.tenant_id, t.name FROM tenant_allocations a JOIN tenants t ON t.id = a.tenant_id
      WHERE a.quarantined_at IS NOT NULL AND a.released_at IS NULL`,
  );
  return rows.map((row) => ({ tenantId: row.tenant_id, name: row.name }));
}

/** Frees a deleted tenant's ranges for others; the row stays as history. False when nothing was live. */
export async function releaseTenant(manager: EntityManager, tenantId: string): Promise<boolean> {
  const [, affected] = await manager.query<[unknown, number]>(
    'UPDATE tenant_allocations SET released_at = now() WHERE tenant_id = $1 AND released_at IS NULL',
    [tenantId],
  );
  return affected > 0;
}

/**
 * The [start, count] entries of /etc/subuid and /etc/subgid, together: tenant gids use the same numbers
 * as their uids, so a range must stay clear of both files. A missing file is no entries; any other read
 * error is thrown, since allocating over a range that could not be read might hand it out twice.
 */
export async function readSubIdRanges(paths: string[] = ['/etc/subuid', '/etc/subgid']): Promise<Array<[number, number]>> {
  const ranges: Array<[number, number]> = [];
  for (const path of paths) {
    try {
      ranges.push(...parseSubIdFile(await readFile(path, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return ranges;
}
