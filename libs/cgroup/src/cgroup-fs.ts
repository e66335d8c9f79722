import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants } from 'node:os';
import { type DirFd, type FileWrite, type GovernorNative, TreeList } from '../../native/src/native.types';
import { CgroupFileList, type FileListRead } from './collect';
import { NativeError } from '../../native/src/native.error';
import { CgroupPathError, fileIn } from './layout';

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
 * A batch names a cgroup's files and, for its fixed children (workloads/, attached/), theirs: one level of
 * child directory, never "..", then a file name as fileIn allows it.
 */
function batchPath(dir: string, name: string): string {
  const parts = name.split('/');
  const file = parts.pop() ?? '';
  if (parts.length > 1 || parts.some((part) => !/^[a-z][a-z0-9-]{0,31}$/.test(part))) throw new CgroupPathError('the batch file name', name);
  return fileIn(parts.length === 0 ? dir : dir === '' ? parts[0] : `${dir}/${parts[0]}`, file);
}

/** A list of at least this many files is read in LIST_PARTS native calls at once instead of one. */
const LIST_PART_MIN = 512;
const LIST_PARTS = 2;

/**
 * The one door to Governor's cgroup subtree. Every read and write goes through the native library, which
 * resolves the path beneath ROOT's directory fd, and every write is counted and, when refused, reported
 * with its file and value.
 */
export class CgroupFs {
  /** every successful write since start, for governor_cgroup_writes_total */
  writes = 0;
  /** batched reads (one native call each) since start */
  batchReads = 0;
  private readonly listeners: Array<(file: string, value: string) => void> = [];
  private readonly treeLists = new WeakMap<CgroupFileList, Array<{ first: number; tree: TreeList }>>();

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

  /**
   * The same files of many child cgroups of `dir`, `perCall` children to a list read (readList: one native
   * call on a worker, or two side by side for a long list): per child, its snapshot as readMany gives it (a
   * child that does not exist has every file absent). A sample of every tenant then costs a few trips to a
   * worker instead of one per tenant. Names are checked as readMany does; any errno but ENOENT throws.
   */
  async readAcross(dir: string, children: readonly string[], files: readonly string[], perCall = 128): Promise<Map<string, Map<string, string | undefined>>> {
    for (const child of children) for (const file of files) batchPath(dir, `${child}/${file}`);
    const snapshots = new Map<string, Map<string, string | undefined>>();
    for (let i = 0; i < children.length; i += perCall) {
      const group = children.slice(i, i + perCall);
      const list = new CgroupFileList();
      const childDir = (child: string) => (dir === '' ? child : `${dir}/${child}`);
      for (const child of group) for (const file of files) list.add(childDir(child), file);
      const read = await this.readList(list);
      const failure = read.errors.values().next();
      if (failure.done !== true) throw failure.value;
      for (const child of group) {
        const at = (file: string) => list.indexOf(childDir(child), file);
        snapshots.set(child, new Map(files.map((file) => [file, read.texts[at(file) ?? -1]])));
      }
    }
    return snapshots;
  }

