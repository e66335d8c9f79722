import { parseFlatKeyed } from './flat-keyed';

/**
 * memory.stat of one cgroup: the keys Governor reads by name, plus every key as printed. Amounts
 * are bytes (the kernel converts pages, KiB and bytes to bytes before printing); pg* and
 * workingset_* keys are event counts.
 */
export interface MemoryStat {
  /** anon: anonymous memory (brk, mmap(MAP_ANONYMOUS), ...). */
  anon?: number;
  /** file: page cache, tmpfs and shared memory included. */
  file?: number;
  /** kernel: all kernel memory charged to the group. 5.18+: absent on 5.10. */
  kernel?: number;
  /** kernel_stack: kernel stacks of the group's tasks. */
  kernelStack?: number;
  /** pagetables: page tables. Absent on 5.10 (present on 6.1). */
  pagetables?: number;
  /** sock: network transmission buffers. */
  sock?: number;
  /** shmem: swap-backed cache: tmpfs, shm segments, shared anonymous mappings. */
  shmem?: number;
  /** file_mapped: page cache mapped with mmap(). */
  fileMapped?: number;
  /** file_dirty: page cache modified but not yet written back. */
  fileDirty?: number;
  /** file_writeback: page cache being written back now. */
  fileWriteback?: number;
  /** inactive_anon: anonymous memory on the inactive LRU list. */
  inactiveAnon?: number;
  /** active_anon: anonymous memory on the active LRU list. */
  activeAnon?: number;
  /** inactive_file: page cache on the inactive LRU list (first to be reclaimed). */
  inactiveFile?: number;
  /** active_file: page cache on the active LRU list. */
  activeFile?: number;
  /** unevictable: mlocked and otherwise unreclaimable memory. */
  unevictable?: number;
  /** slab: slab_reclaimable + slab_unreclaimable. */
  slab?: number;
  /** pgfault: page faults (an event count). */
  pgfault?: number;
  /** pgmajfault: page faults that needed I/O (an event count). */
  pgmajfault?: number;
  /** Every key of the file, as printed, the ones named above and unknown ones alike. */
  all: ReadonlyMap<string, number>;
}

/** memory.events or memory.events.local of one cgroup: event counts. */
export interface MemoryEvents {
  /** low: reclaimed while under memory.low (low is over-committed). */
  low: number;
  /** high: throttled and sent to direct reclaim for exceeding memory.high. */
  high: number;
  /** max: about to exceed memory.max (direct reclaim; OOM if that fails). */
  max: number;
  /** oom: reached the limit with an allocation about to fail. */
  oom: number;
  /** oom_kill: processes of the group killed by any OOM killer. */
  oomKill: number;
  /** oom_group_kill: group OOM kills (memory.oom.group). 5.17+: absent on 5.10 and 5.15. */
  oomGroupKill?: number;
}

/** memory.swap.events of one cgroup: event counts. */
export interface SwapEvents {
  /** high: swap usage went over memory.swap.high. 5.8+, so present on every supported kernel. */
  high?: number;
  /** max: swap allocation failed because of memory.swap.max. */
  max: number;
  /** fail: swap allocation failed, because of memory.swap.max or swap running out system-wide. */
  fail: number;
}

/** memory.stat keys exposed as named fields, by field. */
const MEMORY_STAT_KEYS: ReadonlyArray<[Exclude<keyof MemoryStat, 'all'>, string]> = [
  ['anon', 'anon'],
  ['file', 'file'],
  ['kernel', 'kernel'],
  ['kernelStack', 'kernel_stack'],
  ['pagetables', 'pagetables'],
  ['sock', 'sock'],
  ['shmem', 'shmem'],
  ['fileMapped', 'file_mapped'],
  ['fileDirty', 'file_dirty'],
  ['fileWriteback', 'file_writeback'],
  ['inactiveAnon', 'inactive_anon'],
  ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'],
  ['activeFile', 'active_file'],
  ['unevictable', 'unevictable'],
  ['slab', 'slab'],
  ['pgfault', 'pgfault'],
  ['pgmajfault', 'pgmajfault'],
];

/**
 * Parses memory.stat (flat keyed; documented for non-root cgroups, and 6.1 shows one on the root
 * too). The kernel documentation warns that "new entries can show up in the middle" and the set
 * depends on version and config, so every field is optional and the full map is kept:
 *
 * - 5.10: anon, file, kernel_stack, percpu, sock, shmem, file_mapped, file_dirty, file_writeback,
 *   anon_thp (CONFIG_TRANSPARENT_HUGEPAGE), the four LRU lists, unevictable, slab_reclaimable,
 *   slab_unreclaimable, slab, workingset_*_{anon,file} and workingset_nodereclaim, then the event
 *   counts pgfault, pgmajfault, pgrefill, pgscan, pgsteal, pgactivate, pgdeactivate, pglazyfree,
 *   pglazyfreed, thp_fault_alloc and thp_collapse_alloc.
 * - by 6.1, also: kernel (5.18), pagetables, sec_pagetables (6.0), vmalloc, zswap and zswapped
 *   (5.19, CONFIG_ZSWAP), swapcached, file_thp, shmem_thp, pgscan_/pgsteal_{kswapd,direct},
 *   zswpin and zswpout.
 * - later kernels add more: pg{scan,steal}_khugepaged (6.2), thp_swpout (6.7), zswpwb (6.8),
 *   hugetlb, pgdemote_*, pgpromote_success, swpin_zero, swpout_zero, numa_* and others.
 *
 * An empty text gives an object with only an empty `all`.
 */
export function parseMemoryStat(text: string): MemoryStat {
  const all = parseFlatKeyed(text);
  const stat: MemoryStat = { all };
  for (const [field, key] of MEMORY_STAT_KEYS) {
    const value = all.get(key);
    if (value !== undefined) stat[field] = value;
  }
  return stat;
}

/**
 * Parses memory.events (hierarchical: counts events of the cgroup and its descendants) or
 * memory.events.local (5.2+, this cgroup only); both have the same keys. Non-root cgroups only.
 *
 * - low, high, max, oom, oom_kill: every supported kernel (5.10+).
 * - oom_group_kill: 5.17+.
 * - newer kernels add keys (e.g. sock_throttled); unknown keys are ignored.
 *
 * Returns undefined when one of the five keys every 5.10+ kernel prints is missing.
 */
export function parseMemoryEvents(text: string): MemoryEvents | undefined {
  const values = parseFlatKeyed(text);
  const low = values.get('low');
  const high = values.get('high');
  const max = values.get('max');
  const oom = values.get('oom');
  const oomKill = values.get('oom_kill');
  if (low === undefined || high === undefined || max === undefined || oom === undefined || oomKill === undefined) return undefined;
  const events: MemoryEvents = { low, high, max, oom, oomKill };
  const oomGroupKill = values.get('oom_group_kill');
  if (oomGroupKill !== undefined) events.oomGroupKill = oomGroupKill;
  return events;
}

/**
 * Parses memory.swap.events (flat keyed, non-root cgroups, when swap accounting is on).
 *
 * - max, fail: every supported kernel.
 * - high: 5.8+ (with memory.swap.high), printed before max; optional in case a distribution
 *   kernel lacks it.
 *
 * Returns undefined when max or fail is missing.
 */
export function parseSwapEvents(text: string): SwapEvents | undefined {
  const values = parseFlatKeyed(text);
  const max = values.get('max');
  const fail = values.get('fail');
  if (max === undefined || fail === undefined) return undefined;
  const events: SwapEvents = { max, fail };
  const high = values.get('high');
  if (high !== undefined) events.high = high;
  return events;
}
