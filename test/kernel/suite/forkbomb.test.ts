import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { bodyOf, type Reply, type Tenant, type Workload } from '../../support/api';
import { guestSuite } from '../../support/guest-suite';

// A fork bomb in a tenant's workload, on a kernel with the pids controller: held at pids.max, the API stays
// responsive meanwhile, the governor records it, and with pids.onLimit "kill" it evicts the workload.
const guest = guestSuite('forkbomb', { pollMs: 250, env: { GOVERNOR_NET_POOL: '10.237.0.0/24' } });

// Each call forks two more of itself: the classic bomb, in sh. A shell whose fork is refused exits, so the
// workload's own process execs sleep once the bomb is away: it needs no fork, and the workload stays running.
const BOMB = ['/bin/sh', '-c', 'b() { b & b & wait; }; b & exec sleep 600'];
const tenantFile = guest.file;

async function until<T>(what: string, read: () => T | Promise<T>, ok: (value: T) => boolean, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(value)}`);
    await sleep(250);
  }
}

async function ready(name: string, quota: object): Promise<void> {
  const res = await guest.gov.http.post('/v1/tenants').set('Authorization', guest.gov.root).send({ name, quota });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  await until(
    `${name} is ready`,
    async () => bodyOf<Tenant>(await guest.gov.http.get(`/v1/tenants/${name}`).set('Authorization', guest.gov.root)),
    (t) => t.status.observedGeneration === 1 && t.status.isolation?.init.state === 'running',
  );
}

/** Sequential GET /v1/tenants/bomb, 100 ms apart: p50 and p99 (nearest rank) in ms. */
async function apiLatencies(count: number, between: () => unknown): Promise<{ p50: number; p99: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    const res = await guest.gov.http.get('/v1/tenants/bomb').set('Authorization', guest.gov.root);
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    assert.equal(res.status, 200);
    between();
    await sleep(100);
  }
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.ceil(0.5 * count) - 1], p99: latencies[Math.ceil(0.99 * count) - 1] };
}

const events = (name: string) =>
  guest.gov.query<{ kind: string; message: string; detail: { evicted?: boolean } }>(
    `SELECT e.kind, e.message, e.detail FROM tenant_events e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = $1 ORDER BY e.id`,
    [name],
  );

describe('a fork bomb in a tenant', () => {
  it("counts each workload's monitor in the tenant's pids and memory (issue 11)", async () => {
    await ready('counted', { pids: { max: 64 } });
    const before = Number(tenantFile('counted', 'pids.current'));
    const started: Reply<Workload> = await guest.gov.http
      .post('/v1/tenants/counted/workloads')
      .set('Authorization', guest.gov.root)
      .send({ command: ['/bin/sleep', '600'] });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id;
    try {
      await until(
        'the monitor and the workload count in pids.current',
        () => Promise.resolve(Number(tenantFile('counted', 'pids.current'))),
        (n) => n === before + 2,
        30_000,
      );
      // The controllers reach the monitors' directory (the tenant hands them to its children), not each leaf below.
      assert.equal(tenantFile('counted', 'monitors/pids.current'), '1', 'the monitor is the one process there');
      assert.ok(Number(tenantFile('counted', 'monitors/memory.current')) > 0, "the monitor's memory is charged to the tenant");
    } finally {
      await guest.gov.http.delete(`/v1/tenants/counted/workloads/${id}`).query({ grace: '0s' }).set('Authorization', guest.gov.root);
    }
  });

  it('is held at pids.max 64, keeps the API p99 under 1 s (or twice the quiet p99 under TCG), and is recorded as a tenant event', async () => {
    // Half a CPU of the guest's two, as a tenant is given a share: pids.max holds the count, cpu.max the CPU time.
    await ready('bomb', { pids: { max: 64 }, cpu: { max: '0.5' } });
    const quiet = await apiLatencies(20, () => undefined);
    const started: Reply<Workload> = await guest.gov.http.post('/v1/tenants/bomb/workloads').set('Authorization', guest.gov.root).send({ command: BOMB });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    await until(
      'the bomb reaches pids.max',
      () => Number(tenantFile('bomb', 'pids.current')),
      (n) => n >= 60,
      60_000,
    );

    let highest = 0;
    const bombed = await apiLatencies(40, () => (highest = Math.max(highest, Number(tenantFile('bomb', 'pids.current')))));
    process.stdout.write(
      `# GET /v1/tenants/bomb under TCG: quiet p50 ${quiet.p50.toFixed(1)} ms, p99 ${quiet.p99.toFixed(1)} ms; ` +
        `during the bomb p50 ${bombed.p50.toFixed(1)} ms, p99 ${bombed.p99.toFixed(1)} ms; highest pids.current ${highest}\n`,
    );
    assert.ok(highest <= 64 && highest >= 60, `held at 64: highest pids.current ${highest}`);
    assert.equal(tenantFile('bomb', 'pids.max'), '64');

    const recorded = await until(
      'a pids event',
      () => events('bomb'),
      (rows) => rows.some((e) => e.kind === 'pids'),
    );
    const event = recorded.find((e) => e.kind === 'pids')!;
    assert.match(event.message, new RegExp(`workload ${started.body.id} reached pids.max: \\d+ forks? refused$`));
    assert.equal(event.detail.evicted, false);
    const state = bodyOf<Workload>(await guest.gov.http.get(`/v1/tenants/bomb/workloads/${started.body.id}`).set('Authorization', guest.gov.root)).state;
    assert.equal(state, 'running', 'policy none leaves it running');
    await guest.gov.http.delete(`/v1/tenants/bomb/workloads/${started.body.id}`).query({ grace: '0s' }).set('Authorization', guest.gov.root);
    // Under TCG the guest's Node runs about 18 times slower than on a host, and its quiet p99 alone has been
    // seen above a second on a loaded machine: the bound is 1 s or twice the quiet p99, whichever is larger.
    const bound = Math.max(1000, 2 * quiet.p99);
    assert.ok(bombed.p99 < bound, `API p99 ${bombed.p99} ms during the bomb (bound ${bound} ms, quiet p99 ${quiet.p99} ms)`);
  });

  it('with pids.onLimit "kill", evicts the workload and says so', async () => {
    await ready('evicted', { pids: { max: 64, onLimit: 'kill' }, cpu: { max: '0.5' } });
    const started: Reply<Workload> = await guest.gov.http.post('/v1/tenants/evicted/workloads').set('Authorization', guest.gov.root).send({ command: BOMB });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const done = await until(
      'the bomb is evicted',
      async () => bodyOf<Workload>(await guest.gov.http.get(`/v1/tenants/evicted/workloads/${started.body.id}`).set('Authorization', guest.gov.root)),
      (w) => !['starting', 'running'].includes(w.state),
    );
    assert.deepEqual({ state: done.state, signal: done.signal }, { state: 'killed', signal: 'SIGKILL' });
    // The watcher records the event after its cgroup.kill, so the workload can be seen killed first.
    await until(
      'a pids event saying the workload was evicted',
      () => events('evicted'),
      (rows) => rows.some((e) => e.kind === 'pids' && e.detail.evicted === true && /evicted \(pids\.onLimit kill\)$/.test(e.message)),
      30_000,
    );
    await until(
      'the tenant is empty again',
      () => Number(tenantFile('evicted', 'pids.current')),
      (n) => n <= 2,
      30_000,
    );
  });
});
