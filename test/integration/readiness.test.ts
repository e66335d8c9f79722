import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { createDatabase, dropDatabase, ROOT_TOKEN } from '../support/governor.harness';
import { type ServiceProcess, startService } from '../support/service.process';

// A governor whose namespaces cannot be prepared: <run dir>/ns is a plain file, so the shared mount for
// the tenants' namespaces cannot be made. The cgroup root and the database are fine. Readiness must say
// what is wrong with the host, and the log must not blame the database.
const scratch = hostScratch('ready');
let databaseUrl: string;
let dataDir: string;
let service: ServiceProcess;

before(async () => {
  databaseUrl = await createDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'governor-ready-'));
  mkdirSync(scratch.runDir, { recursive: true, mode: 0o711 });
  writeFileSync(join(scratch.runDir, 'ns'), 'not a directory\n');
  service = await startService({
    ...scratch.env,
    DATABASE_URL: databaseUrl,
    GOVERNOR_DATA_DIR: dataDir,
    GOVERNOR_ADMIN_TOKEN: ROOT_TOKEN,
    GOVERNOR_NET_POOL: '10.242.0.0/22',
    GOVERNOR_RESYNC_INTERVAL: '1s',
  });
});
after(async () => {
  await service?.stop();
  await dropDatabase(databaseUrl);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(join(scratch.runDir, 'ns'), { force: true });
  scratch.cleanup();
});

describe('readiness after a failed host setup', () => {
  it('turns /readyz red with the namespace preparation as the reason', async () => {
    const res = await fetch(`${service.url}/readyz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { detail?: string };
    assert.match(body.detail ?? '', /host setup: preparing the namespaces under .*\/ns failed: .*(EEXIST|ENOTDIR|not a directory)/i);
  });

  it('still enforces cgroup limits, degrades the tenant with the reason, and never logs a database outage', async () => {
    const created = await fetch(`${service.url}/v1/tenants`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ROOT_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'ready-a', quota: {} }),
    });
    assert.equal(created.status, 201, await created.text());
    let tenant: { status?: { phase?: string; conditions?: Array<{ reason: string; message: string }> } } = {};
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(200)) {
      tenant = (await (await fetch(`${service.url}/v1/tenants/ready-a`, { headers: { Authorization: `Bearer ${ROOT_TOKEN}` } })).json()) as typeof tenant;
      if (tenant.status?.phase === 'Degraded') break;
    }
    assert.equal(tenant.status?.phase, 'Degraded', JSON.stringify(tenant));
    assert.ok(
      tenant.status?.conditions?.some((c) => c.reason === 'NetworkFailed' && /namespaces are unavailable: preparing the namespaces/.test(c.message)),
      JSON.stringify(tenant.status?.conditions),
    );
    const log = service.stdout();
    assert.match(log, /host setup failed: preparing the namespaces under/);
    assert.doesNotMatch(log, /reconcile pass failed/, 'a host problem is not a failed pass (which reads as a database outage)');
  });
});
