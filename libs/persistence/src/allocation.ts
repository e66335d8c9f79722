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
const UNIQUE_VIOLATION = '23505';
const PRIMARY_KEY = 'tenant_allocations_pkey';
const UID_CONSTRAINT = 'tenant_allocations_uid_range_excl';
const NET_CONSTRAINT = 'tenant_allocations_net_block_excl';
const MAX_ATTEMPTS = 50;

/**
 * The lowest free aligned uid block. It is either the pool's start or the first aligned base at or after
 * the end of something occupied (a live allocation or an excluded subuid/subgid range): had the block
 * before it been free, it would be lower. So the candidates number the live rows plus the exclusions, not
 * the pool's 4094 (or more) blocks, and each is checked with a probe of the constraint's gist index (the
 * `released_at IS NULL` lets the planner use that partial index).
 */
const PICK_UID = `
  WITH excluded AS (SELECT r FROM unnest($3::int8range[]) AS r),
  candidates AS MATERIALIZED (
    SELECT base FROM (
      SELECT $1::bigint AS base
      UNION
      SELECT (upper(a.uid_range) + ${ID_BLOCK - 1}) / ${ID_BLOCK} * ${ID_BLOCK}
        FROM tenant_allocations a WHERE a.released_at IS NULL AND a.uid_range && int8range($1, $2)
      UNION
      SELECT (upper(e.r) + ${ID_BLOCK - 1}) / ${ID_BLOCK} * ${ID_BLOCK} FROM excluded e WHERE e.r && int8range($1, $2)
    ) c WHERE base >= $1 AND base + ${ID_BLOCK} <= $2
  )
  SELECT c.base::text AS base FROM candidates c
   WHERE NOT EXISTS (SELECT 1 FROM tenant_allocations a WHERE a.released_at IS NULL AND a.uid_range && int8range(c.base, c.base + ${ID_BLOCK}))
     AND NOT EXISTS (SELECT 1 FROM excluded e WHERE e.r && int8range(c.base, c.base + ${ID_BLOCK}))
   ORDER BY c.base LIMIT 1`;

/**
 * The lowest free address block, found the same way; addresses are numbers here (inet - inet is a
 * bigint), $3 is the block size. Candidates are bounded to the pool before any becomes an inet, so no
 * arithmetic can run past 255.255.255.255. $5 are blocks this call already lost to a concurrent create.
 */
const PICK_NET = `
  WITH candidates AS MATERIALIZED (
    SELECT n FROM (
      SELECT $1::bigint AS n
      UNION
      SELECT ((broadcast(a.net_block) - '0.0.0.0'::inet) + $3) / $3 * $3
        FROM tenant_allocations a WHERE a.released_at IS NULL AND a.net_block && $6::cidr
      UNION
      SELECT ((broadcast(t) - '0.0.0.0'::inet) + $3) / $3 * $3 FROM unnest($5::cidr[]) AS t
    ) c WHERE n >= $1 AND n + $3 <= $2
  ),
  blocks AS (SELECT n, network(set_masklen('0.0.0.0'::inet + n, $4)) AS block FROM candidates)
  SELECT b.block::text AS block FROM blocks b
   WHERE NOT EXISTS (SELECT 1 FROM tenant_allocations a WHERE a.released_at IS NULL AND a.net_block && b.block)
     AND NOT b.block && ANY ($5::cidr[])
   ORDER BY b.n LIMIT 1`;

/**
 * Allocates the lowest free uid block and address block to a tenant and records them, inside the
 * caller's transaction (or a transaction of its own when the manager has none). Idempotent: a tenant
 * with a live allocation gets it back. `excluded` are the [start, count] entries of /etc/subuid and
 * /etc/subgid (see readSubIdRanges); no tenant range overlaps them.
 *
 * Concurrency: the EXCLUDE constraints are the guarantee. Two creates that pick the same block collide
 * there: the second INSERT waits for the first transaction and fails with 23P01 once it commits. The
 * loser rolls back to a savepoint, so the caller's transaction survives, and picks again. This was chosen
 * over serialising creates on pg_advisory_xact_lock because such a lock is held until the caller commits,
 * so every tenant create, with all else it does in its transaction, would queue behind the others; with
 * retries only creates that actually collide pay, with one more pick. The block that was lost is
 * remembered, so a retry makes progress even where the caller's snapshot cannot see the winner's row
 * (REPEATABLE READ); under READ COMMITTED each pick sees it anyway.
 */
