import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { devMajor, devMinor } from './home';

/** glibc's makedev, to build the numbers the kernel hands out. */
const makedev = (major: bigint, minor: bigint): bigint =>
  ((major & 0xfffn) << 8n) | ((major & 0xfffff000n) << 32n) | (minor & 0xffn) | ((minor & 0xffffff00n) << 12n);

describe('device numbers', () => {
  it('splits a small device number into major and minor', () => {
    assert.equal(devMajor(makedev(7n, 5n)), 7n);
    assert.equal(devMinor(makedev(7n, 5n)), 5n);
  });

  it('splits the numbers of loop devices past 255 and majors past 4095', () => {
    const dev = makedev(4100n, 70_000n);
    assert.equal(devMajor(dev), 4100n);
    assert.equal(devMinor(dev), 70_000n);
  });

  it('reads /dev/null as 1:3, as the kernel numbers it', () => {
    const { rdev } = statSync('/dev/null', { bigint: true });
    assert.deepEqual([devMajor(rdev), devMinor(rdev)], [1n, 3n]);
  });
});
