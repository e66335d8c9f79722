import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLibrary, KoffiNative, NativeError, type DirFd, type ProcessExit, type SpawnRequest } from '../../libs/native/src';

const native = new KoffiNative();

/** Asserts that `fn` throws a NativeError with this code (and op, when given); returns it. */
function throwsNative(fn: () => unknown, code: string, op?: string): NativeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NativeError, `expected a NativeError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (op !== undefined) assert.equal(err.op, op);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

async function rejectsNative(promise: Promise<unknown>, code: string, op?: string): Promise<void> {
  await assert.rejects(promise, (err) => err instanceof NativeError && err.code === code && (op === undefined || err.op === op));
}

async function waitExit(pidfd: number): Promise<ProcessExit> {
  for (let i = 0; i < 500; i++) {
    const state = native.pidfdWait(pidfd);
    if (state.exited) return state;
    await sleep(10);
  }
  throw new Error(`pidfd ${pidfd} did not exit within 5 s`);
}

describe('loading libgovernor.so', () => {
  it('finds the library below the repository root from the compiled file', () => {
    const path = findLibrary();
    assert.match(path, /\/native\/build\/libgovernor\.so$/);
    assert.ok(existsSync(path), `${path} exists (make -C native)`);
  });

  it('loads lazily, and says how to build a missing library on first use', () => {
    const missing = new KoffiNative('/nonexistent/libgovernor.so');
    assert.throws(() => missing.openDir('/'), /native\/build\/libgovernor\.so is missing .*run npm install \(it builds native\/ with cc\)/);
  });
});

describe('files beneath a directory fd', () => {
  let tmp: string;
  let dir: DirFd;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'governor-native-spec-'));
    mkdirSync(join(tmp, 'sub'));
    writeFileSync(join(tmp, 'sub', 'value'), '42\n');
    writeFileSync(join(tmp, 'large'), 'x'.repeat(100_000));
    symlinkSync('sub', join(tmp, 'link'));
    dir = native.openDir(tmp);
  });

  after(() => {
    native.close(dir);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('keeps a trusted extended attribute on a directory beneath it, and has none by another name', async () => {
    assert.equal(await native.getXattr(dir, 'sub', 'trusted.governor.tenant'), undefined);
    native.setXattr(dir, 'sub', 'trusted.governor.tenant', 'owner-1');
    native.setXattr(dir, 'sub', 'trusted.governor.tenant', 'owner-2');
    assert.equal(await native.getXattr(dir, 'sub', 'trusted.governor.tenant'), 'owner-2');
    await rejectsNative(native.getXattr(dir, 'missing', 'trusted.governor.tenant'), 'ENOENT', 'getXattr');
    throwsNative(() => native.setXattr(dir, '../x', 'trusted.governor.tenant', 'x'), 'EXDEV', 'setXattr');
  });

  it('refuses to open a missing directory (ENOENT) or a file (ENOTDIR)', () => {
    throwsNative(() => native.openDir(join(tmp, 'missing')), 'ENOENT', 'openDir');
    throwsNative(() => native.openDir(join(tmp, 'sub', 'value')), 'ENOTDIR', 'openDir');
  });

  it('reads a whole file on the thread pool', async () => {
    assert.equal(await native.readFile(dir, 'sub/value'), '42\n');
    assert.equal(await native.readFile(dir, 'sub/../sub/value'), '42\n', 'a ".." that stays beneath is fine');
  });

  it('reads a file larger than the first 4 KiB buffer, synchronously and not', async () => {
    assert.equal(native.readFileSync(dir, 'large').length, 100_000);
    assert.equal((await native.readFile(dir, 'large')).length, 100_000);
  });

  it('refuses a file larger than 4 MiB with EFBIG', async () => {
    writeFileSync(join(tmp, 'huge'), '');
    truncateSync(join(tmp, 'huge'), 5 * 1024 * 1024);
    await rejectsNative(native.readFile(dir, 'huge'), 'EFBIG');
  });

  it('refuses to escape the directory with ".." or an absolute path (EXDEV)', async () => {
    await rejectsNative(native.readFile(dir, '../x'), 'EXDEV');
    throwsNative(() => native.readFileSync(dir, '/etc/hostname'), 'EXDEV', 'readFileSync');
    await rejectsNative(native.writeFile(dir, '../x', '1'), 'EXDEV');
    await rejectsNative(native.mkdir(dir, '../governor-escape', 0o755), 'EXDEV', 'mkdir');
    await rejectsNative(native.rmdir(dir, '/tmp'), 'EXDEV', 'rmdir');
  });

  it('refuses to follow a symlink (ELOOP)', async () => {
    await rejectsNative(native.readFile(dir, 'link/value'), 'ELOOP');
    await rejectsNative(native.writeFile(dir, 'link/value', '1'), 'ELOOP');
    await rejectsNative(native.mkdir(dir, 'link/new', 0o755), 'ELOOP');
  });

  it('names the operation and the whole path of a missing file (ENOENT)', async () => {
    const err = throwsNative(() => native.readFileSync(dir, 'sub/missing'), 'ENOENT', 'readFileSync');
    assert.equal(err.path, `${tmp}/sub/missing`);
    await rejectsNative(native.readFile(dir, 'sub/missing'), 'ENOENT');
  });

  it('refuses a path with a NUL byte, which C would cut short (EINVAL)', () => {
    throwsNative(() => native.readFileSync(dir, 'sub\0/../../x'), 'EINVAL');
  });

  it('writes an existing file in place, blocking or not, and never creates one', async () => {
    await native.writeFile(dir, 'sub/value', '7');
    assert.equal(readFileSync(join(tmp, 'sub', 'value'), 'utf8'), '72\n', 'no O_TRUNC, as for cgroup files');
    await native.writeFile(dir, 'sub/value', '99', { nonblock: true });
    assert.equal(readFileSync(join(tmp, 'sub', 'value'), 'utf8'), '99\n');
    await rejectsNative(native.writeFile(dir, 'sub/new', '1'), 'ENOENT');
    await rejectsNative(native.writeFile(dir, 'sub', '1'), 'EISDIR');
  });

  it('reads a batch of files in one call, each with its text or its own errno, and grows the buffer for a large one', async () => {
    const results = await native.readFiles(dir, 'sub', ['value', 'missing', '../large']);
    assert.equal(results[0]?.text, readFileSync(join(tmp, 'sub', 'value'), 'utf8'));
    assert.equal(results[1]?.errno, 'ENOENT');
    assert.equal(results[2]?.errno, 'EXDEV', 'names are resolved beneath the batch directory, not only beneath the fd');
    const [large] = await native.readFiles(dir, '', ['large']);
    assert.equal(large?.text?.length, 100_000);
    await rejectsNative(native.readFiles(dir, 'nowhere', ['value']), 'ENOENT');
  });

  it('applies a write plan in order and stops at the refused write, naming its errno', async () => {
    writeFileSync(join(tmp, 'sub', 'first'), '0\n');
    const results = await native.writeFiles(dir, 'sub', [
      { name: 'first', value: '5' },
      { name: 'absent', value: '1' },
      { name: 'value', value: '3' },
    ]);
    assert.deepEqual(
      results.map((result) => [result.name, result.done, result.errno]),
      [
        ['first', true, undefined],
        ['absent', false, 'ENOENT'],
        ['value', false, undefined],
      ],
    );
    assert.equal(readFileSync(join(tmp, 'sub', 'first'), 'utf8'), '5\n');
  });

  it("reads the system's page size", () => {
    const size = native.pageSize();
    assert.ok(size >= 4096 && (size & (size - 1)) === 0, `page size ${size}`);
  });

  it('creates a directory beneath, and refuses an existing one and a last component of ".."', async () => {
    await native.mkdir(dir, 'sub/made', 0o750);
    assert.ok(existsSync(join(tmp, 'sub', 'made')));
    await rejectsNative(native.mkdir(dir, 'sub/made', 0o750), 'EEXIST', 'mkdir');
    await rejectsNative(native.mkdir(dir, 'sub/..', 0o750), 'EINVAL');
    await rejectsNative(native.mkdir(dir, 'missing/made', 0o750), 'ENOENT');
  });

  it('removes an empty directory, and refuses a non-empty one (ENOTEMPTY)', async () => {
    await native.mkdir(dir, 'empty', 0o755);
    await native.rmdir(dir, 'empty');
    assert.ok(!existsSync(join(tmp, 'empty')));
    await rejectsNative(native.rmdir(dir, 'sub'), 'ENOTEMPTY', 'rmdir');
    await rejectsNative(native.rmdir(dir, 'empty'), 'ENOENT');
  });

  it('closes an fd once, and EBADF the second time', () => {
    const fd = native.openDir(tmp);
    native.close(fd);
    throwsNative(() => native.close(fd), 'EBADF', 'close');
  });
});

describe('the open-file limit', () => {
  it('is raised as far as the capabilities allow, and never lowered', () => {
    // In a child with a small limit: a raised hard limit could not be lowered again in this process.
    const script = [
      `const { KoffiNative } = require(${JSON.stringify(join(__dirname, '..', '..', 'libs', 'native', 'src'))});`,
      'const native = new KoffiNative();',
      'const limits = () => /^Max open files +(\\d+) +(\\d+)/m.exec(require("fs").readFileSync("/proc/self/limits", "utf8")).slice(1).map(Number);',
      'const before = limits();',
      'const raised = native.raiseOpenFileLimit(8192);',
      'const after = limits();',
      'const again = native.raiseOpenFileLimit(16);',
      'console.log(JSON.stringify({ before, raised, after, again, last: limits() }));',
    ].join('\n');
    const run = spawnSync('prlimit', ['--nofile=256:4096', process.execPath, '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const { before, raised, after, again, last } = JSON.parse(run.stdout) as Record<'before' | 'after' | 'last', number[]> & { raised: number; again: number };
    // CAP_SYS_RESOURCE (bit 24) lets the hard limit rise; without it only the soft one may, up to the hard one.
    const capable = (BigInt(`0x${/^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) >> 24n) & 1n;
    assert.deepEqual(after, capable === 1n ? [8192, 8192] : [4096, 4096], JSON.stringify({ before, after }));
    assert.equal(raised, after[0]);
    assert.equal(again, raised, 'a smaller ask lowers nothing');
    assert.deepEqual(last, after);
  });
});

