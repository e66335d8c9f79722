import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { bodyOf, type IssuedKey, type Reply, type Tenant } from '../support/api';
import { CGROUP2_MOUNT, hostScratch } from '../support/cgroup-root';
import { ROOT_TOKEN, startGovernor, type TestGovernor } from '../support/governor.harness';
import { accessibilityGaps, launchChromium, REPO_ROOT, screenshot, SCREENSHOTS, signIn, until, watchProblems } from './browser';

// The portal in Debian's chromium against a real governor (role all, this host's cgroup v2 core, real
// namespaces): a tenant's whole path, the admin's approval, and the XSS payloads that must stay inert.
const host = hostScratch('portal');
const DISPLAY_NAME = '<img src=x onerror="window.__xss=1">';
const LOG_PAYLOAD = '<script>window.__xss=2</script>';
const README_SCREENSHOT = join(REPO_ROOT, 'docs', 'portal.png');
const BURNER = '/bin/sh -c "while :; do :; done"';
const ECHO = `/bin/sh -c "echo '${LOG_PAYLOAD}'"`;
/** What this host's cgroup v2 tree enforces: on a hybrid host with the core only, CPU is not capped and no memory.max is written. */
const controllers = new Set(readFileSync(join(CGROUP2_MOUNT, 'cgroup.controllers'), 'utf8').trim().split(/\s+/));
let gov: TestGovernor;
let browser: Browser;
let origin: string;
let key: string;
let tenant: Page;
let tenantProblems: string[];

before(async () => {
  gov = await startGovernor({ ...host.env, GOVERNOR_NET_POOL: '10.234.0.0/24', GOVERNOR_RESYNC_INTERVAL: '2s', GOVERNOR_USAGE_SAMPLE_INTERVAL: '5s' });
  await gov.app.listen(0, '127.0.0.1');
  origin = `http://127.0.0.1:${((gov.app.getHttpServer() as Server).address() as AddressInfo).port}`;
  const created = await gov.http
    .post('/v1/tenants')
    .set('Authorization', gov.root)
    .send({ name: 'shop', displayName: DISPLAY_NAME, quota: { cpu: { max: '0.5' }, memory: { max: '256Mi' }, pids: { max: 64 } } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const issued: Reply<IssuedKey> = await gov.http.post('/v1/tenants/shop/keys').set('Authorization', gov.root).send({ name: 'portal' });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));
  key = issued.body.key;
  for (const deadline = Date.now() + 20_000; ; await sleep(100)) {
    const phase = bodyOf<Tenant>(await gov.http.get('/v1/tenants/shop').set('Authorization', gov.root)).status.phase;
    if (phase === 'Ready' || phase === 'Degraded') break;
    assert.ok(Date.now() < deadline, `tenant shop is ${phase}`);
  }
  browser = await launchChromium();
  tenant = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  tenantProblems = watchProblems(tenant);
});
after(async () => {
  await browser?.close();
  await gov?.close();
  host.cleanup();
});

/** The row of the newest workload whose command line is `line`. */
const workloadRow = (page: Page, line: string) => page.locator('tr[data-workload]', { has: page.locator('code.command', { hasText: line }) }).first();
const xss = (page: Page) => page.evaluate<unknown>('window.__xss');

