/**
 * Reading many cgroups' files for a scrape without flooding the thread pool. Every CgroupFs.read is one
 * koffi call on libuv's pool (openat2, read, close), and every koffi call of the process passes one gate
 * (koffi-runtime.ts: at most 32 in flight, as many as koffi keeps call memory for), so a scrape keeps a few
 * reads in flight, shares the pool with the reconciler's writes, and never queues thousands of calls at once.
 */

import { CallGate } from '../../native/src/call-gate';

/** What a collector needs of cgroupfs. CgroupFs satisfies it; unit tests pass a fixture tree. */
export interface CgroupFileReader {
  /** A file's text, or undefined when it does not exist (a missing controller, a removed cgroup). */
  read(dir: string, file: string): Promise<string | undefined>;
  /** Every file of a list in one call, where the reader can (CgroupFs: one native call on one worker). */
  readList?(list: CgroupFileList): Promise<FileListRead>;
}

/**
 * The files of many cgroups below ROOT, named before any is read, so that a scrape reads them all in one
 * call. Each file is listed once however many ask for it, and a directory's files lie together (one open
 * of the directory for all of them). Built once per change of the tenants, read at every scrape.
 */
export class CgroupFileList {
  private readonly byDir = new Map<string, string[]>();
  private sealed: { entries: ReadonlyArray<readonly [string, string]>; index: Map<string, Map<string, number>> } | undefined;

  add(dir: string, file: string): void {
    if (this.sealed !== undefined) throw new Error(`the file list is sealed: ${dir}/${file} comes too late`);
    const files = this.byDir.get(dir);
    if (files === undefined) this.byDir.set(dir, [file]);
    else if (!files.includes(file)) files.push(file);
  }

  /** Every (dir, file) in the order they are read; the list takes no more files once asked. */
  get entries(): ReadonlyArray<readonly [dir: string, file: string]> {
    return this.seal().entries;
  }

  /** Where (dir, file) is in `entries`; undefined when it was never added. */
  indexOf(dir: string, file: string): number | undefined {
    return this.seal().index.get(dir)?.get(file);
  }

  private seal() {
    if (this.sealed === undefined) {
      const entries: Array<readonly [string, string]> = [];
      const index = new Map<string, Map<string, number>>();
      for (const [dir, files] of this.byDir) {
        const at = new Map<string, number>();
        for (const file of files) {
          at.set(file, entries.length);
          entries.push([dir, file]);
        }
        index.set(dir, at);
      }
      this.sealed = { entries, index };
    }
    return this.sealed;
  }
}

/**
 * A list's files, in its order: each text, undefined for a file that does not exist; and for each file
 * that exists but could not be read, its error (its text is undefined too).
 */
export interface FileListRead {
  texts: Array<string | undefined>;
  errors: Map<number, unknown>;
}

/**
 * Reads a whole list: in one call where the reader can, else file by file with at most `inFlight` reads
 * in flight (a reader of plain files, as unit tests use).
 */
export async function readList(reader: CgroupFileReader, list: CgroupFileList, inFlight: number): Promise<FileListRead> {
  if (reader.readList !== undefined) return reader.readList(list);
  const entries = list.entries;
  const read: FileListRead = { texts: new Array<string | undefined>(entries.length).fill(undefined), errors: new Map() };
  const bounded = new BoundedReader(reader, inFlight);
  await Promise.all(
    entries.map(async ([dir, file], i) => {
      try {
        read.texts[i] = await bounded.read(dir, file);
      } catch (err) {
        read.errors.set(i, err);
      }
    }),
  );
  return read;
}

/** Reads through another reader with at most `limit` reads in flight; the rest wait in order (a CallGate). */
export class BoundedReader implements CgroupFileReader {
  private readonly gate: CallGate;

  constructor(
    private readonly reader: CgroupFileReader,
    readonly limit: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a read limit must be a positive integer, not ${limit}`);
    this.gate = new CallGate(limit);
  }

  /** Reads in flight now, for tests and the benchmark. */
  get inFlight(): number {
    return this.gate.inFlight;
  }

  read(dir: string, file: string): Promise<string | undefined> {
    return this.gate.run(() => this.reader.read(dir, file));
  }
}

/** Runs fn over items with at most `concurrency` of them in progress, in order of start. */
export async function eachBounded<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}
