import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DirFd, GovernorNative } from '../../native/src/native.types';
import { NativeError } from '../../native/src/native.error';
import { fileIn } from './layout';

/** A refused cgroup write: which file, which value, and the errno, as DESIGN §3 asks of every write. */
export class CgroupWriteError extends Error {
  constructor(
    readonly file: string,
    readonly value: string,
    readonly code: string,
    cause?: unknown,
  ) {
    super(`writing ${JSON.stringify(value)} to ${file} failed: ${code}`, { cause });
    this.name = 'CgroupWriteError';
  }
}

export interface RemoveOptions {
  /** attempts for EBUSY (a cgroup whose last process is still exiting) */
  attempts?: number;
}

/**
 * The one door to Governor's cgroup subtree. Every read and write goes through the native library, which
 * resolves the path beneath ROOT's directory fd, and every write is counted and, when refused, reported
 * with its file and value.
 */
export class CgroupFs {
  /** every successful write since start, for governor_cgroup_writes_total */
  writes = 0;
  private readonly listeners: Array<(file: string, value: string) => void> = [];

  private constructor(
    readonly root: string,
    private readonly native: GovernorNative,
    private readonly dir: DirFd,
  ) {}

  /** Creates ROOT if needed, mode 0711 so that host users cannot list tenant names, and opens it. */
  static open(root: string, native: GovernorNative): CgroupFs {
    mkdirSync(root, { recursive: true, mode: 0o711 });
    chmodSync(root, 0o711);
    return new CgroupFs(root, native, native.openDir(root));
  }

  close(): void {
    this.native.close(this.dir);
  }

  onWrite(listener: (file: string, value: string) => void): void {
    this.listeners.push(listener);
  }

  /** The absolute path of a directory or file below ROOT, for messages and status. */
  absolute(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  /** A file's content, or undefined when it does not exist (a missing controller, a removed cgroup). */
  async read(dir: string, file: string): Promise<string | undefined> {
    try {
      return await this.native.readFile(this.dir, fileIn(dir, file));
    } catch (err) {
      if (err instanceof NativeError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  readSync(dir: string, file: string): string | undefined {
    try {
      return this.native.readFileSync(this.dir, fileIn(dir, file));
    } catch (err) {
      if (err instanceof NativeError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Writes one value. Runs on a worker thread: memory.max and memory.high can block in reclaim, and on
   * kernels up to 6.1 O_NONBLOCK does not prevent that.
   */
  async write(dir: string, file: string, value: string): Promise<void> {
    const rel = fileIn(dir, file);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.native.writeFile(this.dir, rel, value, { nonblock: file === 'memory.max' || file === 'memory.high' });
        break;
      } catch (err) {
        // A pid that is still being set up by fork can be refused with EINVAL for a moment (runc retries too).
        if (file === 'cgroup.procs' && err instanceof NativeError && err.code === 'EINVAL' && attempt < 5) {
          await sleep(5 * attempt);
          continue;
        }
        throw new CgroupWriteError(this.absolute(rel), value, err instanceof NativeError ? err.code : 'EIO', err);
      }
    }
    this.writes += 1;
    for (const listener of this.listeners) listener(this.absolute(rel), value);
  }

  /** mkdir that treats an existing directory as done. */
  ensureDir(rel: string): boolean {
    try {
      this.native.mkdir(this.dir, rel, 0o755);
      return true;
    } catch (err) {
      if (err instanceof NativeError && err.code === 'EEXIST') return false;
      throw err;
    }
  }

  /** Whether a file exists; some cannot be read at all (cgroup.kill is write-only). */
  hasFile(dir: string, file: string): boolean {
    return existsSync(this.absolute(fileIn(dir, file)));
  }

  exists(rel: string): boolean {
    try {
      this.native.close(this.native.openDir(this.absolute(rel)));
      return true;
    } catch (err) {
      if (err instanceof NativeError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return false;
      throw err;
    }
  }

  /** Names of the child cgroups of a directory below ROOT; none when it does not exist. */
  children(rel: string): string[] {
    try {
      return readdirSync(this.absolute(rel), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * Removes a cgroup and everything below it, leaves first. ENOENT counts as done; EBUSY (its last
   * process has not quite left) is retried with a growing backoff.
   */
  async removeTree(rel: string, options: RemoveOptions = {}): Promise<void> {
    for (const child of this.children(rel)) await this.removeTree(`${rel}/${child}`, options);
    const attempts = options.attempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      try {
        this.native.rmdir(this.dir, rel);
        return;
      } catch (err) {
        if (err instanceof NativeError && err.code === 'ENOENT') return;
        if (err instanceof NativeError && err.code === 'EBUSY' && attempt < attempts) {
          await sleep(Math.min(10 * 2 ** attempt, 1000));
          continue;
        }
        throw err;
      }
    }
  }
}
