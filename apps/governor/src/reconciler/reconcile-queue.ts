/** The time and timers the queue runs on: the system's in the service, a fake one in unit tests. */
export interface Clock {
  now(): number;
  after(ms: number, fire: () => void): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fire) {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * `change`: named in a NOTIFY, or coming back from a wait (reclaim, freeze, kill) of its own; `resync`: the
 * periodic pass over every tenant. Changes are taken first, so a change never waits behind a full pass.
 */
export type ReconcilePriority = 'change' | 'resync';

/** What one reconcile asks of the queue: come back after this long (a wait that frees the worker meanwhile). */
export interface ReconcileOutcome {
  requeueAfterMs?: number;
}

export interface ReconcileQueueOptions {
  /** at most this many names are worked on at once */
  workers: number;
  clock?: Clock;
  /** called whenever the last running reconcile ends and nothing is queued (timed requeues may still wait) */
  idle?: () => void;
}

/**
 * A bounded pool of workers over a two-level priority queue of tenant names, as kubelet's pod workers and
 * controller-runtime's work queue do it: a name is worked on by one worker at a time; a name added while
 * it runs is queued again once, when it ends; a reconcile that waits on the kernel (reclaim under a lowered
 * memory.high, a freeze, a kill) returns with a delay and frees its worker, and comes back at that time
 * unless something else brings it back sooner.
 */
export class ReconcileQueue {
  private readonly changes = new Set<string>();
  private readonly resyncs = new Set<string>();
  private readonly running = new Set<string>();
  /** names added while they ran, with the most urgent priority they were added with */
  private readonly again = new Map<string, ReconcilePriority>();
  private readonly timed = new Map<string, { at: number; cancel(): void }>();
  private readonly clock: Clock;
  private stopped = false;
  private drained: Array<() => void> = [];

  constructor(
    /** `priority`: how the name was taken off the queue (a change is read fresh; a resync may use what it read) */
    private readonly reconcile: (name: string, priority: ReconcilePriority) => Promise<ReconcileOutcome | undefined>,
    private readonly options: ReconcileQueueOptions,
  ) {
    if (!(Number.isInteger(options.workers) && options.workers >= 1))
      throw new RangeError(`workers must be a whole number of at least 1, not ${options.workers}`);
    this.clock = options.clock ?? systemClock;
  }

  add(name: string, priority: ReconcilePriority): void {
    if (this.stopped) return;
    if (this.running.has(name)) {
      if (this.again.get(name) !== 'change') this.again.set(name, priority);
      return;
    }
    this.timed.get(name)?.cancel();
    this.timed.delete(name);
    if (priority === 'change') {
      this.resyncs.delete(name);
      this.changes.add(name);
    } else if (!this.changes.has(name)) {
      this.resyncs.add(name);
    }
    this.pump();
  }

  /** Names queued or running now (not those waiting for a timed requeue). */
  get depth(): number {
    return this.changes.size + this.resyncs.size + this.running.size;
  }

  get active(): number {
    return this.running.size;
  }

  /** When a name waits for a timed requeue: the clock's time it comes back at. */
  dueAt(name: string): number | undefined {
    return this.timed.get(name)?.at;
  }

  /** Resolves once nothing is queued or running. */
  async settled(): Promise<void> {
    if (this.depth === 0) return;
    await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Takes nothing new, drops what waits, and resolves when the reconciles running now have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.changes.clear();
    this.resyncs.clear();
    this.again.clear();
    for (const wait of this.timed.values()) wait.cancel();
    this.timed.clear();
    await this.settled();
  }

  private pump(): void {
    while (this.running.size < this.options.workers) {
      const change = first(this.changes);
      const name = change ?? first(this.resyncs);
      if (name === undefined) break;
      this.changes.delete(name);
      this.resyncs.delete(name);
      this.running.add(name);
      void this.run(name, change === undefined ? 'resync' : 'change');
    }
  }

  private async run(name: string, priority: ReconcilePriority): Promise<void> {
    let outcome: ReconcileOutcome | undefined;
    try {
      outcome = await this.reconcile(name, priority);
    } catch {
      // The reconcile reports its own failures (in the tenant's status); the queue only keeps going.
      outcome = undefined;
    }
    this.running.delete(name);
    const again = this.again.get(name);
    this.again.delete(name);
    if (again !== undefined) this.add(name, again);
    else if (outcome?.requeueAfterMs !== undefined && !this.stopped) this.later(name, outcome.requeueAfterMs);
    this.pump();
    if (this.depth === 0) {
      const waiting = this.drained;
      this.drained = [];
      for (const resolve of waiting) resolve();
      if (!this.stopped) this.options.idle?.();
    }
  }

  private later(name: string, ms: number): void {
    const at = this.clock.now() + ms;
    const timer = this.clock.after(ms, () => {
      if (this.timed.get(name) !== wait) return;
      this.timed.delete(name);
      this.add(name, 'change');
    });
    const wait = { at, cancel: () => timer.cancel() };
    this.timed.set(name, wait);
  }
}

function first(names: Set<string>): string | undefined {
  for (const name of names) return name;
  return undefined;
}