describe('pidfds', () => {
  it('opens a pidfd for this process and signals it with 0', () => {
    const pidfd = native.pidfdOpen(process.pid);
    native.pidfdSendSignal(pidfd, 0);
    throwsNative(() => native.pidfdWait(pidfd), 'ECHILD', 'pidfdWait');
    native.close(pidfd);
    throwsNative(() => native.pidfdSendSignal(pidfd, 0), 'EBADF', 'pidfdSendSignal');
    throwsNative(() => native.pidfdOpen(-1), 'EINVAL', 'pidfdOpen');
  });
});

describe('spawn into a cgroup v2 test directory', () => {
  // Only a directory this test creates, removed afterwards (GOVERNOR_TEST_CGROUP2 overrides the tree).
  const tree = process.env.GOVERNOR_TEST_CGROUP2 ?? '/sys/fs/cgroup/unified';
  const name = `governor-native-test-${randomBytes(4).toString('hex')}`;
  const cgroupDir = join(tree, name);
  const running: number[] = [];
  let root: DirFd;
  let tmp: string;

  const request = (overrides: Partial<SpawnRequest>): SpawnRequest => ({
    command: '/bin/true',
    args: ['true'],
    env: ['GV_TEST=from-env'],
    cwd: tmp,
    cgroupDir,
    stdoutPath: join(tmp, 'out.log'),
    stderrPath: join(tmp, 'err.log'),
    ...overrides,
  });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'governor-native-spawn-'));
    root = native.openDir(tree);
    await native.mkdir(root, name, 0o755);
  });

  after(async () => {
    for (const pidfd of running) {
      native.pidfdSendSignal(pidfd, 9);
      await waitExit(pidfd);
    }
    // The cgroup stays busy until its last task has been released, a moment after reaping.
    for (let attempt = 1; ; attempt++) {
      try {
        await native.rmdir(root, name);
        break;
      } catch (err) {
        if (!(err instanceof NativeError && err.code === 'EBUSY' && attempt < 100)) throw err;
        await sleep(10);
      }
    }
    native.close(root);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('says "command not found" for a missing command (ENOENT, op spawn)', () => {
    const err = throwsNative(() => native.spawn(request({ command: '/nonexistent/cmd' })), 'ENOENT', 'spawn');
    assert.equal(err.path, '/nonexistent/cmd');
    assert.match(err.message, /command not found/);
  });

  it('says "cwd does not exist" for a missing cwd', () => {
    const err = throwsNative(() => native.spawn(request({ cwd: '/nonexistent/cwd' })), 'ENOENT', 'spawn');
    assert.equal(err.path, '/nonexistent/cwd');
    assert.match(err.message, /cwd does not exist/);
  });

  it('names the cgroup directory when it cannot be opened', () => {
    const err = throwsNative(() => native.spawn(request({ cgroupDir: '/nonexistent/cgroup' })), 'ENOENT', 'spawn');
    assert.equal(err.path, '/nonexistent/cgroup');
  });

  it('runs the command with its args, env and cwd, captures stdout and stderr, and reports the exit code', async () => {
    const script = 'echo "$GV_TEST $(pwd) $0"; echo oops >&2; exit 3';
    const child = native.spawn(request({ command: '/bin/sh', args: ['sh', '-c', script, 'arg0'] }));
    assert.ok(child.pid > 0 && child.pidfd >= 0);
    assert.deepEqual(await waitExit(child.pidfd), { exited: true, code: 3 });
    native.close(child.pidfd);
    assert.equal(readFileSync(join(tmp, 'out.log'), 'utf8'), `from-env ${tmp} arg0\n`);
    assert.equal(readFileSync(join(tmp, 'err.log'), 'utf8'), 'oops\n');
  });

  it('starts the child inside the cgroup, and reports the signal that killed it', async () => {
    const child = native.spawn(request({ command: '/bin/sleep', args: ['sleep', '30'] }));
    running.push(child.pidfd);
    assert.equal(native.readFileSync(root, `${name}/cgroup.procs`), `${child.pid}\n`);
    assert.match(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), new RegExp(`^0::.*/${name}$`, 'm'));
    assert.deepEqual(native.pidfdWait(child.pidfd), { exited: false });
    native.pidfdSendSignal(child.pidfd, 9);
    assert.deepEqual(await waitExit(child.pidfd), { exited: true, signal: 9 });
    running.pop();
    throwsNative(() => native.pidfdSendSignal(child.pidfd, 0), 'ESRCH');
    native.close(child.pidfd);
  });

  it('writes and reads back a cgroup control file', async () => {
    await native.writeFile(root, `${name}/cgroup.max.descendants`, '1', { nonblock: true });
    assert.equal(await native.readFile(root, `${name}/cgroup.max.descendants`), '1\n');
  });
});

