/**
 * At most `limit` calls in flight; the others wait their turn, first come first served. A slot is released
 * whatever the call's outcome.
 */
export class CallGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next caller, so a newcomer cannot take it in between.
      if (next !== undefined) next();
      else this.running -= 1;
    }
  }
}