export async function allocateTenant(
  manager: EntityManager,
  tenantId: string,
  pools: AllocationPools,
  excluded: Array<[number, number]>,
): Promise<TenantAllocation> {
  // SAVEPOINT needs a transaction, and all statements must run on its one connection.
  if (!manager.queryRunner?.isTransactionActive) return manager.transaction((tx) => allocateTenant(tx, tenantId, pools, excluded));

  const { uid, net } = pools;
  const blockSize = 2 ** (32 - net.blockPrefix);
  const lostUids = excluded.filter(([, count]) => count > 0).map(([start, count]) => `[${start},${start + count})`);
  const lostBlocks: string[] = [];
  for (let attempt = 1; ; attempt++) {
    // Checked on every attempt: a concurrent call for the same tenant may have won meanwhile.
    const existing = await allocationOf(manager, tenantId);
    if (existing) {
      if (existing.releasedAt)
        throw new Error(`tenant ${tenantId}'s allocation was released at ${existing.releasedAt.toISOString()}; a deleted tenant is not allocated again`);
      return {
        uidRange: existing.uidRange,
        netBlock: existing.netBlock,
        hostAddress: existing.hostAddress,
        tenantAddress: existing.tenantAddress,
        prefix: existing.prefix,
      };
    }
    const [pickedUid] = (await manager.query(PICK_UID, [uid.start, uid.end, lostUids])) as Array<{ base: string }>;
    if (!pickedUid) {
      throw new AllocationExhaustedError(
        'uid',
        `every ${ID_BLOCK}-uid block of the uid pool ${formatUidPool(uid)} is allocated or overlaps /etc/subuid or /etc/subgid; enlarge the pool (GOVERNOR_UID_POOL, START-END in steps of ${ID_BLOCK}), or delete tenants`,
      );
    }
    const pickedNet = (await manager.query(PICK_NET, [
      net.network,
      net.network + 2 ** (32 - net.poolPrefix),
      blockSize,
      net.blockPrefix,
      lostBlocks,
      `${formatAddress(net.network)}/${net.poolPrefix}`,
    ])) as Array<{ block: string }>;
    if (pickedNet.length === 0) {
      throw new AllocationExhaustedError(
        'net',
        `every /${net.blockPrefix} of the net pool ${formatNetPool(net)} is allocated; enlarge the pool (GOVERNOR_NET_POOL, a shorter prefix such as /15), or delete tenants`,
      );
    }
    const base = Number(pickedUid.base);
    const uidRange = `[${base},${base + ID_BLOCK})`;
    const netBlock = pickedNet[0].block;

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
      const retryable = code === EXCLUSION_VIOLATION || (code === UNIQUE_VIOLATION && constraint === PRIMARY_KEY);
      if (!retryable || attempt >= MAX_ATTEMPTS) throw err;
      if (constraint === UID_CONSTRAINT) lostUids.push(uidRange);
      if (constraint === NET_CONSTRAINT) lostBlocks.push(netBlock);
      // A little jitter so that a crowd of creates that all lost to one winner does not collide again in step.
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
  const rows = tenantIds.length === 0 ? [] : ((await manager.query(SELECT_ALLOCATIONS, [tenantIds])) as AllocationRow[]);
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

/** Frees a deleted tenant's ranges for others; the row stays as history. False when nothing was live. */
export async function releaseTenant(manager: EntityManager, tenantId: string): Promise<boolean> {
  const [, affected] = (await manager.query('UPDATE tenant_allocations SET released_at = now() WHERE tenant_id = $1 AND released_at IS NULL', [tenantId])) as [
    unknown,
    number,
  ];
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
