// Counts, in an `strace -f -yy -s 1` log of a governor, what it did to the kernel and what it started:
// successful execve, forks (clones without CLONE_THREAD), writes to kernel files (/sys, /proc) and netlink
// requests that change something (route family: RTM_NEW*, RTM_DEL*, RTM_SET*; nftables: every message but
// the GETs, so a transaction's batch begin and end count too). Reads and dumps are not counted.

export interface SyscallCount {
  execs: string[];
  forks: number;
  kernelFileWrites: string[];
  netlinkWrites: number;
  /** a few of the netlink write lines, for a reader to check the classification */
  netlinkSamples: string[];
}

const NFT_SUBSYSTEM = 10;
/** NFT_MSG_GET* (table, chain, rule, set, set element, generation, object, object reset, flowtable) */
const NFT_GETS = new Set([1, 4, 7, 10, 13, 16, 19, 21, 23]);

function isNetlinkWrite(type: string): boolean {
  if (!/^0x|^\d/.test(type)) return /^(RTM_(NEW|DEL|SET)|NFT_MSG_(NEW|DEL)|NFNL_MSG_BATCH)/.test(type);
  const value = Number(type);
  if (value >> 8 === NFT_SUBSYSTEM) return !NFT_GETS.has(value & 0xff);
  // rtnetlink: each object has NEW, DEL, GET and SET (or a fourth) from RTM_BASE 16 in steps of four.
  return value >= 16 && value < 0x100 && (value & 3) !== 2;
}

export function countSyscalls(log: string): SyscallCount {
  const count: SyscallCount = { execs: [], forks: 0, kernelFileWrites: [], netlinkWrites: 0, netlinkSamples: [] };
  for (const line of log.split('\n')) {
    const exec = /^\d+ execve\("([^"]+)".* = 0$/.exec(line);
    if (exec) {
      count.execs.push(exec[1].split('/').pop() ?? exec[1]);
      continue;
    }
    if (/^\d+ (clone3?|v?fork)\(/.test(line) && !line.includes('CLONE_THREAD') && / = \d+$/.test(line)) {
      count.forks += 1;
      continue;
    }
    const write = /^\d+ (?:write|pwrite64|writev)\(\d+<(\/(?:sys|proc)\/[^>]*)>/.exec(line);
    if (write) {
      count.kernelFileWrites.push(write[1]);
      continue;
    }
    if (/^\d+ (sendmsg|sendto)\(\d+<NETLINK:/.test(line)) {
      const writes = [...line.matchAll(/nlmsg_type=([\w]+)/g)].filter((m) => isNetlinkWrite(m[1])).length;
      count.netlinkWrites += writes;
      if (writes > 0 && count.netlinkSamples.length < 5) count.netlinkSamples.push(line.slice(0, 300));
    }
  }
  return count;
}
