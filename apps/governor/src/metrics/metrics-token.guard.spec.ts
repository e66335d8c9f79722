import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { AuthException } from '../auth/auth.exception';
import { ConfigError, loadConfig } from '../config/governor.config';
import { MetricsTokenGuard } from './metrics-token.guard';

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
  it('lets every scrape through when no token is configured', () => {
    const guard = new MetricsTokenGuard(loadConfig({}, '/'));
    assert.equal(guard.canActivate(request()), true);
  });

  it('answers 401 without the token or with another one, and lets the right one through', () => {
    const guard = new MetricsTokenGuard(loadConfig({ GOVERNOR_METRICS_TOKEN: TOKEN }, '/'));
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