describe('the id this network namespace gives another', () => {
  const ns = join('/run', `governor-test-nsid-${randomBytes(4).toString('hex')}`);
  const hostEnd = `gvnsid${randomBytes(3).toString('hex')}`;
  before(() => {
    writeFileSync(ns, '');
    execFileSync('unshare', [`--net=${ns}`, 'true']);
  });
  after(() => {
    spawnSync('ip', ['link', 'del', hostEnd]);
    spawnSync('umount', [ns]);
    rmSync(ns, { force: true });
  });

  it('is -1 until a link leads there, then the nsid the host end names as its peer', async () => {
    assert.equal(native.netNsid(ns), -1);
    execFileSync('nsenter', [`--net=${ns}`, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', hostEnd, 'netns', String(process.pid)]);
    const peer = /^peer \d+ (\d+) (-?\d+)$/m.exec(await native.observeNetwork(undefined, [hostEnd]));
    assert.ok(peer, 'the host end has a peer line');
    const eth0 = /^link (\d+) eth0 /m.exec(await native.observeNetwork(ns, ['eth0']));
    assert.equal(peer[1], eth0?.[1], 'the peer index is eth0’s');
    assert.notEqual(Number(peer[2]), -1);
    assert.equal(native.netNsid(ns), Number(peer[2]));
    throwsNative(() => native.netNsid(join(ns, 'missing')), 'ENOTDIR', 'netNsid');
  });
});
