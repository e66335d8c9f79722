/** Reads many keys in one round trip: what each key maps to, absent for a key that has nothing. */
export type ReadMany<K, V> = (keys: K[]) => Promise<Map<K, V>>;

interface Waiting<K, V> {
  key: K;
  resolve: (value: V | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * Reads by key that arrive in the same turn of the event loop go out as one read of all their keys. The
 * batch is sent at the end of the turn (setImmediate runs after the poll phase that delivered the requests),
 * so each read is issued after every request in it arrived: a read still sees every commit that finished
 * before its request came. A failed read rejects every request of its batch with the same error; a key the
 * read did not return resolves to undefined. Batches are not held back while another is in flight: each turn's
 * batch goes out at once, and the pool below bounds how many run together.
 */
export class ReadCoalescer<K, V> {
  private waiting: Array<Waiting<K, V>> = [];
  private scheduled = false;

  constructor(
    private readonly readMany: ReadMany<K, V>,
    /** the most keys one read carries; a fuller batch goes out at once, without waiting for the turn's end */
    private readonly maxBatch: number,
    private readonly schedule: (send: () => void) => void = setImmediate,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer; got ${maxBatch}`);
  }

  read(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, resolve, reject });
      if (this.waiting.length >= this.maxBatch) this.send();
      else if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(this.sendScheduled);
      }
    });
  }

  private readonly sendScheduled = (): void => {
    this.scheduled = false;
    this.send();
  };

  private send(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    const keys = [...new Set(batch.map((w) => w.key))];
    // Through a promise, so that a readMany that throws before it returns one rejects the batch too.
    const read = Promise.resolve(keys).then(this.readMany);
    read.then(
      (found) => {
        for (const w of batch) w.resolve(found.get(w.key));
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}
