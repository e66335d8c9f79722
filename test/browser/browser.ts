import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type ConsoleMessage, type Page } from 'playwright-core';

/** Debian's chromium, installed by test/setup.sh; playwright-core never downloads a browser of its own. */
export const CHROMIUM = process.env.GOVERNOR_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** The repository root, from dist/test/browser where the compiled tests run. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const SCREENSHOTS = join(REPO_ROOT, 'test-output', 'portal');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: test/setup.sh installs Debian's chromium package`);
  if (!existsSync(join(REPO_ROOT, 'dist', 'portal-web', 'index.html'))) throw new Error('dist/portal-web is missing: run `npm run build:portal` first');
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

/** What a page reported that a working portal never does: CSP violations, uncaught errors, console errors. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message: ConsoleMessage) => {
    // A failed API call logs a resource error by design (the page shows it as a message); a CSP refusal never should.
    if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d|503)/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  return problems;
}

export const screenshot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

/**
 * Waits until a JavaScript expression, evaluated in the page, is truthy, and returns its value. Polled from
 * here with page.evaluate, which the DevTools protocol runs outside the page's CSP: waitForFunction would
 * evaluate the text inside the page, and the portal's CSP (rightly) refuses that. Page code is given as
 * text because the root tsconfig has no DOM library, on purpose, so that server code cannot use it.
 */
export async function until<T>(page: Page, expression: string, what: string, timeout = 20_000): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    last = await page.evaluate<unknown>(expression).catch((err: unknown) => err);
    if (last && !(last instanceof Error)) return last as T;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last value: ${last instanceof Error ? last.message : String(last)}`);
    await sleep(200);
  }
}

/** Signs in through the form, with the keyboard only: the key field has focus when the page opens. */
export async function signIn(page: Page, origin: string, key: string): Promise<void> {
  await page.goto(`${origin}/portal/`);
  await page.waitForSelector('#key');
  await until(page, "document.activeElement?.id === 'key'", 'the key field to have focus');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
}

/** Every form control has a label, every chart a text summary, every error message role="alert". */
export function accessibilityGaps(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const gaps = [];
    for (const control of document.querySelectorAll('input, select, textarea')) {
      if (control.labels.length === 0 && !control.getAttribute('aria-label')) gaps.push('unlabelled ' + control.tagName.toLowerCase() + ' ' + (control.name || control.id));
    }
    for (const chart of document.querySelectorAll('svg[role="img"]')) {
      if (!chart.getAttribute('aria-label')) gaps.push('a chart without a text summary');
    }
    for (const alert of document.querySelectorAll('.alert')) {
      if (alert.getAttribute('role') !== 'alert') gaps.push('an error message without role="alert"');
    }
    for (const clickable of document.querySelectorAll('[onclick], a:not([href])')) gaps.push('a clickable ' + clickable.tagName.toLowerCase() + ' that is not a button');
    // WCAG AA contrast of every visible piece of text against the first opaque background behind it.
    const rgb = (css) => (css.match(/[\\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
      const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (el) => {
      for (let at = el; at; at = at.parentElement) {
        const c = rgb(getComputedStyle(at).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    for (const el of document.querySelectorAll('body *')) {
      const text = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
      if (!text || el.closest('[hidden], svg, noscript, .skip') || el.getClientRects().length === 0) continue;
      const [l1, l2] = [luminance(rgb(getComputedStyle(el).color).slice(0, 3)), luminance(background(el))];
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      if (ratio < 4.5) gaps.push('contrast ' + ratio.toFixed(2) + ':1 for "' + el.textContent.trim().slice(0, 40) + '"');
    }
    return gaps;
  })()`);
}
