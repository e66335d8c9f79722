import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { ROOT_TOKEN } from '../support/governor.harness';
import { PrivateServer } from '../support/private-postgres';
import { type ServiceProcess, startService } from '../support/service.process';

/**
 * PostgreSQL really stopped (a server of the test's own, from Debian's binaries, so that stopping it
 * touches no other test) for OUTAGE_S seconds under load. Enforcement must not change, the API must answer
 * 503 problem+json fast with no request left hanging, and afterwards every change acknowledged before
 * the outage must be applied, with LISTEN back (the resync interval is an hour).
 */
const OUTAGE_S = Number(process.env.GOVERNOR_OUTAGE_SECONDS ?? 60);
const PORT = 5499;

describe(`a ${OUTAGE_S} s PostgreSQL outage under load`, { timeout: OUTAGE_S * 1000 + 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'governor-outage-'));
  const server = new PrivateServer(dir, PORT);
  const host = hostScratch('outage');
  let gov: ServiceProcess;

  before(async () => {
    chownSync(dir, 0, 0);
    execFileSync('chmod', ['0755', dir]);
    server.init();
    await server.start();
    await server.query('postgres', 'CREATE DATABASE governor');
    gov = await startService({
      ...host.env,
      DATABASE_URL: server.url(),
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      GOVERNOR_DATA_DIR: join(dir, 'var'),
      GOVERNOR_RESYNC_INTERVAL: '1h',
      GOVERNOR_NET_POOL: '10.243.0.0/24',
    });
  });

  after(async () => {
    await gov?.stop();
    await server.stop();
    host.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown>; ms: number; contentType: string | null }> => {
    const started = Date.now();
    const res = await fetch(`${gov.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ROOT_TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      ms: Date.now() - started,
      contentType: res.headers.get('content-type'),
    };
  };

  const observed = async (name: string, generation: number, withinMs: number): Promise<number> => {
    const started = Date.now();
    for (;;) {
      const view = await api('GET', `/v1/tenants/${name}`);
      if (view.status === 200 && ((view.json.status as { observedGeneration?: number }).observedGeneration ?? 0) >= generation) return Date.now() - started;
      assert.ok(Date.now() - started < withinMs, `${name} generation ${generation} not observed within ${withinMs} ms`);
      await sleep(20);
    }
  };

  it('keeps enforcing, answers 503 fast with nothing hanging, and applies what was acknowledged once it is back', async () => {
    for (const name of ['calm', 'frozen', 'late']) assert.equal((await api('POST', '/v1/tenants', { name })).status, 201);
    for (const name of ['calm', 'frozen', 'late']) await observed(name, 1, 10_000);
    assert.equal((await api('POST', '/v1/tenants/frozen/suspend')).status, 202);
    await observed('frozen', 2, 10_000);
    const frozenEvents = join(host.root, 'tenants', 'frozen', 'cgroup.events');
    assert.match(readFileSync(frozenEvents, 'utf8'), /^frozen 1$/m);
    const nsBefore = readdirSync(join(host.runDir, 'ns')).sort();

    // Acknowledged just before the outage, maybe not yet applied when the server goes.
    const acknowledged = await api('POST', '/v1/tenants/late/suspend');
    assert.equal(acknowledged.status, 202);
    await server.stop();

    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    const until = Date.now() + OUTAGE_S * 1000;
    const client = async (): Promise<void> => {
      while (Date.now() < until) {
        const res = await api('GET', '/v1/tenants/calm').catch((err: Error) => ({ status: -1, json: { detail: err.message }, ms: 15_000, contentType: null }));
        latencies.push(res.ms);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 503) {
          assert.match(String(res.contentType), /^application\/problem\+json/);
          assert.match(String(res.json.detail), /database is unavailable/);
        }
        await sleep(100);
      }
    };
    const ready = await api('GET', '/readyz');
    await Promise.all([client(), client(), client(), client()]);
    assert.equal(ready.status, 503);
    assert.deepEqual(Object.keys(statuses), ['503'], `every request during the outage answered 503: ${JSON.stringify(statuses)}`);
    latencies.sort((a, b) => a - b);
    process.stdout.write(
      `# during the outage: ${latencies.length} requests, p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms\n`,
    );
    assert.ok(latencies.at(-1)! < 1000, `each answered within a second: max ${latencies.at(-1)} ms`);

    // Enforcement held: the frozen tenant is still frozen, no cgroup or namespace was torn down.
    assert.match(readFileSync(frozenEvents, 'utf8'), /^frozen 1$/m);
    for (const name of ['calm', 'frozen', 'late']) assert.ok(statSync(join(host.root, 'tenants', name)).isDirectory());
    assert.deepEqual(readdirSync(join(host.runDir, 'ns')).sort(), nsBefore);

    await server.start();
    const deadline = Date.now() + 60_000;
    while ((await api('GET', '/readyz')).status !== 200) {
      assert.ok(Date.now() < deadline, '/readyz is green again');
      await sleep(200);
    }
    await observed('late', 2, 60_000);
    assert.match(
      readFileSync(join(host.root, 'tenants', 'late', 'cgroup.events'), 'utf8'),
      /^frozen 1$/m,
      'the change acknowledged before the outage is applied',
    );

    // LISTEN is back: a change reaches the kernel in seconds, though the next resync is an hour away.
    const patched = await api('POST', '/v1/tenants/calm/suspend');
    assert.equal(patched.status, 202);
    const ms = await observed('calm', 2, 15_000);
    process.stdout.write(`# after the outage: a change applied in ${ms} ms through NOTIFY\n`);
  });
});
