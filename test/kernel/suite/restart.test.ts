import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { hostScratch } from '../../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../../support/governor.harness';
import { type ServiceProcess, startService } from '../../support/service.process';

const host = hostScratch('restart');
let databaseUrl: string | undefined;
after(async () => {
  if (databaseUrl) await dropDatabase(databaseUrl);
  host.cleanup();
});

async function api(service: ServiceProcess, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${service.url}${path}`, { ...init, headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json', ...init.headers } });
}

async function metric(service: ServiceProcess, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? NaN);
}

describe('a governor killed with SIGKILL', () => {
  it('finds its tenants after a restart and writes nothing that was in sync', async () => {
    databaseUrl = await createDatabase();
    const env = {
      DATABASE_URL: databaseUrl,
      GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
      ...host.env,
      GOVERNOR_RESYNC_INTERVAL: '2s',
      GOVERNOR_LOG_LEVEL: 'warn',
    };
    const first = await startService(env, 180_000);
    try {
      const res = await api(first, '/v1/tenants', {
        method: 'POST',
        body: JSON.stringify({ name: 'survivor', quota: { cpu: { max: '0.5' }, memory: { max: '128Mi', high: '100Mi' }, pids: { max: 50 } } }),
      });
      assert.equal(res.status, 201);
      for (let i = 0; ; i++) {
        const tenant = (await (await api(first, '/v1/tenants/survivor')).json()) as { status: { observedGeneration: number; phase: string } };
        if (tenant.status.observedGeneration === 1) {
          assert.equal(tenant.status.phase, 'Ready');
          break;
        }
        assert.ok(i < 300, 'applied');
        await sleep(200);
      }
      assert.ok((await metric(first, /^governor_cgroup_writes_total (\d+)$/m)) > 0, 'the first start wrote the limits');
    } finally {
      await first.stop('SIGKILL');
    }

    const second = await startService(env, 180_000);
    try {
      for (let i = 0; (await metric(second, /^governor_reconcile_total\{result="success"\} (\d+)$/m)) >= 1 === false; i++) {
        assert.ok(i < 300, 'the restarted governor reconciles');
        await sleep(200);
      }
      assert.equal(await metric(second, /^governor_cgroup_writes_total (\d+)$/m), 0, 'nothing in sync is written again');
    } finally {
      await second.stop();
    }
  });
});
