import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

// Counts, in an `strace -f -yy -s 1` log of a governor, what it did to the kernel and what it started:
// successful execve, forks (clones without CLONE_THREAD), writes to kernel files (/sys, /proc) and netlink
// requests that change something (route family: RTM_NEW*, RTM_DEL*, RTM_SET*; nftables: every message but
// the GETs, so a transaction's batch begin and end count too). Reads and dumps are not counted.
// strace pads the pid column of each line to five characters, so a line starts with a pid and one space or more.

/** What `countSyscalls` needs strace to trace (its -e trace= list). */
export const COUNTED_CALLS = 'execve,clone,clone3,fork,vfork,write,pwrite64,writev,sendmsg,sendto';

/**
 * strace on every thread of `pid` (and, with -f, every thread and child it makes from then on), writing
 * to `out`. `calls` is strace's -e trace= list; `extra` more options (e.g. -yy to name each fd).
 */
export function trace(pid: number, out: string, calls: string, extra: string[] = []): ChildProcess {
  const threads = readdirSync(`/proc/${pid}/task`).flatMap((tid) => ['-p', tid]);
  return spawn('strace', ['-f', '-qq', ...extra, '-e', `trace=${calls}`, '-o', out, ...threads], { stdio: 'ignore' });
}

/** Stops a trace started by `trace` (SIGINT detaches from every thread) and waits for it to have written its file. */
export async function detach(strace: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => strace.once('exit', resolve));
  strace.kill('SIGINT');
  await exited;
}

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

/**
 * The log's calls one to a line: when another thread's call comes between a call's start and its end,
 * strace prints `PID  call(args <unfinished ...>` and later `PID  <... call resumed>rest`; those two
 * become `PID call(args rest` again, in the place of the first.
 */
export function wholeCalls(log: string): string[] {
  const lines: string[] = [];
  const open = new Map<string, number>();
  for (const line of log.split('\n')) {
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      open.set(unfinished[1], lines.length);
      lines.push(`${unfinished[1]} ${unfinished[2]}`);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    const at = resumed ? open.get(resumed[1]) : undefined;
    if (resumed && at !== undefined) {
      lines[at] += resumed[2].startsWith(')') || resumed[2].startsWith(',') ? resumed[2] : ` ${resumed[2]}`;
      open.delete(resumed[1]);
      continue;
    }
    lines.push(line);
  }
  return lines;
}

export function countSyscalls(log: string): SyscallCount {
  const count: SyscallCount = { execs: [], forks: 0, kernelFileWrites: [], netlinkWrites: 0, netlinkSamples: [] };
  for (const line of wholeCalls(log)) {
    const exec = /^\d+\s+execve\("([^"]+)".* = 0$/.exec(line);
    if (exec) {
      count.execs.push(exec[1].split('/').pop() ?? exec[1]);
      continue;
    }
    if (/^\d+\s+(clone3?|v?fork)\(/.test(line) && !line.includes('CLONE_THREAD') && / = \d+$/.test(line)) {
      count.forks += 1;
      continue;
    }
    const write = /^\d+\s+(?:write|pwrite64|writev)\(\d+<(\/(?:sys|proc)\/[^>]*)>/.exec(line);
    if (write) {
      count.kernelFileWrites.push(write[1]);
      continue;
    }
    if (/^\d+\s+(sendmsg|sendto)\(\d+<NETLINK:/.test(line)) {
      const writes = [...line.matchAll(/nlmsg_type=([\w]+)/g)].filter((m) => isNetlinkWrite(m[1])).length;
      count.netlinkWrites += writes;
      if (writes > 0 && count.netlinkSamples.length < 5) count.netlinkSamples.push(line.slice(0, 300));
    }
  }
  return count;
}
