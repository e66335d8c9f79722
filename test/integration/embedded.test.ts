import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostScratch } from '../support/cgroup-root';
import { startService } from '../support/service.process';

const dataDir = mkdtempSync(join(tmpdir(), 'governor-embedded-'));
const host = hostScratch('embedded');
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
  host.cleanup();
});

describe('the embedded database', () => {
  it('starts without DATABASE_URL, generates a root token once, and keeps tenants across a restart', async () => {
    // The service's own default for /metrics (the support code makes it public for the other tests).
    const first = await startService({
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_METRICS_PUBLIC: 'false',
      ...host.env,
    });
    let token: string;
    try {
      token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      assert.match(token, /^gva_/);
      assert.equal(statSync(join(dataDir, 'admin-token')).mode & 0o777, 0o600);
      assert.ok(first.stderr().includes(token), 'the generated token is shown on the terminal once');

      // A fresh start also makes a metrics token, and says how to scrape with it.
      const metricsFile = join(dataDir, 'metrics-token');
      assert.equal(statSync(metricsFile).mode & 0o777, 0o600);
      assert.ok(first.stderr().includes(`curl -H "Authorization: Bearer $(cat ${metricsFile})"`), first.stderr());
      assert.equal((await fetch(`${first.url}/metrics`)).status, 401);
      const scraped = await fetch(`${first.url}/metrics`, { headers: { Authorization: `Bearer ${readFileSync(metricsFile, 'utf8').trim()}` } });
      assert.equal(scraped.status, 200);
      assert.match(await scraped.text(), /^governor_cgroup_writes_total \d+$/m);

      const created = await fetch(`${first.url}/v1/tenants`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'survivor', quota: { memory: { max: '256Mi' } } }),
      });
      assert.equal(created.status, 201, await created.clone().text());
    } finally {
      assert.equal(await first.stop(), 0, first.stderr());
    }
    const log = first.stdout();
    assert.ok(!log.includes(token), 'the token never reaches the structured log');
    const requestLine = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { req?: { id?: string; url?: string; headers?: Record<string, string> }; res?: { statusCode?: number } })
      .find((entry) => entry.req?.url === '/v1/tenants' && entry.res?.statusCode === 201);
    assert.ok(requestLine?.req?.id, `one JSON line per request, with its request id:\n${log}`);
    assert.equal(requestLine.req.headers?.authorization, '[Redacted]');

    const second = await startService({
      GOVERNOR_DATA_DIR: dataDir,
      ...host.env,
    });
    try {
      assert.ok(!second.stderr().includes(token), 'a later start does not print the token again');
      const res = await fetch(`${second.url}/v1/tenants/survivor`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const tenant = (await res.json()) as { quota: unknown };
      assert.deepEqual(tenant.quota, { memory: { max: 268435456 } });
    } finally {
      await second.stop();
    }
  });

  it('refuses to start with a bad setting and names the variable', async () => {
    await assert.rejects(startService({ GOVERNOR_DATA_DIR: dataDir, GOVERNOR_PORT: 'eighty', GOVERNOR_ROLE: 'boss' }), (err: Error) => {
      assert.match(err.message, /exited with 78/);
      assert.match(err.message, /GOVERNOR_PORT="eighty"/);
      assert.match(err.message, /GOVERNOR_ROLE="boss": must be one of all, api, agent/);
      return true;
    });
  });
});