describe('the portal', () => {
  it('is served at /portal with a strict Content-Security-Policy on the page and its assets', async () => {
    const page = await fetch(`${origin}/portal`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    const script = html.match(/src="(\/portal\/assets\/[^"]+\.js)"/)?.[1];
    assert.ok(script, 'the page loads its script from a hashed asset');
    assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
    for (const res of [page, await fetch(`${origin}${script}`), await fetch(`${origin}/portal/assets/missing.js`)]) {
      assert.equal(
        res.headers.get('content-security-policy'),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    }
    assert.equal((await fetch(`${origin}/portal/assets/..%2F..%2Fpackage.json`)).status, 404);
  });

  it('shows a readable message for a key that is not valid', async () => {
    await signIn(tenant, origin, 'gvt_not_a_real_key');
    await tenant.waitForSelector('[role="alert"]');
    assert.match((await tenant.locator('[role="alert"]').textContent()) ?? '', /not valid/);
    assert.deepEqual(await accessibilityGaps(tenant), []);
    await screenshot(tenant, '01-sign-in-error');
  });

  it('signs the tenant in with its key, shows its quota, and renders its display name as text', async () => {
    await signIn(tenant, origin, key);
    await tenant.waitForSelector('.tenant-view');
    await until(tenant, `document.querySelector('.tenant-name')?.textContent.includes('(shop)')`, 'the tenant name');
    assert.equal(await tenant.locator('.tenant-name').textContent(), `${DISPLAY_NAME} (shop)`);
    assert.equal(await tenant.locator('.tenant-name img').count(), 0, 'no element was made from the display name');
    assert.equal(await tenant.locator('[data-quota="memory.max"]').textContent(), '256 MiB');
    assert.equal(await tenant.locator('[data-quota="cpu.max"]').textContent(), '0.5 cores');
    assert.equal(await tenant.locator('[data-quota="pids.max"]').textContent(), '64');
    assert.equal(await tenant.evaluate<unknown>("sessionStorage.getItem('governor.portal.session') !== null && document.cookie === ''"), true);
    assert.equal(await xss(tenant), undefined);
  });

  it('shows usage move while a workload burns CPU, and the throttling it causes where cpu.max is enforced', async (t) => {
    await tenant.fill('input[name="command"]', BURNER);
    await tenant.click('button:has-text("Start")');
    await until(tenant, `document.querySelector('tr[data-workload][data-state="running"]')`, 'the burner to run');
    const cores = await until<number>(
      tenant,
      `(() => { const n = parseFloat(document.querySelector('[data-metric="cpu"]')?.textContent ?? ''); return n > 0.2 ? n : 0; })()`,
      'the CPU figure to rise',
    );
    await until(
      tenant,
      `Number(document.querySelector('[data-metric="cpu"]')?.closest('.card')?.querySelector('svg')?.dataset.max) > 0.2`,
      'a chart point above 0.2 cores',
    );
    assert.match(
      (await tenant.locator('#usage-cpu-heading ~ figure svg').getAttribute('aria-label')) ?? '',
      /^CPU over the last .*now 0\.\d+ cores.*quota 0\.5 cores/,
    );
    if (controllers.has('cpu')) {
      assert.ok(cores <= 0.6, `${cores} cores under a quota of 0.5`);
      await until(tenant, `document.querySelector('tr[data-kind="throttling"]')`, 'a throttling event', 30_000);
    } else {
      t.diagnostic(`this host's cgroup v2 tree has no cpu controller (${[...controllers].join(' ') || 'none'}): ${cores} cores, not capped, so no throttling`);
    }
    await until(tenant, `Number(document.querySelector('#usage-cpu-heading ~ figure svg')?.dataset.points) >= 5`, 'five points on the CPU chart', 30_000);
    await tenant.evaluate('window.scrollTo(0, 0)');
    await screenshot(tenant, '02-tenant-burning');
    // The README's picture, the live charts of a tenant at work: written when missing or asked for, so that
    // a test run does not change a committed file.
    if (process.env.GOVERNOR_UPDATE_SCREENSHOTS === '1' || !existsSync(README_SCREENSHOT)) {
      mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
      copyFileSync(join(SCREENSHOTS, '02-tenant-burning.png'), README_SCREENSHOT);
    }
  });

  it('starts a workload and reads its logs, with markup in them shown as text', async () => {
    await tenant.fill('input[name="command"]', ECHO);
    await tenant.press('input[name="command"]', 'Enter');
    const row = workloadRow(tenant, LOG_PAYLOAD);
    await row.waitFor();
    await until(
      tenant,
      `Array.from(document.querySelectorAll('tr[data-workload]')).some((r) => r.textContent.includes('window.__xss=2') && r.dataset.state === 'exited')`,
      'the echo to exit',
    );
    await row.locator('button:has-text("Logs")').click();
    await until(tenant, `document.querySelector('pre.logs')?.textContent.includes(${JSON.stringify(LOG_PAYLOAD)})`, 'the logs');
    assert.ok((await tenant.locator('pre.logs').textContent())?.split('\n').includes(LOG_PAYLOAD), 'the payload is a line of the logs, as text');
    assert.equal(await tenant.locator('pre.logs script').count(), 0);
    assert.equal(await xss(tenant), undefined);
    await screenshot(tenant, '03-tenant-logs');
  });

  it('stops the burner', async () => {
    await workloadRow(tenant, 'while :; do :; done').locator('button:has-text("Stop")').click();
    await until(
      tenant,
      `Array.from(document.querySelectorAll('tr[data-workload]')).some((r) => r.textContent.includes('while :') && r.dataset.state === 'killed')`,
      'the burner to be killed',
    );
  });

  it('shows each bad field of a refused request, then requests more memory', async () => {
    await tenant.fill('input[name="memoryMax"]', 'lots');
    await tenant.fill('textarea[name="reason"]', 'the nightly build needs more');
    await tenant.click('button:has-text("Send request")');
    await tenant.waitForSelector('.request-form ~ .messages [role="alert"]');
    assert.match((await tenant.locator('.request-form ~ .messages [role="alert"]').textContent()) ?? '', /memory\.max/);
    await screenshot(tenant, '04-tenant-request-error');

    await tenant.fill('input[name="memoryMax"]', '512Mi');
    await tenant.click('button:has-text("Send request")');
    await until(tenant, `document.querySelector('li.request[data-state="pending"]')?.textContent.includes('memory.max → 512 MiB')`, 'the pending request');
    assert.deepEqual(await accessibilityGaps(tenant), []);
  });

  it('lets an admin see the pending request with its plan, and approve it', async () => {
    const admin = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems = watchProblems(admin);
    await signIn(admin, origin, ROOT_TOKEN);
    await until(admin, `document.querySelector('.admin-requests li.request[data-state="pending"]')`, 'the pending request');
    const request = admin.locator('li.request[data-state="pending"]', { hasText: 'shop' });
    assert.match((await request.locator('h3').textContent()) ?? '', /^shop: memory\.max → 512 MiB$/);
    const plan = (await request.locator('.plan').textContent()) ?? '';
    assert.match(plan, new RegExp(`Node ${gov.config.nodeName}`));
    if (controllers.has('memory')) assert.match(plan, /memory\.max.*268435456.*536870912/);
    assert.deepEqual(await accessibilityGaps(admin), []);
    await screenshot(admin, '05-admin-pending');
    await request.locator('textarea').fill('approved for the launch week');
    await request.locator('button:has-text("Approve")').click();
    await until(admin, `document.querySelector('[role="status"]')?.textContent.startsWith('Approved: shop')`, 'the approval');
    await screenshot(admin, '06-admin-approved');
    assert.deepEqual(problems, []);
    await admin.close();
  });

  it('shows the tenant its new quota', async () => {
    await until(tenant, `document.querySelector('[data-quota="memory.max"]')?.textContent === '512 MiB'`, 'the new memory quota');
    await until(tenant, `document.querySelector('li.request[data-state="approved"]')`, 'the request shown as approved');
    await tenant.evaluate('window.scrollTo(0, 0)');
    await screenshot(tenant, '07-tenant-new-quota');
    assert.equal(await xss(tenant), undefined);
  });

  it('fits a 360 px wide screen', async () => {
    await tenant.setViewportSize({ width: 360, height: 800 });
    await sleep(300);
    const overflow = await tenant.evaluate<number>('document.documentElement.scrollWidth');
    const wide = await tenant.evaluate<string[]>(
      `(() => {
        const wide = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const range = document.createRange();
          range.selectNodeContents(node);
          if (range.getBoundingClientRect().right > 361 && !node.parentElement.closest('.table-scroll, [hidden]')) wide.push(node.textContent.trim().slice(0, 40));
        }
        return wide;
      })()`,
    );
    await tenant.evaluate('window.scrollTo(0, 0)');
    await screenshot(tenant, '08-tenant-narrow');
    await tenant.locator('#workloads-heading').scrollIntoViewIfNeeded();
    await screenshot(tenant, '09-tenant-narrow-workloads');
    await tenant.screenshot({ path: join(SCREENSHOTS, '10-tenant-narrow-full.png'), fullPage: true });
    assert.ok(overflow <= 360, `the page is ${overflow} px wide: ${wide.join(', ')}`);
  });

  it('forgets the key on sign-out, and never logged a CSP violation or a script error', async () => {
    await tenant.click('button:has-text("Sign out")');
    await tenant.waitForSelector('#key');
    assert.equal(await tenant.evaluate<unknown>("sessionStorage.getItem('governor.portal.session')"), null);
    assert.equal(await xss(tenant), undefined);
    assert.deepEqual(tenantProblems, []);
  });
});
