import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Reply, Tenant, Workload } from '../support/api';
import { hostScratch } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

// Issue 12 defect 17: a full run directory lost exit codes. The run directory here is a small tmpfs of the
// test's own, filled up while workloads run.
const host = hostScratch('rundir-full');
const { runDir } = host;
const filler = join(runDir, 'filler');
let gov: TestGovernor;

before(async () => {
  mkdirSync(runDir, { recursive: true, mode: 0o711 });
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0711', 'governor-test-rundir', runDir], { encoding: 'utf8' });
  assert.equal(mount.status, 0, mount.stderr);
  gov = await startGovernor({ ...host.env, GOVERNOR_NET_POOL: '10.246.0.0/25', GOVERNOR_RESYNC_INTERVAL: '2s' });
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

async function run(body: object): Promise<Workload> {
  const res: Reply<Workload> = await gov.http.post('/v1/tenants/full/workloads').set('Authorization', gov.root).send(body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

async function settled(id: string, until = (w: Workload) => !['starting', 'running'].includes(w.state), ms = 20_000): Promise<Workload> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res: Reply<Workload> = await gov.http.get(`/v1/tenants/full/workloads/${id}`).set('Authorization', gov.root);
    if (until(res.body)) return res.body;
    assert.ok(Date.now() < deadline, JSON.stringify(res.body));
    await sleep(100);
  }
}

/** Writes the run directory's tmpfs full: big chunks, then pages, until ENOSPC. */
function fill(): void {
  const fd = openSync(filler, 'a');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
}

const fullEvents = async (id: string) =>
  gov.query<{ message: string }>(`SELECT message FROM tenant_events WHERE detail->>'workload' = $1 AND detail->>'condition' = 'run-dir-full'`, [id]);

describe('a full run directory', () => {
  before(async () => {
    await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'full' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res: Reply<Tenant> = await gov.http.get('/v1/tenants/full').set('Authorization', gov.root);
      if (res.body.status?.observedGeneration === 1) break;
      assert.ok(Date.now() < deadline, JSON.stringify(res.body.status));
      await sleep(100);
    }
  });

  it('keeps the exit code of a workload that ends while it is full, and says that it is full', async () => {
    const started = await run({ command: ['/bin/sh', '-c', 'sleep 3; exit 7'] });
    await settled(started.id, (w) => w.state === 'running');
    fill();
    try {
      const done = await settled(started.id);
      assert.deepEqual({ state: done.state, exitCode: done.exitCode }, { state: 'exited', exitCode: 7 }, JSON.stringify(done));
      const events = await fullEvents(started.id);
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.match(events[0].message, new RegExp(`the run directory ${runDir} is full`));
    } finally {
      rmSync(filler, { force: true });
    }
  });

  it('holds an exit status its monitor cannot write until there is room, and reports the workload still running meanwhile', async () => {
    const started = await run({ command: ['/bin/sh', '-c', 'sleep 1; exit 5'] });
    await settled(started.id, (w) => w.state === 'running');
    // Without the page the monitor set aside at start (it keeps the unlinked file open, and a short status frees
    // none of its one page), writing the status needs a new page: the retry path.
    rmSync(join(runDir, 'workloads', started.id, '.status.reserved'), { force: true });
    fill();
    try {
      await sleep(4000);
      const waiting = await settled(started.id, () => true);
      assert.equal(waiting.state, 'running', JSON.stringify(waiting));
      assert.equal((await fullEvents(started.id)).length, 1, 'the full run directory is reported');
    } finally {
      rmSync(filler, { force: true });
    }
    const done = await settled(started.id, undefined, 15_000);
    assert.deepEqual({ state: done.state, exitCode: done.exitCode }, { state: 'exited', exitCode: 5 }, JSON.stringify(done));
  });
});
