import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { creationsIn, isBeneath } from './file-watch';

describe('reading creations from an strace -y log', () => {
  it('takes O_CREAT opens by their resolved fd path, and skips plain opens', () => {
    const trace = [
      'openat(AT_FDCWD</srv>, "c", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</srv/c>',
      'openat(AT_FDCWD</srv>, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 4</etc/passwd>',
      'openat2(5</sys/fs/cgroup/unified/g>, "tenants/x/cpu.max", {flags=O_WRONLY|O_CLOEXEC, resolve=RESOLVE_BENEATH}, 24) = 6</sys/fs/cgroup/unified/g/tenants/x/cpu.max>',
    ].join('\n');
    assert.deepEqual(
      creationsIn(trace, '/').map((c) => c.path),
      ['/srv/c'],
    );
  });

  it('resolves mkdir, mkdirat and rename targets against dir fds and the followed working directory', () => {
    const trace = [
      'mkdirat(5</sys/fs/cgroup/unified/g>, "tenants", 0755) = 0',
      'mkdir("a", 0777)                        = 0',
      'chdir("/tmp/x")                          = 0',
      'mkdir("b", 0777)                        = 0',
      'renameat2(AT_FDCWD</tmp/x>, "c", AT_FDCWD</tmp/x>, "../d", RENAME_NOREPLACE) = 0',
      'symlink("/etc/shadow", "/tmp/e")        = 0',
    ].join('\n');
    assert.deepEqual(
      creationsIn(trace, '/work').map((c) => c.path),
      ['/sys/fs/cgroup/unified/g/tenants', '/work/a', '/tmp/x/b', '/tmp/d', '/tmp/e'],
    );
  });

  it('tells beneath from merely sharing a prefix', () => {
    assert.ok(isBeneath('/run/gov/ns/x', '/run/gov'));
    assert.ok(isBeneath('/run/gov', '/run/gov'));
    assert.ok(!isBeneath('/run/governor', '/run/gov'));
  });
});
