import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Plan, Reply, Workload } from '../../support/api';
import { type GuestTenant, guestSuite } from '../../support/guest-suite';

// The kernel tier: runs inside the QEMU guest (test/kernel/run.sh), where cgroup v2 has every
// controller, against the real API. Each claim is read back from the kernel's own files.
const guest = guestSuite('kernel', { pollMs: 200 });
const { root, children, file, applied, create } = guest;
const keyed = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

async function patch(name: string, body: object, query = ''): Promise<GuestTenant> {
  const res = await guest.gov.http.patch(`/v1/tenants/${name}${query}`).set('Authorization', guest.gov.root).send(body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return applied(name);
}

/** A shell that waits for a line on stdin before running `script`, so it is attached before it does anything. */
function gated(script: string): { child: ChildProcess; go(): void; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn('/bin/sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(child);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, go: () => child.stdin.end('go\n'), exit };
}

async function attach(name: string, pid: number | undefined): Promise<void> {
  const res = await guest.gov.http.post(`/v1/tenants/${name}/processes`).set('Authorization', guest.gov.root).send({ pid });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

describe('enforcement on a cgroup v2 kernel', () => {
  it('writes the quota into the tenant files', async () => {
    const tenant = await create('files', {
      cpu: { max: '0.5', period: '100ms', weight: 200 },
      memory: { max: '64Mi', high: '60Mi', low: '1Mi' },
      pids: { max: 20 },
      cpuset: { cpus: '0' },
    });
    assert.equal(tenant.status.phase, 'Ready', JSON.stringify(tenant.status));
    assert.equal(file('files', 'cpu.max'), '50000 100000');
    assert.equal(file('files', 'cpu.weight'), '200');
    assert.equal(file('files', 'memory.max'), String(64 * 1024 * 1024));
    assert.equal(file('files', 'memory.high'), String(60 * 1024 * 1024));
    assert.equal(file('files', 'memory.low'), String(1024 * 1024));
    assert.equal(file('files', 'pids.max'), '20');
    assert.equal(file('files', 'cpuset.cpus'), '0');
  });

  it('OOM-kills a process that allocates past memory.max, and usage shows the kill', async () => {
    await create('oom', { memory: { max: '64Mi', swapMax: '0' } });
    const hog = gated(`exec /usr/bin/python3 -c "b = bytearray(200 * 1024 * 1024); import time; time.sleep(30)"`);
    await attach('oom', hog.child.pid);
    hog.go();
    const { signal } = await hog.exit;
    assert.equal(signal, 'SIGKILL');
    assert.ok(keyed(file('oom', 'memory.events'), 'oom_kill') >= 1);
    const usage: Reply<{ memory: { events: { oomKill: number } } }> = await guest.gov.http.get('/v1/tenants/oom/usage').set('Authorization', guest.gov.root);
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    assert.ok(usage.body.memory.events.oomKill >= 1, JSON.stringify(usage.body.memory));
  });

  it('reports a workload that allocates past its memory limit as oom-killed', async () => {
    await create('hungry', {});
    const res: Reply<Workload> = await guest.gov.http
      .post('/v1/tenants/hungry/workloads')
      .set('Authorization', guest.gov.root)
      .send({ command: ['/usr/bin/python3', '-c', 'b = bytearray(200 * 1024 * 1024)'], quota: { memory: { max: '64Mi', swapMax: '0' } } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const workload: Reply<Workload> = await guest.gov.http.get(`/v1/tenants/hungry/workloads/${res.body.id}`).set('Authorization', guest.gov.root);
      if (!['starting', 'running'].includes(workload.body.state)) {
        assert.deepEqual(
          { state: workload.body.state, signal: workload.body.signal },
          { state: 'oom-killed', signal: 'SIGKILL' },
          JSON.stringify(workload.body),
        );
        break;
      }
      assert.ok(Date.now() < deadline, JSON.stringify(workload.body));
      await sleep(200);
    }
  });

  it('throttles a busy loop to cpu.max', async () => {
    await create('throttled', { cpu: { max: '0.1', period: '100ms' } });
    const before = file('throttled', 'cpu.stat');
    const spin = gated('exec /bin/sh -c "while :; do :; done"');
    await attach('throttled', spin.child.pid);
    const started = process.hrtime.bigint();
    spin.go();
    await sleep(3000);
    spin.child.kill('SIGKILL');
    await spin.exit;
    const wallUsec = Number((process.hrtime.bigint() - started) / 1000n);
    const stat = file('throttled', 'cpu.stat');
    assert.ok(keyed(stat, 'nr_throttled') > keyed(before, 'nr_throttled'), stat);
    assert.ok(keyed(stat, 'throttled_usec') > 0, stat);
    const used = keyed(stat, 'usage_usec') - keyed(before, 'usage_usec');
    assert.ok(used <= 0.1 * wallUsec + 100_000, `used ${used}us of CPU in ${wallUsec}us under a 0.1-core cap`);
  });

  it('makes fork fail at pids.max', async () => {
    await create('forky', { pids: { max: 5 } });
    const forker = gated('ok=0; for i in 1 2 3 4 5 6 7 8 9 10; do /bin/sleep 5 & done 2>/dev/null; wait');
    await attach('forky', forker.child.pid);
    forker.go();
    await forker.exit;
    // Before 6.11 the event counts in the cgroup of the task that tried to fork (the attached leaf), not
    // in the ancestor whose limit refused it; from 6.11 it counts hierarchically in the tenant too.
    const refused = keyed(file('forky', 'attached/pids.events'), 'max') + keyed(file('forky', 'pids.events'), 'max');
    assert.ok(refused >= 1, `${file('forky', 'attached/pids.events')} / ${file('forky', 'pids.events')}`);
  });

  it('limits direct writes to io.max on the test disk', async () => {
    const device = process.env.GOVERNOR_TEST_DISK_DEV;
    const disk = process.env.GOVERNOR_TEST_DISK;
    assert.ok(device && disk, 'run.sh --disk gives the guest a test disk');
    const wbps = 1024 * 1024;
    await create('diskio', { io: { limits: [{ device, wbps }] } });
    assert.match(file('diskio', 'io.max'), new RegExp(`^${device} rbps=max wbps=${wbps} riops=max wiops=max$`, 'm'));
    const bytes = 2 * 1024 * 1024;
    const writer = gated(`exec /bin/dd if=/dev/zero of=${disk} bs=64k count=${bytes / 65536} oflag=direct`);
    await attach('diskio', writer.child.pid);
    const started = Date.now();
    writer.go();
    assert.equal((await writer.exit).code, 0);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= (bytes / wbps) * 0.9, `${bytes} bytes at ${wbps} B/s took only ${seconds}s`);
    const stat = file('diskio', 'io.stat');
    assert.ok(Number(new RegExp(`^${device} .*wbytes=(\\d+)`, 'm').exec(stat)?.[1]) >= bytes, stat);
  });

  it('pins processes to the cpuset', async () => {
    await create('pinned', { cpuset: { cpus: '1' } });
    const sleeper = gated('exec /bin/sleep 30');
    await attach('pinned', sleeper.child.pid);
    assert.match(readFileSync(`/proc/${sleeper.child.pid}/status`, 'utf8'), /^Cpus_allowed_list:\s+1$/m);
  });

  it('reverts a hand edit of memory.max within one resync', async () => {
    await create('drifty', { memory: { max: '128Mi' } });
    writeFileSync(join(root, 'tenants/drifty/memory.max'), String(256 * 1024 * 1024));
    const deadline = Date.now() + 30_000;
    while (file('drifty', 'memory.max') !== String(128 * 1024 * 1024)) {
      assert.ok(Date.now() < deadline, 'reverted within a resync');
      await sleep(200);
    }
    // The counter moves when the pass ends, a moment after the file is written back.
    while (!/^governor_drift_corrections_total\{tenant="drifty",file="memory.max"\} 1$/m.test((await guest.gov.http.get('/metrics')).text)) {
      assert.ok(Date.now() < deadline, 'the correction is counted');
      await sleep(200);
    }
  });

  it('lowers memory.high first and leaves memory.max when usage stays above it, unless forced', async () => {
    await create('shrink', { memory: { max: '256Mi', swapMax: '0' } });
    const holder = gated(`exec /usr/bin/python3 -c "b = bytearray(100 * 1024 * 1024); import time; time.sleep(120)"`);
    await attach('shrink', holder.child.pid);
    holder.go();
    const deadline = Date.now() + 30_000;
    while (Number(file('shrink', 'memory.current')) < 100 * 1024 * 1024) {
      assert.ok(Date.now() < deadline, 'the holder allocates');
      await sleep(200);
    }
    const plan: Reply<Plan> = await guest.gov.http
      .post('/v1/tenants/shrink/plan')
      .set('Authorization', guest.gov.root)
      .send({ quota: { memory: { max: '64Mi' } } });
    assert.ok(
      plan.body.nodes[0].warnings.some((w) => /below current usage/.test(w)),
      JSON.stringify(plan.body),
    );

    const pending = await patch('shrink', { quota: { memory: { max: '64Mi' } } });
    assert.equal(pending.status.phase, 'Degraded');
    assert.ok(
      pending.status.conditions.some((c) => c.reason === 'MemoryLimitPending'),
      JSON.stringify(pending.status),
    );
    assert.equal(file('shrink', 'memory.high'), String(64 * 1024 * 1024), 'memory.high went first');
    assert.equal(file('shrink', 'memory.max'), String(256 * 1024 * 1024), 'memory.max was left alone');
    assert.equal(holder.child.exitCode, null, 'nothing was OOM-killed');
    assert.equal(keyed(file('shrink', 'memory.events'), 'oom_kill'), 0);

    await patch('shrink', { quota: { memory: { max: '63Mi' } } }, '?force=true');
    assert.equal(file('shrink', 'memory.max'), String(63 * 1024 * 1024));
    assert.equal((await holder.exit).signal, 'SIGKILL');
  });

  it('freezes on suspend and thaws on resume', async () => {
    await create('sleepy', {});
    await guest.gov.http.post('/v1/tenants/sleepy/suspend').set('Authorization', guest.gov.root);
    await applied('sleepy');
    assert.match(file('sleepy', 'cgroup.events'), /^frozen 1$/m);
    await guest.gov.http.post('/v1/tenants/sleepy/resume').set('Authorization', guest.gov.root);
    await applied('sleepy');
    assert.match(file('sleepy', 'cgroup.events'), /^frozen 0$/m);
  });

  it('leaves no cgroup behind on delete', async () => {
    await create('gone', { pids: { max: 10 } });
    const sleeper = gated('exec /bin/sleep 60');
    await attach('gone', sleeper.child.pid);
    await guest.gov.http.delete('/v1/tenants/gone').set('Authorization', guest.gov.root);
    assert.equal((await sleeper.exit).signal, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    while ((await guest.gov.http.get('/v1/tenants/gone').set('Authorization', guest.gov.root)).status !== 404) {
      assert.ok(Date.now() < deadline);
      await sleep(200);
    }
    assert.throws(() => readFileSync(join(root, 'tenants/gone/cgroup.procs')), /ENOENT/);
  });
});
