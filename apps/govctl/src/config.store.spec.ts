import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConnectionError, UsageError } from './cli.errors';
import { configPath, type GovctlConfig, readConfig, resolveConnection, withContext, writeConfig } from './config.store';

const config: GovctlConfig = {
  currentContext: 'prod',
  contexts: [
    { name: 'prod', server: 'https://prod:8080', token: 'prod-token' },
    { name: 'acme', server: 'http://127.0.0.1:8080', token: 'gvt_key' },
  ],
};

describe('resolving the connection', () => {
  it('takes flags over the environment over the current context', () => {
    assert.deepEqual(resolveConnection({}, {}, config), { server: 'https://prod:8080', token: 'prod-token', context: 'prod' });
    assert.deepEqual(resolveConnection({}, { GOVERNOR_URL: 'http://env:1', GOVERNOR_TOKEN: 'env-token' }, config), {
      server: 'http://env:1',
      token: 'env-token',
    });
    assert.deepEqual(resolveConnection({ server: 'http://flag:2/', token: 'flag-token' }, { GOVERNOR_URL: 'http://env:1' }, config), {
      server: 'http://flag:2',
      token: 'flag-token',
    });
  });

  it('lets a context named with --context beat the environment', () => {
    assert.deepEqual(resolveConnection({ context: 'acme' }, { GOVERNOR_URL: 'http://env:1', GOVERNOR_TOKEN: 'env' }, config), {
      server: 'http://127.0.0.1:8080',
      token: 'gvt_key',
      context: 'acme',
    });
  });

  it('says what to do when nothing names a server, and refuses an unknown context', () => {
    assert.throws(() => resolveConnection({}, {}, { contexts: [] }), ConnectionError);
    assert.throws(
      () => resolveConnection({ context: 'nope' }, {}, config),
      (err: unknown) => err instanceof UsageError && /contexts: prod, acme/.test(err.message),
    );
    assert.throws(() => resolveConnection({ server: 'ftp://x', token: 't' }, {}, config), UsageError);
  });
});

describe('the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'govctl-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is written with mode 0600 and read back', () => {
    const path = join(dir, 'governor', 'config.yaml');
    writeConfig(path, withContext(config, { name: 'dev', server: 'http://dev:1', token: 'dev-token' }));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const back = readConfig(path);
    assert.equal(back.currentContext, 'dev');
    assert.deepEqual(
      back.contexts.map((c) => c.name),
      ['prod', 'acme', 'dev'],
    );
  });

  it('warns when the file is readable by others, and names the file of a malformed one', () => {
    const open = join(dir, 'open.yaml');
    writeFileSync(open, 'contexts: []\n', { mode: 0o644 });
    chmodSync(open, 0o644);
    const warnings: string[] = [];
    readConfig(open, (line) => warnings.push(line));
    assert.deepEqual(warnings, [`warning: ${open} holds tokens and is readable by others; chmod 600 ${open}`]);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'contexts:\n  - name: x\n', { mode: 0o600 });
    assert.throws(
      () => readConfig(bad),
      (err: unknown) => err instanceof UsageError && err.message === `${bad}: contexts[0] needs a name, a server and a token`,
    );
    assert.deepEqual(readConfig(join(dir, 'missing.yaml')), { contexts: [] });
  });

  it('lives under XDG_CONFIG_HOME or ~/.config', () => {
    assert.equal(configPath({ HOME: '/home/u' }), '/home/u/.config/governor/config.yaml');
    assert.equal(configPath({ HOME: '/home/u', XDG_CONFIG_HOME: '/x' }), '/x/governor/config.yaml');
  });
});
