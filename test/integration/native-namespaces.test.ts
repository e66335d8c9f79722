import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KoffiNative, NativeError, monitorPath } from '../../libs/native/src';

const native = new KoffiNative();
const UID_BASE = 1879048192;
const COUNT = 65536;

/** Mount points at `path` or below, from /proc/self/mountinfo: [mount point, optional fields, fs type]. */
function mountsAt(path: string): { point: string; optional: string; type: string }[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [left, right] = line.split(' - ');
      const fields = left.split(' ');
      return { point: fields[4], optional: fields.slice(6).join(' '), type: right.split(' ')[0] };
    })
    .filter(({ point }) => point === path || point.startsWith(`${path}/`));
}

function throwsNative(fn: () => unknown, code: string, op: string): NativeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NativeError, `expected a NativeError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.op, op);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 1000 && !existsSync(path); i++) await sleep(10);
  assert.ok(existsSync(path), `${path} within 10 s`);
}

describe('tenant namespaces (nsCreate, nsCheck, nsDestroy, makeSharedMount)', () => {
  // Only directories and cgroups this spec creates, removed afterwards.
  const run = `/run/governor-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const nsRoot = join(run, 'ns');
  const dir = join(nsRoot, 'tenant-a');
  const tree = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup/unified';
  const cgroup = join(tree, `governor-native-test-${randomBytes(4).toString('hex')}`);

  before(() => {
    mkdirSync(nsRoot, { recursive: true, mode: 0o755 });
    mkdirSync(join(cgroup, 'workload'), { recursive: true });
    mkdirSync(join(cgroup, 'monitor'));
  });

  after(async () => {
    native.nsDestroy(dir);
    if (mountsAt(nsRoot).length > 0) execFileSync('umount', ['--lazy', nsRoot]);
    for (const leaf of ['workload', 'monitor', '']) {
      for (let attempt = 1; ; attempt++) {
        try {
          rmdirSync(join(cgroup, leaf));
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 500) throw err;
          await sleep(10);
        }
      }
    }
    assert.deepEqual(mountsAt(run), [], 'no mount is left');
    rmSync(run, { recursive: true, force: true });
  });

  it('finds governor-monitor next to the library', () => {
    assert.match(monitorPath(), /\/native\/build\/governor-monitor$/);
    assert.equal(native.monitorPath(), monitorPath());
    assert.equal(new KoffiNative('/opt/x/libgovernor.so').monitorPath(), '/opt/x/governor-monitor');
    assert.ok(existsSync(monitorPath()), `${monitorPath()} exists (make -C native)`);
  });

  it('makes the ns root a shared mount point, once however often it is asked', () => {
    native.makeSharedMount(nsRoot);
    native.makeSharedMount(nsRoot);
    const mounts = mountsAt(nsRoot);
    assert.equal(mounts.length, 1);
    assert.match(mounts[0].optional, /(^| )shared:\d+/);
    throwsNative(() => native.makeSharedMount(join(run, 'missing')), 'ENOENT', 'makeSharedMount');
  });

  it('refuses ids that are not unsigned 32-bit integers before C sees them', () => {
    throwsNative(() => native.nsCreate(dir, -1, COUNT, UID_BASE, COUNT), 'EINVAL', 'nsCreate');
    throwsNative(() => native.nsCreate(dir, UID_BASE, 1.5, UID_BASE, COUNT), 'EINVAL', 'nsCreate');
    throwsNative(() => native.nsCreate(dir, UID_BASE, COUNT, 2 ** 32, COUNT), 'EINVAL', 'nsCreate');
    throwsNative(() => native.nsCreate(dir, UID_BASE, 0, UID_BASE, COUNT), 'EINVAL', 'nsCreate');
    throwsNative(() => native.nsCreate(`${dir}\0x`, UID_BASE, COUNT, UID_BASE, COUNT), 'EINVAL', 'nsCreate');
    assert.ok(!existsSync(dir), 'nothing was created');
    assert.equal(native.nsCheck(dir), false);
  });

  it('creates a user and a net namespace as two nsfs bind mounts, which nsCheck recognises', () => {
    native.nsCreate(dir, UID_BASE, COUNT, UID_BASE, COUNT);
    assert.deepEqual(
      mountsAt(dir).map(({ point, type }) => [point, type]),
      [
        [join(dir, 'net'), 'nsfs'],
        [join(dir, 'user'), 'nsfs'],
      ],
    );
    assert.equal(native.nsCheck(dir), true);
    throwsNative(() => native.nsCreate(dir, UID_BASE, COUNT, UID_BASE, COUNT), 'EEXIST', 'nsCreate');
    assert.equal(mountsAt(dir).length, 2, 'a second create stacks nothing');
  });

  it('runs a workload in them through governor-monitor: root inside is the tenant base outside, only lo', async () => {
    const state = join(run, 'state');
    mkdirSync(state);
    writeFileSync(join(run, 'env'), 'GV_TEST=from the env file\0');
    const script = 'id -u; cat /proc/self/uid_map; tail -n +3 /proc/net/dev | cut -d: -f1; echo "$GV_TEST"';
    const options = {
      'state-dir': state,
      cgroup: join(cgroup, 'workload'),
      'monitor-cgroup': join(cgroup, 'monitor'),
      netns: join(dir, 'net'),
      userns: join(dir, 'user'),
      cwd: '/',
      'log-max-bytes': '65536',
      'log-files': '1',
      'env-file': join(run, 'env'),
    };
    const args = [...Object.entries(options).flatMap(([name, value]) => [`--${name}`, value]), '--', '/bin/sh', '-c', script];
    execFileSync(native.monitorPath(), args, { env: {}, stdio: ['ignore', 'ignore', 'pipe'] });
    await waitFor(join(state, 'status'));
    assert.equal(readFileSync(join(state, 'status'), 'utf8'), 'state=exited\ncode=0\n');
    const out = readFileSync(join(state, 'stdout.log'), 'utf8').replace(/[ \t]+/g, ' ');
    assert.equal(out, `0\n 0 ${UID_BASE} ${COUNT}\n lo\nfrom the env file\n`);
  });

  it('tells a lost bind mount (nsCheck false), and nsDestroy still removes everything, repeatably', () => {
    execFileSync('umount', ['--lazy', join(dir, 'net')]);
    assert.equal(native.nsCheck(dir), false);
    native.nsDestroy(dir);
    assert.deepEqual(mountsAt(dir), []);
    assert.ok(!existsSync(dir));
    native.nsDestroy(dir);
    assert.equal(native.nsCheck(dir), false);
  });
});

