import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCgroup2Mount, ownCgroup2Path } from './mount';

const HYBRID = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory`;

describe('findCgroup2Mount', () => {
  it('finds the v2 tree of a hybrid host', () => {
    assert.equal(findCgroup2Mount(HYBRID), '/sys/fs/cgroup/unified');
  });

  it('finds the v2 tree of a unified host', () => {
    assert.equal(findCgroup2Mount('36 25 0:31 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot'), '/sys/fs/cgroup');
  });

  it('ignores a bind mount of a subtree and v1 hierarchies', () => {
    assert.equal(
      findCgroup2Mount('50 31 0:38 /some/sub /mnt/cg rw - cgroup2 cgroup2 rw\n42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory'),
      undefined,
    );
  });

  it('unescapes octal escapes in the mount point', () => {
    assert.equal(findCgroup2Mount('36 25 0:31 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw'), '/mnt/my cgroups');
  });
});

describe('ownCgroup2Path', () => {
  it('reads the v2 line of /proc/self/cgroup', () => {
    assert.equal(ownCgroup2Path('4:memory:/x\n0::/system.slice/governor.service\n'), '/system.slice/governor.service');
    assert.equal(ownCgroup2Path('4:memory:/x\n'), undefined);
  });
});
