/**
 * Reading many cgroups' files for a scrape without flooding the thread pool. Every CgroupFs.read is one
 * koffi call on libuv's pool (openat2, read, close), and koffi refuses more than 256 queued async calls
 * in total and allocates fresh call memory beyond its 8 resident pools, so a scrape keeps a few reads in
 * flight, shares the pool with the reconciler's writes, and never queues thousands of calls at once.
 */

/** What a collector needs of cgroupfs. CgroupFs satisfies it; unit tests pass a fixture tree. */
export interface CgroupFileReader {
  /** A file's text, or undefined when it does not exist (a missing controller, a removed cgroup). */
  read(dir: string, file: string): Promise<string | undefined>;
}

/** Reads through another reader with at most `limit` reads in flight; the rest wait in order. */
export class BoundedReader implements CgroupFileReader {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly reader: CgroupFileReader,
    readonly limit: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a read limit must be a positive integer, not ${limit}`);
  }

  /** Reads in flight now, for tests and the benchmark. */
  get inFlight(): number {
    return this.active;
  }

  async read(dir: string, file: string): Promise<string | undefined> {
    // A finished read hands its slot straight to the next waiter, so that a new caller cannot slip in
    // between and push the count over the limit.
    if (this.active >= this.limit) await new Promise<void>((resume) => this.waiting.push(resume));
    else this.active += 1;
    try {
      return await this.reader.read(dir, file);
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active -= 1;
      else next();
    }
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
