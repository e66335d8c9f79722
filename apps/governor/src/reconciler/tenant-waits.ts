import type { Clock } from './reconcile-queue';

/** What a tenant's reconcile can wait on the kernel for: reclaim under a lowered memory.high, a freeze, a kill. */
export type WaitKind = 'reclaim' | 'freeze' | 'kill';

/** How long each wait may take before the tenant's status says so (the waits the driver used to hold inline). */
export const WAIT_DEADLINES_MS: Record<WaitKind, number> = { reclaim: 5_000, freeze: 10_000, kill: 10_000 };

/** The first look again comes this soon; each later one twice as late, up to the caps below. */
const FIRST_RETRY_MS = 50;
const RETRY_CAP_MS = 1_000;
/** Past its deadline a wait is reported, and looked at again less often. */
const OVERDUE_RETRY_CAP_MS = 5_000;

export interface WaitState {
  /** how long the tenant has waited for this, over every look */
  waitedMs: number;
  /** the deadline has passed: the status says what it waits for */
  overdue: boolean;
  /** this is the first look past the deadline: the one time a log line or a status write says so */
  newlyOverdue: boolean;
  /** when to look again */
  retryAfterMs: number;
}

/**
 * Per-tenant deadlines of the waits that used to sleep inside a reconcile. A reconcile that finds the kernel
 * not done looks once, records the wait here and returns with a requeue; the worker is free meanwhile. A
 * wait is for one thing at one generation: a new change starts its clock again.
 */
export class TenantWaits {
  private readonly waits = new Map<string, { kind: WaitKind; generation: number; since: number; looks: number; reported: boolean }>();

  constructor(
    private readonly clock: Clock,
    private readonly deadlines: Record<WaitKind, number> = WAIT_DEADLINES_MS,
  ) {}

  wait(name: string, kind: WaitKind, generation: number): WaitState {
    const now = this.clock.now();
    let wait = this.waits.get(name);
    if (wait === undefined || wait.kind !== kind || wait.generation !== generation) {
      wait = { kind, generation, since: now, looks: 0, reported: false };
      this.waits.set(name, wait);
    }
    wait.looks += 1;
    const waitedMs = now - wait.since;
    const left = this.deadlines[kind] - waitedMs;
    const backoff = FIRST_RETRY_MS * 2 ** Math.min(wait.looks - 1, 10);
    if (left > 0) return { waitedMs, overdue: false, newlyOverdue: false, retryAfterMs: Math.max(1, Math.min(backoff, RETRY_CAP_MS, left)) };
    const newlyOverdue = !wait.reported;
    wait.reported = true;
    return { waitedMs, overdue: true, newlyOverdue, retryAfterMs: Math.min(backoff, OVERDUE_RETRY_CAP_MS) };
  }

  /** The tenant waits for nothing (any more). */
  done(name: string): void {
    this.waits.delete(name);
  }

  /** How long the tenant has waited so far at this generation, whatever for; 0 when it waits for nothing. */
  waitedMs(name: string, generation: number): number {
    const wait = this.waits.get(name);
    return wait === undefined || wait.generation !== generation ? 0 : this.clock.now() - wait.since;
  }

  waiting(name: string): WaitKind | undefined {
    return this.waits.get(name)?.kind;
  }
}
