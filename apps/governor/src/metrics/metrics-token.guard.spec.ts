import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { AuthException } from '../auth/auth.exception';
import { ConfigError, loadConfig } from '../config/governor.config';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsTokenGuard } from './metrics-token.guard';
import { MetricsTokenSource } from './metrics-token.source';

const TOKEN = 'metrics-token-0123456789';

function request(authorization?: string): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }) } as unknown as ExecutionContext;
}

describe('GOVERNOR_METRICS_TOKEN', () => {
  it('is optional, and must be 16 characters or more without blanks when set', () => {
    assert.equal(loadConfig({}, '/').metricsToken, undefined);
    assert.equal(loadConfig({ GOVERNOR_METRICS_TOKEN: ` ${TOKEN} ` }, '/').metricsToken, TOKEN);
    for (const bad of ['short', 'has a blank inside it']) {
      assert.throws(
        () => loadConfig({ GOVERNOR_METRICS_TOKEN: bad }, '/'),
        (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('GOVERNOR_METRICS_TOKEN')),
      );
    }
  });
});

describe('MetricsTokenGuard', () => {
  it('lets every scrape through with GOVERNOR_METRICS_PUBLIC=true', () => {
    const guard = new MetricsTokenGuard(new MetricsTokenSource(loadConfig({ GOVERNOR_METRICS_PUBLIC: 'true' }, '/')));
    assert.equal(guard.canActivate(request()), true);
  });

  it('without a token configured, generates one into the data dir (0600), keeps it across starts and needs it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'governor-metrics-'));
    try {
      const config = loadConfig({ GOVERNOR_DATA_DIR: dataDir }, '/');
      const guard = new MetricsTokenGuard(new MetricsTokenSource(config));
      assert.throws(
        () => guard.canActivate(request()),
        (err: unknown) => err instanceof AuthException && err.status === 401,
      );
      const token = readFileSync(join(dataDir, 'metrics-token'), 'utf8').trim();
      assert.match(token, /^gvm_[A-Za-z0-9_-]{32}$/);
      assert.equal(statSync(join(dataDir, 'metrics-token')).mode & 0o777, 0o600);
      assert.equal(guard.canActivate(request(`Bearer ${token}`)), true);
      const again = new MetricsTokenGuard(new MetricsTokenSource(config));
      assert.equal(again.canActivate(request(`Bearer ${token}`)), true, 'the same token after a restart');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers 401 without the token or with another one, and lets the right one through', () => {
    const guard = new MetricsTokenGuard(new MetricsTokenSource(loadConfig({ GOVERNOR_METRICS_TOKEN: TOKEN }, '/')));
    for (const header of [undefined, 'Basic abc', `Bearer ${TOKEN}x`, 'Bearer metrics-token-012345678']) {
      assert.throws(
        () => guard.canActivate(request(header)),
        (err: unknown) => err instanceof AuthException && err.status === 401,
        String(header),
      );
    }
    assert.equal(guard.canActivate(request(`Bearer ${TOKEN}`)), true);
  });
});
