import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What PostgreSQL writes to <data>/postmaster.pid (src/include/utils/pidfile.h): line 1 the postmaster's
 * pid, line 8 its status ("starting", "stopping", "ready" or "standby", padded with blanks).
 */
export interface PidFile {
  pid: number;
  status: string | undefined;
}

export function parsePidFile(text: string): PidFile | undefined {
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const status = lines[7]?.trim();
  return { pid, status: status === '' ? undefined : status };
}

export function readPidFile(dataDir: string): PidFile | undefined {
  try {
    return parsePidFile(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The processes of a server on `dataDir`, found by what they are rather than by a pid file: the postmaster
 * and every backend chdir into the data directory, so their /proc/<pid>/cwd is its inode. A pid file names
 * a pid that may have been reused; a working directory does not lie. Runs as root (or as the server's
 * user) to see other users' cwd links; processes it cannot inspect are not ours to touch anyway.
 */
export function serverProcesses(dataDir: string, procRoot = '/proc'): number[] {
  const target = statSync(dataDir);
  const pids: number[] = [];
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = statSync(join(procRoot, entry, 'cwd'));
      if (cwd.dev === target.dev && cwd.ino === target.ino) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to see
    }
  }
  return pids;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
