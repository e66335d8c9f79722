import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FirewallOutcome, FirewallTenant } from '../../../../libs/network/src';
import { type FirewallReport, FirewallNotAppliedError, FirewallSync, type FirewallTable } from './firewall-sync';

/** A table that records every apply and finishes each one when the test says so. */
class FakeTable implements FirewallTable {
  readonly applies: string[][] = [];
  fail: string | undefined;
  private release: Array<() => void> = [];

  async ensure(tenants: readonly FirewallTenant[]): Promise<FirewallOutcome> {
    this.applies.push(tenants.map((t) => t.hostInterface).sort());
    await new Promise<void>((resolve) => this.release.push(resolve));
    if (this.fail !== undefined) throw new Error(this.fail);
    return { written: true, drift: [] };
  }

  /** Lets every apply started so far finish. */
  async finishAll(): Promise<void> {
    for (;;) {
      const waiting = this.release;
      this.release = [];
      if (waiting.length === 0) return;
      for (const resolve of waiting) resolve();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

class RecordingReport implements FirewallReport {
  readonly problems: Array<string | undefined> = [];
  async applied(): Promise<void> {}
  failed(message: string | undefined): void {
    this.problems.push(message);
  }
}

const entry = (n: number): FirewallTenant => ({
  hostInterface: `gv00000000${n.toString().padStart(2, '0')}`,
  hostAddress: `10.252.0.${2 * n}`,
  tenantAddress: `10.252.0.${2 * n + 1}`,
  outside: false,
});

describe('FirewallSync', () => {
  it('covers a link only once a table with its entry is applied', async () => {
    const table = new FakeTable();
    const sync = new FirewallSync(table, new RecordingReport());
    assert.equal(sync.set('a', entry(1)), true);
    const covered = sync.cover('a');
    assert.equal(sync.covers('a'), false);
    await table.finishAll();
    await covered;
    assert.equal(sync.covers('a'), true);
    assert.equal(sync.set('a', entry(1)), false, 'the same entry again changes nothing');
  });

  it('serves the links of many concurrent reconciles with two applies, not one each', async () => {
    const table = new FakeTable();
    const sync = new FirewallSync(table, new RecordingReport());
    sync.set('t0', entry(0));
    const first = sync.cover('t0');
    const rest = [1, 2, 3, 4, 5].map((n) => {
      sync.set(`t${n}`, entry(n));
      return sync.cover(`t${n}`);
    });
    await table.finishAll();
    await Promise.all([first, ...rest]);
    assert.equal(table.applies.length, 2);
    assert.deepEqual(table.applies[1], [0, 1, 2, 3, 4, 5].map((n) => entry(n).hostInterface).sort());
  });

  it('keeps a link down with the reason when the table cannot be applied, and reports it', async () => {
    const table = new FakeTable();
    const report = new RecordingReport();
    const sync = new FirewallSync(table, report);
    table.fail = 'Operation not permitted';
    sync.set('a', entry(1));
    const refused = assert.rejects(sync.cover('a'), (err: unknown) => err instanceof FirewallNotAppliedError && /Operation not permitted/.test(err.message));
    await table.finishAll();
    await refused;
    assert.deepEqual(report.problems, ['Operation not permitted']);
    table.fail = undefined;
    const again = sync.cover('a');
    await table.finishAll();
    await again;
    assert.deepEqual(report.problems, ['Operation not permitted', undefined]);
  });

  it('says a removed tenant is still in the table until the next apply', async () => {
    const table = new FakeTable();
    const sync = new FirewallSync(table, new RecordingReport());
    sync.set('a', entry(1));
    const done = sync.sync();
    await table.finishAll();
    await done;
    assert.equal(sync.delete('a'), true);
    const again = sync.sync();
    await table.finishAll();
    await again;
    assert.equal(sync.delete('a'), false);
    assert.deepEqual(table.applies.at(-1), []);
  });
});
