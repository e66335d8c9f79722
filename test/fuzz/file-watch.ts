import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * The system calls that create a name in a filesystem. The governor and everything it starts (ip, nft,
 * monitors, workloads) runs under `strace -f` with these traced, so a creation is attributed to the
 * governor's process tree for certain, whatever else runs on the machine at the same time.
 */
const CREATING = [
  'creat',
  'open',
  'openat',
  'openat2',
  'mkdir',
  'mkdirat',
  'mknod',
  'mknodat',
  'rename',
  'renameat',
  'renameat2',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
];

/**
 * Calls that change where a process's paths lead: its working directory, its mount namespace or root
 * (the tenant init and workloads build their own mount view, whose "/" is not the host's), and the
 * clones through which children inherit both.
 */
const PROCESS_STATE = ['chdir', 'fchdir', 'unshare', 'setns', 'chroot', 'pivot_root', 'clone', 'clone3', 'fork', 'vfork'];

/**
 * strace in front of the service: follow children, successful calls only, fds shown as paths, one file
 * per process (`<prefix>.<pid>`), so that no call is split into "unfinished" and "resumed" halves.
 */
export function straceWrapper(outputPrefix: string): string[] {
  const followed = [...CREATING, ...PROCESS_STATE];
  return ['strace', '-ff', '-qq', '-z', '-y', '--seccomp-bpf', '-s', '4096', '-e', `trace=${followed.join(',')}`, '-o', outputPrefix];
}

export interface Creation {
  syscall: string;
  path: string;
  line: string;
  /** false once the process (or an ancestor) left the host's mount namespace or root: the path is not the host's */
  hostView: boolean;
}

interface ProcessView {
  cwd: string;
  hostView: boolean;
}

/**
 * The names one traced process created: directories, nodes, links and rename targets always; opens only
 * with O_CREAT. A relative path is resolved against the directory fd's path that -y prints, or against
 * the process's working directory, followed through chdir from what it inherited. Also returns the
 * children it cloned, with the working directory and view they inherited.
 */
export function creationsIn(processTrace: string, inherited: ProcessView): { creations: Creation[]; children: Map<number, ProcessView> } {
  const creations: Creation[] = [];
  const children = new Map<number, ProcessView>();
  let at = inherited.cwd;
  let hostView = inherited.hostView;
  for (const line of processTrace.split('\n')) {
    const call = /^(\w+)\((.*)\)\s+= (.*)$/.exec(line);
    if (!call) continue;
    const [, syscall, args, result] = call;
    const paths = [...args.matchAll(/(?:(AT_FDCWD|\d+)<([^>]*)>,\s*)?"((?:[^"\\]|\\.)*)"/g)];
    const absolute = (match: RegExpMatchArray): string => {
      const name = JSON.parse(`"${match[3]}"`) as string;
      return name.startsWith('/') ? name : resolve(match[2] ?? at, name);
    };
    if (syscall === 'chdir' && paths[0]) at = absolute(paths[0]);
    else if (syscall === 'fchdir') at = /^\d+<(.*)>$/.exec(args)?.[1] ?? at;
    else if (syscall === 'chroot' || syscall === 'pivot_root') hostView = false;
    else if (syscall === 'unshare' || syscall === 'setns') {
      if (/CLONE_NEWNS|\/ns\/mnt|mnt:\[/.test(args)) hostView = false;
    } else if (['clone', 'clone3', 'fork', 'vfork'].includes(syscall)) {
      const child = /^(\d+)/.exec(result);
      if (child) children.set(Number(child[1]), { cwd: at, hostView: hostView && !/CLONE_NEWNS/.test(args) });
    } else if (syscall.startsWith('open') || syscall === 'creat') {
      if (syscall !== 'creat' && !/O_CREAT/.test(args)) continue;
      const opened = /^\d+<(.*)>/.exec(result);
      if (opened) creations.push({ syscall, path: opened[1], line, hostView });
    } else if (CREATING.includes(syscall) && paths.length > 0) {
      // The created name is the last path argument: mkdir(path), mkdirat(dirfd, path), renameat(…, newdirfd, newpath).
      creations.push({ syscall, path: absolute(paths[paths.length - 1]), line, hostView });
    }
  }
  return { creations, children };
}

/**
 * Every creation of a traced process tree, each process read with what its parent handed it at clone
 * time. Processes nobody cloned (the first one) start in the host's view at `cwd`.
 */
export function creationsOfTree(traces: Map<number, string>, cwd: string): Creation[] {
  const parsed = new Map<number, ReturnType<typeof creationsIn>>();
  const views = new Map<number, ProcessView>();
  const cloned = new Set<number>();
  // A child's view depends on its parent's, so walk from the roots down; a first pass finds the roots.
  for (const trace of traces.values()) {
    for (const child of creationsIn(trace, { cwd, hostView: true }).children.keys()) cloned.add(child);
  }
  const queue = [...traces.keys()].filter((pid) => !cloned.has(pid));
  for (const pid of queue) views.set(pid, { cwd, hostView: true });
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const result = creationsIn(traces.get(pid) ?? '', views.get(pid)!);
    parsed.set(pid, result);
    for (const [child, view] of result.children) {
      if (views.has(child) || !traces.has(child)) continue;
      views.set(child, view);
      queue.push(child);
    }
  }
  return [...parsed.values()].flatMap((result) => result.creations);
}

/** Whether `path` is `root` or beneath it. */
export function isBeneath(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root.replace(/\/$/, '')}/`);
}

/** Every path beneath a directory (to a depth), for a before/after comparison; unreadable parts are skipped. */
export function snapshot(dir: string, depth = 3): Set<string> {
  const seen = new Set<string>();
  const walk = (at: string, level: number) => {
    let entries: string[];
    try {
      entries = readdirSync(at);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(at, entry);
      seen.add(path);
      try {
        if (level < depth && lstatSync(path).isDirectory()) walk(path, level + 1);
      } catch {
        // removed meanwhile
      }
    }
  };
  walk(dir, 1);
  return seen;
}

/** Each traced process's calls by pid, from the per-process files of straceWrapper. */
export function readTraces(outputPrefix: string): Map<number, string> {
  const dir = dirname(outputPrefix);
  const stem = `${basename(outputPrefix)}.`;
  const traces = new Map<number, string>();
  for (const name of readdirSync(dir)) {
    if (name.startsWith(stem)) traces.set(Number(name.slice(stem.length)), readFileSync(join(dir, name), 'utf8'));
  }
  return traces;
}

/** A character or block device (O_CREAT on /dev/null creates nothing). */
export function isDevice(path: string): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isCharacterDevice() || stat.isBlockDevice();
  } catch {
    return false;
  }
}
