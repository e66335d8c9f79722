import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from './reconcile-queue';
import { TenantWaits } from './tenant-waits';

class SteppedClock implements Clock {
  time = 1_000;
  now(): number {
    return this.time;
  }
  after(): { cancel(): void } {
    return { cancel: () => undefined };
  }
}

describe('TenantWaits', () => {
  it('looks again soon, then less often, and never past the deadline', () => {
    const clock = new SteppedClock();
    const waits = new TenantWaits(clock, { reclaim: 500, freeze: 10_000, kill: 10_000 });
    const delays: number[] = [];
    for (;;) {
      const state = waits.wait('shrink', 'reclaim', 4);
      if (state.overdue) break;
      delays.push(state.retryAfterMs);
      clock.time += state.retryAfterMs;
    }
    assert.deepEqual(delays, [50, 100, 200, 150]);
    assert.equal(clock.time - 1_000, 500);
  });

  it('reports a wait past its deadline with the time waited, and keeps looking at most every 5 s', () => {
    const clock = new SteppedClock();
    const waits = new TenantWaits(clock, { reclaim: 5_000, freeze: 10_000, kill: 10_000 });
    waits.wait('shrink', 'reclaim', 4);
    clock.time += 60_000;
    const state = waits.wait('shrink', 'reclaim', 4);
    assert.deepEqual({ overdue: state.overdue, waitedMs: state.waitedMs }, { overdue: true, waitedMs: 60_000 });
    assert.ok(state.retryAfterMs <= 5_000);
  });

  it('says a wait is newly overdue at the first look past its deadline only, and again for the next wait', () => {
    const clock = new SteppedClock();
    const waits = new TenantWaits(clock, { reclaim: 5_000, freeze: 10_000, kill: 1_000 });
    assert.equal(waits.wait('gone', 'kill', 3).newlyOverdue, false);
    clock.time += 1_000;
    const looks = [waits.wait('gone', 'kill', 3), waits.wait('gone', 'kill', 3), waits.wait('gone', 'kill', 3)];
    assert.deepEqual(
      looks.map((look) => [look.overdue, look.newlyOverdue]),
      [
        [true, true],
        [true, false],
        [true, false],
      ],
    );
    waits.done('gone');
    waits.wait('gone', 'kill', 3);
    clock.time += 1_000;
    assert.equal(waits.wait('gone', 'kill', 3).newlyOverdue, true);
  });

  it('starts the clock again for a new generation or another kind of wait, and forgets a wait that is done', () => {
    const clock = new SteppedClock();
    const waits = new TenantWaits(clock);
    waits.wait('t', 'reclaim', 1);
    clock.time += 3_000;
    assert.equal(waits.wait('t', 'reclaim', 2).waitedMs, 0);
    clock.time += 3_000;
    assert.equal(waits.wait('t', 'freeze', 2).waitedMs, 0);
    waits.done('t');
    assert.equal(waits.waiting('t'), undefined);
  });
});
