import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/dashboards';

/**
 * The shipped systemd units, as systemd itself reads them: `systemd-analyze verify` (Debian 12's systemd 252, the
 * version the units target) loads each one and reports unknown keys, bad values and missing executables. It needs
 * no running systemd, so it runs here although this machine boots none. A machine without systemd-analyze fails
 * this test: install Debian's `systemd` package.
 */
const UNITS = ['governor-agent.service', 'governor-tenants.service', 'governor-api.service'];

describe('config/systemd units', () => {
  const version = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });

  it('has systemd-analyze to check them with', () => {
    assert.equal(version.error, undefined, `systemd-analyze is missing (apt-get install systemd): ${String(version.error)}`);
    assert.match(version.stdout, /^systemd \d+/);
  });

  it('loads every unit in systemd-analyze verify without a warning', () => {
    const done = spawnSync('systemd-analyze', ['verify', '--man=no', ...UNITS.map((unit) => join(REPO_ROOT, 'config', 'systemd', unit))], {
      encoding: 'utf8',
    });
    assert.equal(done.error, undefined, String(done.error));
    assert.equal(`${done.stdout}${done.stderr}`.trim(), '', 'systemd-analyze verify has something to say');
    assert.equal(done.status, 0);
  });

  it('sees a broken unit as broken, so that a clean verify means something', () => {
    const bad = spawnSync(
      'sh',
      [
        '-c',
        `d=$(mktemp -d) && printf '[Service]\\nDelegat=yes\\nExecStart=/no/such/binary\\n' > "$d/bad.service" && systemd-analyze verify --man=no "$d/bad.service"; s=$?; rm -r "$d"; exit $s`,
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /Unknown key 'Delegat'/);
    assert.match(bad.stderr, /\/no\/such\/binary is not executable/);
  });
});