describe('homeImageAsync and loopMountAsync (a tenant home without a process)', () => {
  const run = `/run/governor-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const template = join(run, 'template.img');
  const image = join(run, 'home.img');
  const point = join(run, 'home');

  /** The loop devices whose backing file is `file`, from sysfs. */
  function loopsOf(file: string): string[] {
    return execFileSync('losetup', ['--noheadings', '--output', 'NAME', '--associated', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  }

  /** The kernel releases an autoclear device from a work queue after the unmount: a moment later, under load. */
  async function released(file: string): Promise<string[]> {
    for (let i = 0; i < 500 && loopsOf(file).length > 0; i++) await sleep(20);
    return loopsOf(file);
  }

  const uuidOf = (file: string) => execFileSync('blkid', ['-o', 'value', '-s', 'UUID', file], { encoding: 'utf8' }).trim();

  before(() => {
    mkdirSync(point, { recursive: true, mode: 0o700 });
    execFileSync('truncate', ['-s', '16M', template]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', 'metadata_csum_seed', template]);
  });

  after(() => {
    if (mountsAt(point).length > 0) execFileSync('umount', ['--lazy', point]);
    assert.deepEqual(mountsAt(run), [], 'no mount is left');
    rmSync(run, { recursive: true, force: true });
  });

  it('copies the template into a filesystem of its own, owned by the tenant, that e2fsck finds clean', async () => {
    await native.homeImageAsync(template, image, UID_BASE);
    await native.homeImageAsync(template, join(run, 'other.img'), UID_BASE + COUNT);
    const uuids = [template, image, join(run, 'other.img')].map(uuidOf);
    assert.equal(new Set(uuids).size, 3, `three UUIDs: ${uuids.join(' ')}`);
    // -f: every check, checksums included (the superblocks' and the root inode's); -n: change nothing.
    for (const file of [image, join(run, 'other.img')]) execFileSync('e2fsck', ['-fn', file], { stdio: 'ignore' });
    await assert.rejects(native.homeImageAsync(template, image, UID_BASE), (err: unknown) => err instanceof NativeError && err.code === 'EEXIST');
    await assert.rejects(
      native.homeImageAsync(join(run, 'missing.img'), join(run, 'x.img'), 0),
      (err: unknown) => err instanceof NativeError && err.code === 'ENOENT',
    );
    assert.ok(!existsSync(join(run, 'x.img')), 'no image is left from a failed copy');
  });

  it('mounts the image nosuid,nodev on a loop device that goes with the unmount', async () => {
    await native.loopMountAsync(image, point);
    const line = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === point);
    assert.match(line ?? '', / rw,nosuid,nodev[ ,].* - ext4 \/dev\/loop\d+ /);
    assert.equal(loopsOf(image).length, 1);
    assert.equal(execFileSync('stat', ['-c', '%u:%g %a', point], { encoding: 'utf8' }).trim(), `${UID_BASE}:${UID_BASE} 755`, 'root_owner as mkfs makes it');
    writeFileSync(join(point, 'note'), 'kept');
    execFileSync('umount', [point]);
    assert.deepEqual(await released(image), [], 'the device is released at the unmount (autoclear)');
  });

  it('fails with the errno of mount(2) and leaves no device bound', async () => {
    await assert.rejects(native.loopMountAsync(image, join(run, 'missing')), (err: unknown) => err instanceof NativeError && err.code === 'ENOENT');
    await assert.rejects(native.loopMountAsync(join(run, 'missing.img'), point), (err: unknown) => err instanceof NativeError && err.code === 'ENOENT');
    assert.deepEqual(await released(image), []);
    await native.loopMountAsync(image, point);
    assert.equal(readFileSync(join(point, 'note'), 'utf8'), 'kept', 'the same filesystem, mounted again');
    execFileSync('umount', [point]);
  });
});
