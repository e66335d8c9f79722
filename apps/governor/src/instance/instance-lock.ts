import { constants, hostname } from 'node:os';
import { closeSync, ftruncateSync, readFileSync, statSync, writeSync } from 'node:fs';
import { KoffiNative, NativeError } from '../../../../libs/native/src';

const { EAGAIN } = constants.errno;

/** What is known of a lock's holder, so that the one refused can name it. */
interface Holder {
  pid: number;
  host?: string;
  startedAt?: string;
  command: string;
}

export interface InstanceLock {
  release(): void;
}

export class InstanceLockedError extends Error {
  constructor(
    readonly what: string,
    readonly lockPath: string,
    readonly holder: Holder | undefined,
    hint: string,
  ) {
    const who = holder
      ? `pid ${holder.pid}${holder.host ? ` on ${holder.host}` : ''}${holder.startedAt ? `, started ${holder.startedAt}` : ''} (${holder.command})`
      : 'another process';
    super(`${what} is in use by ${who}: ${lockPath} is locked. ${hint}`);
    this.name = 'InstanceLockedError';
  }
}

/**
 * The process holding a flock on `path`, from /proc/locks (which names the pid that took it and the inode
 * as major:minor:inode in hex), with its command line.
 */
export function flockHolder(path: string, locks = '/proc/locks'): Holder | undefined {
  try {
    const st = statSync(path);
    const major = Math.floor(st.dev / 256) & 0xfff;
    const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
    for (const line of readFileSync(locks, 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[1] !== 'FLOCK') continue;
      const [maj, min, ino] = (fields[5] ?? '').split(':');
      if (parseInt(maj, 16) !== major || parseInt(min, 16) !== minor || Number(ino) !== st.ino) continue;
      const pid = Number(fields[4]);
      let command = 'unknown command';
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      } catch {
        // gone meanwhile, or another pid namespace's
      }
      return { pid, command };
    }
  } catch {
    // no /proc/locks, or the path went away
  }
  return undefined;
}

function readHolder(path: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    if (typeof parsed.pid === 'number') return parsed as Holder;
  } catch {
    // empty or not ours: ask the kernel
  }
  return flockHolder(path);
}

function refusedOrThrow(err: unknown, what: string, path: string, hint: string, holder: () => Holder | undefined): never {
  if (err instanceof NativeError && err.errno === EAGAIN) throw new InstanceLockedError(what, path, holder(), hint);
  throw err;
}

/**
 * An exclusive flock on `lockFile` for as long as this process lives (or until release), recording who
 * holds it. The kernel releases the lock when the holder dies, however it dies, so a killed governor never
 * locks out the next one, and a pid that was reused never keeps a lock alive (as a pid file alone would).
 */
export function lockInstance(what: string, lockFile: string, hint: string, native = new KoffiNative()): InstanceLock {
  let fd: number;
  try {
    fd = native.lockFile(lockFile, 0o644);
  } catch (err) {
    refusedOrThrow(err, what, lockFile, hint, () => readHolder(lockFile));
  }
  const holder: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: process.argv.slice(1).join(' ') };
  ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
  return { release: () => closeQuietly(fd) };
}

/** The same for a directory that can hold no file of ours (a cgroup directory); the holder is named from /proc/locks. */
export function lockDirectory(what: string, dir: string, hint: string, native = new KoffiNative()): InstanceLock {
  let fd: number;
  try {
    fd = native.lockDir(dir);
  } catch (err) {
    refusedOrThrow(err, what, dir, hint, () => flockHolder(dir));
  }
  return { release: () => closeQuietly(fd) };
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closed already
  }
}
