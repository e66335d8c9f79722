/**
 * Pure pool arithmetic for tenant allocations: parsing and validating the uid and address pools, their
 * capacity, /etc/subuid parsing, and the addresses of a block. No I/O here; see ./allocation.ts for the
 * allocator that uses PostgreSQL.
 */

/** Each tenant's user namespace maps uids (and gids) 0..65535 onto one block of this many host ids. */
export const ID_BLOCK = 65536;

export interface UidPool {
  /** first host uid of the pool, a multiple of ID_BLOCK */
  start: number;
  /** one past the last host uid; end - start is a multiple of ID_BLOCK */
  end: number;
}

export interface NetPool {
  /** the pool's network address as a 32-bit number */
  network: number;
  poolPrefix: number;
  /** each tenant's block: /31 (RFC 3021 point-to-point, both addresses usable) or /30 */
  blockPrefix: number;
}

/**
 * 0x70000000 up to just below systemd's foreign UID range (0x7FFE0000 = 2147352576): systemd's
 * UIDS-GIDS.md leaves 0x70000000–0x7FFFFFFF unused apart from that range, and it is far above Debian's
 * useradd subuid range (100000–600100000). 4094 tenants.
 */
export const DEFAULT_UID_POOL = '1879048192-2147352575';
/** 32768 tenants of one /31 each. */
export const DEFAULT_NET_POOL = '10.200.0.0/16';
const DEFAULT_BLOCK_PREFIX = 31;

/** uid 4294967295 is (uid_t)-1, never a valid id, so the last block a pool may hold ends just below it. */
const MAX_UID_POOL_END = 2 ** 32 - ID_BLOCK;

const UID_POOL_FORMAT = `a uid pool is START-END with inclusive bounds, START a multiple of ${ID_BLOCK} and END+1-START a multiple of ${ID_BLOCK}, e.g. ${DEFAULT_UID_POOL}`;
const NET_POOL_FORMAT = `a net pool is an IPv4 network A.B.C.D/N (N from 8 to the block prefix, host bits zero), optionally followed by ",/31" or ",/30" for each tenant's block (default /31), e.g. ${DEFAULT_NET_POOL} or ${DEFAULT_NET_POOL},/30`;

/** Parses "START-END" (inclusive). Throws an Error that says what is wrong and what is allowed. */
export function parseUidPool(text: string): UidPool {
  const match = /^\s*(\d{1,10})\s*-\s*(\d{1,10})\s*$/.exec(text);
  if (!match) throw new Error(`not of the form START-END; ${UID_POOL_FORMAT}`);
  const start = Number(match[1]);
  const end = Number(match[2]) + 1;
  if (end <= start) throw new Error(`END (${end - 1}) is below START (${start}); ${UID_POOL_FORMAT}`);
  if (start % ID_BLOCK !== 0) {
    throw new Error(
      `START (${start}) is not a multiple of ${ID_BLOCK}: the nearest are ${start - (start % ID_BLOCK)} and ${start - (start % ID_BLOCK) + ID_BLOCK}; ${UID_POOL_FORMAT}`,
    );
  }
  if ((end - start) % ID_BLOCK !== 0) {
    throw new Error(`the size END+1-START (${end - start}) is not a multiple of ${ID_BLOCK}, so END should be START + k*${ID_BLOCK} - 1; ${UID_POOL_FORMAT}`);
  }
  // Block 0 holds the host's own users, root among them: a tenant's root must never be host root.
  if (start === 0) throw new Error(`START must be at least ${ID_BLOCK}: uids 0-${ID_BLOCK - 1} belong to the host itself; ${UID_POOL_FORMAT}`);
  if (end > MAX_UID_POOL_END) throw new Error(`END must be at most ${MAX_UID_POOL_END - 1}: uid 4294967295 is (uid_t)-1, never a valid id; ${UID_POOL_FORMAT}`);
  return { start, end };
}

/** Parses "A.B.C.D/N" or "A.B.C.D/N,/30". Throws an Error that says what is wrong and what is allowed. */
export function parseNetPool(text: string): NetPool {
  const match = /^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})\s*(?:,\s*\/(\d{1,2}))?\s*$/.exec(text);
  if (!match) throw new Error(`not an IPv4 network; ${NET_POOL_FORMAT}`);
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((octet) => octet > 255)) throw new Error(`an octet is above 255; ${NET_POOL_FORMAT}`);
  const network = octets.reduce((acc, octet) => acc * 256 + octet, 0);
  const poolPrefix = Number(match[5]);
  const blockPrefix = match[6] === undefined ? DEFAULT_BLOCK_PREFIX : Number(match[6]);
  // A tenant's link is a veth pair: two addresses, which a /31 holds exactly and a /30 holds between its
  // network and broadcast addresses. Bigger blocks would only waste the pool.
  if (blockPrefix !== 30 && blockPrefix !== 31) throw new Error(`the block prefix /${blockPrefix} is not /31 or /30; ${NET_POOL_FORMAT}`);
  if (poolPrefix < 8 || poolPrefix > blockPrefix) {
    throw new Error(`the pool prefix /${poolPrefix} is outside /8 to /${blockPrefix} (the pool must hold at least one block); ${NET_POOL_FORMAT}`);
  }
  const size = 2 ** (32 - poolPrefix);
  if (network % size !== 0) {
    throw new Error(`host bits are set: the network is ${formatAddress(network - (network % size))}/${poolPrefix}; ${NET_POOL_FORMAT}`);
  }
  return { network, poolPrefix, blockPrefix };
}

export const formatUidPool = (pool: UidPool): string => `${pool.start}-${pool.end - 1}`;
export const formatNetPool = (pool: NetPool): string => `${formatAddress(pool.network)}/${pool.poolPrefix},/${pool.blockPrefix}`;

export const uidPoolCapacity = (pool: UidPool): number => (pool.end - pool.start) / ID_BLOCK;
export const netPoolCapacity = (pool: NetPool): number => 2 ** (pool.blockPrefix - pool.poolPrefix);
/** How many tenants the pools hold together: the smaller of the two, before subuid exclusions. */
export const poolCapacity = (pools: { uid: UidPool; net: NetPool }): number => Math.min(uidPoolCapacity(pools.uid), netPoolCapacity(pools.net));

/**
 * Parses /etc/subuid or /etc/subgid: "name:start:count" lines (name may also be a numeric uid), as
 * [start, count]. Blank lines and # comments are skipped, and so are malformed lines, as shadow-utils does.
 */
export function parseSubIdFile(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^[^:]+:(\d+):(\d+)$/.exec(line);
    if (match && Number(match[2]) > 0) ranges.push([Number(match[1]), Number(match[2])]);
  }
  return ranges;
}

export function formatAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseAddress(text: string): number {
  return text.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** The two ends of a tenant's link in a block such as "10.200.0.4/31". */
export function blockAddresses(netBlock: string): { hostAddress: string; tenantAddress: string; prefix: number } {
  const [address, prefixText] = netBlock.split('/');
  const prefix = Number(prefixText);
  const base = parseAddress(address);
  // A /31 has no network or broadcast address (RFC 3021): both are hosts. A /30 uses its middle two.
  const first = prefix === 31 ? base : base + 1;
  return { hostAddress: formatAddress(first), tenantAddress: formatAddress(first + 1), prefix };
}
