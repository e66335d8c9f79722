import { isDeviceNumber, parseKernelInteger } from './flat-keyed';
import { parseNestedKeyed } from './nested-keyed';

/** One device's line of io.stat: cumulative counts since the cgroup was created. */
export interface IoStatEntry {
  /** The block device as "MAJ:MIN", e.g. "8:0". */
  device: string;
  /** rbytes: bytes read. */
  rbytes: number;
  /** wbytes: bytes written. */
  wbytes: number;
  /** rios: read I/Os. */
  rios: number;
  /** wios: write I/Os. */
  wios: number;
  /** dbytes: bytes discarded. */
  dbytes?: number;
  /** dios: discard I/Os. */
  dios?: number;
}

/**
 * Parses io.stat (nested keyed): lines like
 * "8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0".
 *
 * - rbytes, wbytes, rios, wios: every supported kernel; a line without one of them is skipped.
 * - dbytes, dios: discard statistics, printed by every supported kernel but optional here.
 * - more fields follow on some kernels and set-ups and are ignored: iocost's "cost.vrate=100.00"
 *   (root only) and "cost.usage=..." (captured on 6.1), iolatency's "use_delay=0 delay_nsec=0",
 *   and more with blkcg debug stats.
 *
 * A device that has done no I/O in this cgroup has no line, so a fresh cgroup's io.stat is empty
 * (an empty array). Lines are returned in file order, which the kernel does not define.
 */
export function parseIoStat(text: string): IoStatEntry[] {
  const entries: IoStatEntry[] = [];
  for (const { key, fields } of parseNestedKeyed(text)) {
    if (!isDeviceNumber(key)) continue;
    const read = (name: string) => {
      const value = fields.get(name);
      return value === undefined ? undefined : parseKernelInteger(value);
    };
    const [rbytes, wbytes, rios, wios] = [read('rbytes'), read('wbytes'), read('rios'), read('wios')];
    if (rbytes === undefined || wbytes === undefined || rios === undefined || wios === undefined) continue;
    const entry: IoStatEntry = { device: key, rbytes, wbytes, rios, wios };
    const dbytes = read('dbytes');
    const dios = read('dios');
    if (dbytes !== undefined) entry.dbytes = dbytes;
    if (dios !== undefined) entry.dios = dios;
    entries.push(entry);
  }
  return entries;
}
