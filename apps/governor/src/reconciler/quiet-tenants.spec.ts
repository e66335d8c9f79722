import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostChanges } from '../../../../libs/native/src/host-watch';
import { QuietTenants, type QuietWatch } from './quiet-tenants';

const FULL_MS = 600_000;
const RUN = '/run/gov';

/** The kernel's side, by hand: what is watched, what happened since the last drain, the mount table. */
class HandWatch implements QuietWatch {
  readonly dirs = new Map<string, number>();
  readonly pids = new Set<number>();
  gone = new Set<string>();
  pending: HostChanges = HandWatch.none();
  mounts = new Map<string, string>([
    [`${RUN}/ns/acme/net`, 'net:[1] nsfs'],
    [`${RUN}/ns/beta/net`, 'net:[2] nsfs'],
    [`${RUN}/homes/acme`, '/ /dev/loop1'],
  ]);

  static none(): HostChanges {
    return { dirs: new Set(), links: new Set(), nsids: new Set(), pids: new Set(), mounts: false, overflow: false };
  }

  watchDir(path: string): Promise<number | undefined> {
    if (this.gone.has(path)) return Promise.resolve(undefined);
    if (!this.dirs.has(path)) this.dirs.set(path, this.dirs.size + 1);
    return Promise.resolve(this.dirs.get(path));
  }
  watchPid(pid: number): boolean {
    this.pids.add(pid);
    return true;
  }
  drain(): HostChanges {
    const changes = this.pending;
    this.pending = HandWatch.none();
    return changes;
  }
  mountsUnder(under: string): Map<string, string> {
    return new Map([...this.mounts].filter(([point]) => point.startsWith(under)));
  }
}

function setup(fullCheckIntervalMs = FULL_MS) {
  const watch = new HandWatch();
  let now = 1_000_000;
  const quiet = new QuietTenants({ hostWatch: () => watch }, { fullCheckIntervalMs, runDir: RUN }, { now: () => now }, () => 1);
  /** One full check that found the tenant in sync (acme: wd 1, init 100, host end 7, nsid 3; beta: 2, 200, 8, 4). */
  const check = async (name: 'acme' | 'beta', desired = 'g1') => {
    const at = await quiet.starts(name, `/sys/fs/cgroup/t/${name}`, name === 'acme' ? 100 : 200);
    quiet.inSync(name, at, desired, name === 'acme' ? 100 : 200, name === 'acme' ? { hostIndex: 7, nsid: 3 } : { hostIndex: 8, nsid: 4 });
  };
  return { watch, quiet, check, later: (ms: number) => (now += ms) };
}