  /**
   * Many files of one cgroup in one native call on one worker: the file's text, or undefined when it does
   * not exist. Undefined as a whole when the cgroup itself does not exist. Any other errno names its file.
   */
  async readMany(dir: string, files: readonly string[]): Promise<Map<string, string | undefined> | undefined> {
    for (const file of files) batchPath(dir, file);
    let results;
    try {
      results = await this.native.readFiles(this.dir, dir, files);
    } catch (err) {
      if (err instanceof NativeError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
      throw err;
    }
    this.batchReads += 1;
    const snapshot = new Map<string, string | undefined>();
    for (const result of results) {
      if (result.errno === undefined) snapshot.set(result.name, result.text);
      else if (result.errno === 'ENOENT') snapshot.set(result.name, undefined);
      else throw new NativeError('readFiles', this.absolute(batchPath(dir, result.name)), constants.errno[result.errno as keyof typeof constants.errno] ?? 0);
    }
    return snapshot;
  }

  /**
   * Every file of a list in one native call on one worker (a scrape of every tenant), or, for a list of
   * more than LIST_PART_MIN files, in LIST_PARTS calls side by side, each over a contiguous part of it:
   * the files are read by two cores where the host has them, and the rest of libuv's four workers stay
   * free for the reconciler. Each file's text, undefined when it or its cgroup does not exist, and a
   * NativeError naming the file for any other errno. The parts are encoded for the library once and
   * reused as long as the caller keeps the list.
   */
  async readList(list: CgroupFileList): Promise<FileListRead> {
    let parts = this.treeLists.get(list);
    if (parts === undefined) {
      const entries = list.entries;
      for (const [dir, file] of entries) fileIn(dir, file);
      const count = entries.length < LIST_PART_MIN ? 1 : LIST_PARTS;
      const size = Math.ceil(entries.length / count);
      parts = Array.from({ length: count }, (_, i) => ({ first: i * size, tree: new TreeList(entries.slice(i * size, (i + 1) * size)) }));
      this.treeLists.set(list, parts);
    }
    this.batchReads += parts.length;
    const reads = await Promise.all(parts.map((part) => this.native.readTree(this.dir, part.tree)));
    const texts = reads.length === 1 ? reads[0].texts : reads.flatMap((read) => read.texts);
    const failures = new Map<number, unknown>();
    for (const [p, { errors }] of reads.entries()) {
      for (const [at, code] of errors) {
        if (code === 'ENOENT' || code === 'ENOTDIR') continue;
        const i = parts[p].first + at;
        const [dir, file] = list.entries[i];
        failures.set(i, new NativeError('readList', this.absolute(fileIn(dir, file)), constants.errno[code as keyof typeof constants.errno] ?? 0));
      }
    }
    return { texts, errors: failures };
  }

  /**
   * Applies an ordered write plan in one native call on one worker. The order is a cgroup rule (memory.max
   * before memory.high when raising, the burst before cpu.max when lowering), so the first refused write
   * stops the plan, and it is reported with its file, value and errno like any other write. Every write
   * that was done is counted and announced, per file.
   */
  async writeMany(dir: string, plan: readonly FileWrite[]): Promise<void> {
    if (plan.length === 0) return;
    for (const write of plan) batchPath(dir, write.name);
    // memory.max and memory.high can block in reclaim; O_NONBLOCK means nothing to the other cgroup files.
    const results = await this.native.writeFiles(this.dir, dir, plan, { nonblock: true }).catch((err: unknown) => {
      const first = plan[0];
      throw new CgroupWriteError(this.absolute(batchPath(dir, first.name)), first.value, err instanceof NativeError ? err.code : 'EIO', err);
    });
    for (const result of results) {
      if (result.done) {
        this.writes += 1;
        for (const listener of this.listeners) listener(this.absolute(batchPath(dir, result.name)), result.value);
      } else if (result.errno !== undefined) {
        throw new CgroupWriteError(this.absolute(batchPath(dir, result.name)), result.value, result.errno);
      }
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

  /**
   * An extended attribute of a directory below ROOT: its value, '' when the directory has none by that
   * name, undefined when the directory does not exist.
   */
  async attribute(rel: string, name: string): Promise<string | undefined> {
    try {
      return (await this.native.getXattr(this.dir, rel, name)) ?? '';
    } catch (err) {
      if (err instanceof NativeError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  setAttribute(rel: string, name: string, value: string): void {
    this.native.setXattr(this.dir, rel, name, value);
  }

  /** mkdir that treats an existing directory as done: whether it made it. */
  async ensureDir(rel: string): Promise<boolean> {
    try {
      await this.native.mkdir(this.dir, rel, 0o755);
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
        await this.native.rmdir(this.dir, rel);
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
