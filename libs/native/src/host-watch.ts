import { readFileSync } from 'node:fs';
import type { GovernorNative, HostWatchFds } from './native.types';

/** enum gv_watch_kind of native/watch.h. */
const enum Kind {
  Dir = 1,
  Link = 2,
  Nsid = 3,
  Pid = 4,
  Mounts = 5,
  Overflow = 6,
}

/** Pairs read by one call; more are read by the next one. */
const DRAIN_PAIRS = 8192;

/** What changed on the host since the last drain (native/watch.h). */
export interface HostChanges {
  /** the inotify watches that saw a write, an entry made or removed, or their directory go */
  dirs: Set<number>;
  /** the links (ifindex) of this network namespace whose link, addresses, routes, qdiscs or filters changed */
  links: Set<number>;
  /** the other network namespaces (their id here) in which anything of those changed */
  nsids: Set<number>;
  /** the watched processes that exited */
  pids: Set<number>;
  /** whether this process's mount table changed */
  mounts: boolean;
  /** events were lost: anything may have changed */
  overflow: boolean;
}

/**
 * What the kernel says changed, read without waiting and without a thread: an inotify fd for directories, one
 * rtnetlink socket that hears every network namespace given an id here (NETLINK_LISTEN_ALL_NSID), pidfds for
 * processes, and the mount table's poll. Everything queues in the kernel until drain() reads it. Close it once.
 */
export class HostWatch {
  private readonly out = new Int32Array(2 * DRAIN_PAIRS);
  private fds: HostWatchFds | undefined;

  constructor(private readonly native: Pick<GovernorNative, 'watchOpen' | 'watchDir' | 'watchPid' | 'watchDrain' | 'close'>) {
    this.fds = native.watchOpen();
  }

  /** Watches a directory (a tenant's cgroup): its wd, or undefined when it cannot be watched (gone, no watch left). */
  async watchDir(path: string): Promise<number | undefined> {
    if (this.fds === undefined) return undefined;
    const wd = await this.native.watchDir(this.fds, path);
    return wd < 0 ? undefined : wd;
  }

  /** Watches a process's exit; false when it cannot be watched (already gone). */
  watchPid(pid: number): boolean {
    return this.fds !== undefined && this.native.watchPid(this.fds, pid) === 0;
  }

  drain(): HostChanges {
    const changes: HostChanges = { dirs: new Set(), links: new Set(), nsids: new Set(), pids: new Set(), mounts: false, overflow: false };
    if (this.fds === undefined) return { ...changes, overflow: true };
    for (;;) {
      const pairs = this.native.watchDrain(this.fds, this.out);
      for (let i = 0; i < pairs; i += 1) {
        const value = this.out[2 * i + 1];
        switch (this.out[2 * i] as Kind) {
          case Kind.Dir:
            changes.dirs.add(value);
            break;
          case Kind.Link:
            changes.links.add(value);
            break;
          case Kind.Nsid:
            changes.nsids.add(value);
            break;
          case Kind.Pid:
            changes.pids.add(value);
            break;
          case Kind.Mounts:
            changes.mounts = true;
            break;
          case Kind.Overflow:
            changes.overflow = true;
            break;
        }
      }
      // A full buffer ends with an overflow pair: what did not fit was read and dropped.
      if (pairs < DRAIN_PAIRS) return changes;
    }
  }

  /**
   * The mounts of this process below `under` (a directory with a trailing slash), as mount point -> its root and
   * source (mountinfo's fourth and tenth fields: a namespace file's root names the namespace, `net:[4026532…]`).
   */
  mountsUnder(under: string): Map<string, string> {
    const mounts = new Map<string, string>();
    // Only the lines that name `under` are split: the host's table may hold tens of thousands of other mounts.
    const text = readFileSync('/proc/self/mountinfo', 'utf8');
    for (let at = text.indexOf(` ${under}`); at >= 0;) {
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      const fields = text.slice(start, end < 0 ? undefined : end).split(' ');
      const point = fields[4];
      if (point?.startsWith(under)) {
        const dash = fields.indexOf('-', 6);
        mounts.set(point, `${fields[3]} ${dash > 0 ? fields[dash + 2] : ''}`);
      }
      if (end < 0) break;
      at = text.indexOf(` ${under}`, end);
    }
    return mounts;
  }

  close(): void {
    if (this.fds === undefined) return;
    for (const fd of this.fds) this.native.close(fd);
    this.fds = undefined;
  }
}