describe('QuietTenants', () => {
  it('skips a tenant found in sync until the kernel says something of it changed, and only that tenant', async () => {
    const t = setup();
    t.quiet.refresh();
    await t.check('acme');
    await t.check('beta');
    t.quiet.refresh();
    assert.equal(t.quiet.quiet('acme', 'g1'), true);
    assert.equal(t.quiet.quiet('beta', 'g1'), true);
    t.watch.pending.dirs.add(t.watch.dirs.get('/sys/fs/cgroup/t/acme')!);
    t.quiet.refresh();
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'a write to its cgroup directory');
    assert.equal(t.quiet.quiet('beta', 'g1'), true);
  });

  it('hears each kind of change: host end, namespace, init exit, mounts, lost events', async () => {
    const cases: Array<[string, (w: HandWatch) => void]> = [
      ['its host end', (w) => w.pending.links.add(7)],
      ['its namespace', (w) => w.pending.nsids.add(3)],
      ['its init exited', (w) => w.pending.pids.add(100)],
      ['its net namespace unmounted', (w) => (w.mounts.delete(`${RUN}/ns/acme/net`), (w.pending.mounts = true))],
      ['another namespace in its place', (w) => (w.mounts.set(`${RUN}/ns/acme/net`, 'net:[9] nsfs'), (w.pending.mounts = true))],
      ['its home unmounted', (w) => (w.mounts.delete(`${RUN}/homes/acme`), (w.pending.mounts = true))],
      ['lost events', (w) => (w.pending.overflow = true)],
    ];
    for (const [what, touch] of cases) {
      const t = setup();
      t.quiet.refresh();
      await t.check('acme');
      await t.check('beta');
      touch(t.watch);
      t.quiet.refresh();
      assert.equal(t.quiet.quiet('acme', 'g1'), false, what);
      assert.equal(t.quiet.quiet('beta', 'g1'), what === 'lost events' ? false : true, `${what}: not beta`);
    }
  });

  it('ignores what names no tenant: another link, another namespace, another mount', async () => {
    const t = setup();
    t.quiet.refresh();
    await t.check('acme');
    t.watch.pending.links.add(70);
    t.watch.pending.nsids.add(30);
    t.watch.mounts.set('/run/other/ns/x/net', 'net:[5] nsfs');
    t.watch.pending.mounts = true;
    t.quiet.refresh();
    assert.equal(t.quiet.quiet('acme', 'g1'), true);
  });

  it('checks again a tenant touched while its check ran, even when the check ends after the drain that heard it', async () => {
    const t = setup();
    t.quiet.refresh();
    const at = await t.quiet.starts('acme', '/sys/fs/cgroup/t/acme', 100);
    t.watch.pending.nsids.add(3);
    t.quiet.refresh(); // the next resync starts while the check still runs
    t.quiet.inSync('acme', at, 'g1', 100, { hostIndex: 7, nsid: 3 });
    assert.equal(t.quiet.quiet('acme', 'g1'), false);
  });

  it('checks in full a changed desired state, a tenant due for its full check, and one not found in sync', async () => {
    const t = setup();
    t.quiet.refresh();
    await t.check('acme');
    assert.equal(t.quiet.quiet('acme', 'g2'), false, 'another generation');
    t.later(FULL_MS - 1);
    assert.equal(t.quiet.quiet('acme', 'g1'), true);
    t.later(1);
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'due for its full check');
    await t.check('acme');
    t.quiet.forget('acme');
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'forgotten');
  });

  it('never skips what it could not watch from the check start: no cgroup directory, no init, a new init, no link, a full check interval of 0s', async () => {
    const t = setup();
    t.quiet.refresh();
    t.watch.gone.add('/sys/fs/cgroup/t/acme');
    await t.check('acme');
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'no cgroup directory');
    t.watch.gone.clear();
    let at = await t.quiet.starts('acme', '/sys/fs/cgroup/t/acme', null);
    t.quiet.inSync('acme', at, 'g1', 100, { hostIndex: 7, nsid: 3 });
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'the init was not known at the start');
    at = await t.quiet.starts('acme', '/sys/fs/cgroup/t/acme', 100);
    t.quiet.inSync('acme', at, 'g1', 101, { hostIndex: 7, nsid: 3 });
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'another init at the end');
    at = await t.quiet.starts('acme', '/sys/fs/cgroup/t/acme', 100);
    t.quiet.inSync('acme', at, 'g1', 100, undefined);
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'no link');
    at = await t.quiet.starts('acme', '/sys/fs/cgroup/t/acme', 100);
    t.quiet.inSync('acme', at, 'g1', 100, { hostIndex: 7, nsid: -1 });
    assert.equal(t.quiet.quiet('acme', 'g1'), false, 'no nsid');
    const off = setup(0);
    off.quiet.refresh();
    await off.check('acme');
    assert.equal(off.quiet.quiet('acme', 'g1'), false, 'GOVERNOR_FULL_CHECK_INTERVAL=0s');
  });

  it('does without a host watch: nothing is skipped', async () => {
    const quiet = new QuietTenants({ hostWatch: () => undefined }, { fullCheckIntervalMs: FULL_MS, runDir: RUN });
    quiet.refresh();
    const at = await quiet.starts('acme', '/sys/fs/cgroup/t/acme', 100);
    quiet.inSync('acme', at, 'g1', 100, { hostIndex: 7, nsid: 3 });
    assert.equal(quiet.quiet('acme', 'g1'), false);
  });
});
