import { constants, hostname } from 'node:os';
import { closeSync, ftruncateSync, readFileSync, writeSync } from 'node:fs';
import { KoffiNative, NativeError } from '../../../../libs/native/src';

const { EAGAIN } = constants.errno;

/** What a lock file says about its holder, so that the one refused can name it. */
interface Holder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export class InstanceLockedError extends Error {
  constructor(
    readonly what: string,
    readonly lockFile: string,
    readonly holder: Holder | undefined,
    hint: string,
  ) {
    const who = holder
      ? `governor pid ${holder.pid} on ${holder.host}, started ${holder.startedAt} (${holder.command})`
      : 'another process (it left no details)';
    super(`${what} is in use by ${who}: ${lockFile} is locked. ${hint}`);
    this.name = 'InstanceLockedError';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number' ? (parsed as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An exclusive flock on `lockFile` for as long as this process lives, recording who holds it. The kernel
 * releases the lock when the holder dies, however it dies, so a killed governor never locks out the next one,
 * and a pid that was reused never keeps a lock alive (as a pid file alone would).
 */
export function lockInstance(what: string, lockFile: string, hint: string, native = new KoffiNative()): { release(): void } {
  let fd: number;
  try {
    fd = native.lockFile(lockFile, 0o644);
  } catch (err) {
    if (err instanceof NativeError && err.errno === EAGAIN) throw new InstanceLockedError(what, lockFile, readHolder(lockFile), hint);
    throw err;
  }
  const holder: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: process.argv.slice(1).join(' ') };
  ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
  return {
    release: () => {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
    },
  };
}
