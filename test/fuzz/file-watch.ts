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
 * strace in front of the service: follow children, successful calls only, fds shown as paths, one file
 * per process (`<prefix>.<pid>`), so that no call is split into "unfinished" and "resumed" halves.
 */
export function straceWrapper(outputPrefix: string): string[] {
  return ['strace', '-ff', '-qq', '-z', '-y', '--seccomp-bpf', '-s', '4096', '-e', `trace=${[...CREATING, 'chdir', 'fchdir'].join(',')}`, '-o', outputPrefix];
}

export interface Creation {
  syscall: string;
  path: string;
  line: string;
}

/**
 * The names one traced process created: directories, nodes, links and rename targets always; opens only
 * with O_CREAT. A relative path is resolved against the directory fd's path that -y prints, or against
 * the process's working directory, followed through chdir from `cwd` (what it inherited).
 */
export function creationsIn(processTrace: string, cwd: string): Creation[] {
  const found: Creation[] = [];
  let at = cwd;
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
    else if (syscall.startsWith('open') || syscall === 'creat') {
      if (syscall !== 'creat' && !/O_CREAT/.test(args)) continue;
      const opened = /^\d+<(.*)>/.exec(result);
      if (opened) found.push({ syscall, path: opened[1], line });
    } else if (CREATING.includes(syscall) && paths.length > 0) {
      // The created name is the last path argument: mkdir(path), mkdirat(dirfd, path), renameat(…, newdirfd, newpath).
      found.push({ syscall, path: absolute(paths[paths.length - 1]), line });
    }
  }
  return found;
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

/** Each traced process's calls, from the per-process files of straceWrapper. */
export function readTraces(outputPrefix: string): string[] {
  const dir = dirname(outputPrefix);
  const stem = `${basename(outputPrefix)}.`;
  return readdirSync(dir)
    .filter((name) => name.startsWith(stem))
    .map((name) => readFileSync(join(dir, name), 'utf8'));
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
