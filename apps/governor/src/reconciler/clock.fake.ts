import type { Clock } from './reconcile-queue';

/** A clock that moves only when told to, firing its timers in order: for unit tests of the loop. */
export class FakeClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fire: () => void; live: boolean }> = [];

  now(): number {
    return this.time;
  }

  after(ms: number, fire: () => void): { cancel(): void } {
    const timer = { at: this.time + ms, fire, live: true };
    this.timers.push(timer);
    return { cancel: () => (timer.live = false) };
  }

  /** Timers still to fire. */
  get pending(): number {
    return this.timers.filter((t) => t.live).length;
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      next.live = false;
      this.time = next.at;
      next.fire();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.time = until;
  }
}
