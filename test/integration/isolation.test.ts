import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { bodyOf, type Problem, type Reply, type Workload } from '../support/api';
import { KoffiNative } from '../../libs/native/src/native';
import { hostScratch } from '../support/cgroup-root';
import { startGovernor, type TestGovernor } from '../support/governor.harness';

// Issue 11 on this host: each tenant's init, its PID, mount, UTS, IPC and cgroup namespaces, its mount view
// (read-only host, private tmpfs, a home) and what is left once it is deleted, through the real API.
const host = hostScratch('isolation');
let gov: TestGovernor;

before(async () => {
  gov = await startGovernor({ ...host.env, GOVERNOR_NET_POOL: '10.233.0.0/24', GOVERNOR_RESYNC_INTERVAL: '1s' });
});
after(async () => {
  await gov?.close();
  host.cleanup();
});

interface Isolation {
  init: { pid: number | null; state: string; restarts: number; restartedAt: string | null };
  namespaces: Array<{ kind: string; inode: number }>;
}
interface Tenant {
  id: string;
  rootfs: string | null;
  hostname: string;
  status: { phase: string; observedGeneration: number; uidRange: { start: number } | null; isolation: Isolation | null; conditions: unknown[] };
}
interface Ran {
  id: string;
  state: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  namespaces: Array<{ kind: string; inode: number }>;
}

const get = async (name: string): Promise<Tenant> => (await gov.http.get(`/v1/tenants/${name}`).set('Authorization', gov.root)).body as Tenant;

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

async function tenant(name: string, quota: object = {}, ms = 20_000): Promise<Tenant> {
  const res = await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name, quota });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return until(
    `${name} is ready`,
    () => get(name),
    (t) => t.status.phase === 'Ready' && t.status.isolation?.init.state === 'running',
    ms,
  );
}

/** Runs `script` with /bin/sh in a tenant's workload and returns its end and its output. */
async function sh(name: string, script: string): Promise<Ran> {
  const res: Reply<Workload> = await gov.http
    .post(`/v1/tenants/${name}/workloads`)
    .set('Authorization', gov.root)
    .send({ command: ['/bin/sh', '-c', script] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const done = await until(
    `workload ${res.body.id} ends`,
    async () => bodyOf<Omit<Ran, 'stdout' | 'stderr'>>(await gov.http.get(`/v1/tenants/${name}/workloads/${res.body.id}`).set('Authorization', gov.root)),
    (w: Omit<Ran, 'stdout' | 'stderr'>) => !['starting', 'running'].includes(w.state),
  );
  const log = async (stream: string) =>
    (await gov.http.get(`/v1/tenants/${name}/workloads/${res.body.id}/logs`).query({ stream }).set('Authorization', gov.root)).text;
  return { ...done, stdout: await log('stdout'), stderr: await log('stderr') };
}

const procStatus = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');

describe('tenant isolation', () => {
  let acme: Tenant;
  let beta: Tenant;
  before(async () => {
    [acme, beta] = await Promise.all([
      tenant('acme', { filesystem: { tmpSize: '8Mi', homeSize: '16Mi' } }),
      tenant('beta', { filesystem: { tmpSize: '8Mi', homeSize: '16Mi' } }),
    ]);
  });

  it('runs an init as PID 1 of the tenant, and ps inside lists only the tenant’s processes', async () => {
    const init = acme.status.isolation!.init;
    assert.equal(init.state, 'running');
    assert.match(procStatus(init.pid!), /^NSpid:\s+\d+\s+1$/m, 'PID 1 of its own namespace');
    assert.equal(procStatus(init.pid!).match(/^PPid:\s+(\d+)$/m)?.[1], '1', 'adopted by the host init, not a child of the governor');
    assert.match(readFileSync(join(host.root, 'tenants', 'acme', 'init', 'cgroup.procs'), 'utf8'), new RegExp(`^${init.pid}$`, 'm'), 'in its own leaf');
    assert.deepEqual(acme.status.isolation!.namespaces.map((ns) => ns.kind).sort(), ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']);

    const ran = await sh('acme', 'ps -e -o pid=,args=; cat /proc/self/cgroup');
    assert.equal(ran.exitCode, 0, ran.stderr);
    const processes = ran.stdout
      .trim()
      .split('\n')
      .filter((line) => /^\s*\d+ /.test(line))
      .map((line) => line.trim().split(/\s+/, 2));
    assert.deepEqual(processes[0], ['1', `${readFileSync(`/proc/${init.pid}/cmdline`, 'utf8').split('\0')[0]}`]);
    assert.deepEqual(
      processes.slice(1).map(([, args]) => args),
      ['/bin/sh', 'ps'],
      `only the init, the shell and ps: ${ran.stdout}`,
    );
    assert.match(ran.stdout, /^0::\/$/m, 'the cgroup namespace shows the workload its own root');
    // The workload reports the tenant's namespaces it joined (its cgroup namespace is its own).
    const tenantNs = new Map(acme.status.isolation!.namespaces.map((ns) => [ns.kind, ns.inode]));
    for (const kind of ['pid', 'mnt', 'uts', 'ipc', 'net', 'user']) {
      assert.equal(ran.namespaces.find((ns) => ns.kind === kind)?.inode, tenantNs.get(kind), kind);
    }
    assert.notEqual(ran.namespaces.find((ns) => ns.kind === 'cgroup')?.inode, undefined);
  });

  it('names the host after the tenant, and refuses sethostname to the tenant’s root', async () => {
    const ran = await sh('acme', 'hostname; hostname elsewhere; echo refused=$?; hostname');
    assert.deepEqual(ran.stdout.trim().split('\n'), ['acme', 'refused=1', 'acme']);
  });

  it('keeps a SysV shared memory segment of one tenant from another tenant and from the host', async () => {
    const made = await sh('acme', "ipcmk -M 4096 >/dev/null && ipcs -m | awk '$1 ~ /^0x/ { print $1 }'");
    const key = made.stdout.trim();
    assert.match(key, /^0x[0-9a-f]+$/, made.stderr);
    const other = await sh('beta', 'ipcs -m');
    assert.ok(!other.stdout.includes(key), other.stdout);
    assert.ok(!spawnSync('ipcs', ['-m'], { encoding: 'utf8' }).stdout.includes(key), 'the host does not list it');
    assert.match((await sh('acme', 'ipcs -m')).stdout, new RegExp(key), 'the segment lives as long as the tenant');
  });

  it('gives each tenant a private /tmp of filesystem.tmpSize, charged to no one else', async () => {
    const wrote = await sh('acme', 'echo mine > /tmp/acme-file; df -k /tmp | tail -1; head -c 12M /dev/zero > /tmp/big; echo rc=$?');
    assert.equal(wrote.stdout.trim().split('\n')[0].split(/\s+/)[1], '8192', `an 8 MiB tmpfs: ${wrote.stdout}`);
    assert.match(wrote.stdout, /rc=1/);
    assert.match(wrote.stderr, /No space left on device/);
    assert.equal((await sh('beta', 'ls -A /tmp /var/tmp /dev/shm')).stdout.replace(/\s+/g, ' ').trim(), '/dev/shm: /tmp: /var/tmp:');
    assert.ok(!existsSync('/tmp/acme-file'), 'nothing reaches the host /tmp');
    await sh('acme', 'rm -f /tmp/big');
  });

  it('refuses writes outside the home and the tmpfs with EROFS', async () => {
    const ran = await sh(
      'acme',
      'for p in /etc/x /usr/x /opt/x /var/lib/x /home/x; do touch $p 2>&1; done; touch /home/tenant/ok /tmp/ok /var/tmp/ok /dev/shm/ok /run/ok /run/lock/ok && echo writable',
    );
    assert.equal(ran.stdout.match(/Read-only file system/g)?.length, 5, ran.stdout);
    assert.match(ran.stdout, /writable/);
  });

  it('keeps the mounts that hide the host locked: umount and remount as the tenant’s root fail', async () => {
    const ran = await sh('acme', 'umount /run 2>&1; umount -l /tmp 2>&1; mount -o remount,rw / 2>&1; ls /run; kill -9 1; sleep 0.2; ps -o pid= -p 1');
    assert.ok(!/postgresql|mysqld|governor/.test(ran.stdout), ran.stdout);
    assert.ok((ran.stdout.match(/(not permitted|Invalid argument|not mounted|must be superuser|permission denied)/gi)?.length ?? 0) >= 3, ran.stdout);
    assert.match(ran.stdout.trim(), /\b1$/, 'kill -9 1 from inside does nothing: PID 1 is still there');
  });

  it('hides the host’s database sockets, the governor’s state and the other tenants', async () => {
    const ran = await sh(
      'acme',
      [
        `ls ${host.runDir} ${host.root} /run/postgresql /run/mysqld /var/run/postgresql ${gov.config.dataDir} /sys/fs/cgroup 2>&1`,
        'ls /run/postgresql/.s.PGSQL.5432 /run/mysqld/mysqld.sock 2>&1',
        'ps -e -o args= | grep -c [g]overnor-monitor',
        'ls /proc | grep -c "^[0-9]"',
      ].join('; '),
    );
    assert.ok(!/\.s\.PGSQL|mysqld\.sock|tenants|monitors|workloads|beta/.test(ran.stdout.replace(/ls: cannot access[^\n]*/g, '')), ran.stdout);
    assert.ok(existsSync('/run/postgresql/.s.PGSQL.5432'), 'the socket is there on the host');
    const lines = ran.stdout.trim().split('\n');
    assert.equal(lines[lines.length - 2], '0', 'no monitor is visible');
    assert.ok(Number(lines[lines.length - 1]) <= 6, `only a handful of pids in /proc: ${lines[lines.length - 1]}`);
    // From the host side, a monitor's command line names its workload and nothing else.
    const sleeper: Reply<Workload> = await gov.http
      .post('/v1/tenants/acme/workloads')
      .set('Authorization', gov.root)
      .send({ command: ['/bin/sleep', '30'] });
    const monitorPid = Number(
      await until(
        'the monitor pid',
        () => Promise.resolve(readFileSync(join(host.runDir, 'workloads', sleeper.body.id, 'monitor.pid'), 'utf8').trim()),
        Boolean,
      ),
    );
    assert.deepEqual(readFileSync(`/proc/${monitorPid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1), [sleeper.body.id]);
    await gov.http.delete(`/v1/tenants/acme/workloads/${sleeper.body.id}`).query({ grace: '0s' }).set('Authorization', gov.root);
  });

  it('uses a rootfs as the tenant’s root with its own hostname, and refuses a missing rootfs or a file with 400', async () => {
    for (const rootfs of ['/no/such/image', '/etc/hostname', 'relative/dir', '/']) {
      const res: Reply<Problem> = await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'rooted', rootfs });
      assert.equal(res.status, 400, rootfs);
      assert.deepEqual(
        res.body.errors.map((e) => e.path),
        ['rootfs'],
      );
    }
    // A minimal image: a static busybox and the directories the view needs.
    const rootfs = mkdtempSync(join(tmpdir(), 'governor-rootfs-'));
    chmodSync(rootfs, 0o755);
    for (const dir of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'var/tmp', 'run', 'home']) mkdirSync(join(rootfs, dir), { recursive: true });
    copyFileSync('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'ls', 'cat', 'hostname', 'touch']) symlinkSync('busybox', join(rootfs, 'bin', applet));
    writeFileSync(join(rootfs, 'etc', 'marker'), 'from the image\n');
    try {
      const res: Reply<Tenant> = await gov.http.post('/v1/tenants').set('Authorization', gov.root).send({ name: 'rooted', rootfs, hostname: 'box-1' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual({ rootfs: res.body.rootfs, hostname: res.body.hostname }, { rootfs, hostname: 'box-1' });
      await until(
        'rooted is ready',
        () => get('rooted'),
        (t) => t.status.isolation?.init.state === 'running',
      );
      const ran = await sh('rooted', 'cat /etc/marker; hostname; ls /; touch /etc/x; touch /tmp/ok && echo tmp-ok');
      assert.deepEqual(ran.stdout.trim().split(/\s+/), [
        'from',
        'the',
        'image',
        'box-1',
        'bin',
        'dev',
        'etc',
        'home',
        'proc',
        'run',
        'sys',
        'tmp',
        'var',
        'tmp-ok',
      ]);
      assert.match(ran.stderr, /Read-only file system/);
      assert.equal((await gov.http.patch('/v1/tenants/rooted').set('Authorization', gov.root).send({ rootfs: '/' })).status, 400, 'set at create only');
    } finally {
      await gov.http.delete('/v1/tenants/rooted').set('Authorization', gov.root);
      await until(
        'rooted is gone',
        async () => (await gov.http.get('/v1/tenants/rooted').set('Authorization', gov.root)).status,
        (s) => s === 404,
      );
      rmSync(rootfs, { recursive: true, force: true });
    }
  });

  it('keeps ROOT/tenants, ROOT/monitors and the run dir from being listed by host users', () => {
    for (const dir of [join(host.root, 'tenants'), join(host.root, 'monitors'), host.runDir]) {
      assert.equal(statSync(dir).mode & 0o777, 0o711, dir);
      const listed = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ls', dir], { encoding: 'utf8' });
      assert.notEqual(listed.status, 0, `nobody lists ${dir}: ${listed.stdout}`);
      assert.match(listed.stderr, /Permission denied/);
    }
  });

  it('refuses a workload past workloads.max with 409 and the numbers', async () => {
    await tenant('busy', { workloads: { max: 2 } });
    const start = () =>
      gov.http
        .post('/v1/tenants/busy/workloads')
        .set('Authorization', gov.root)
        .send({ command: ['/bin/sleep', '30'] });
    const [a, b] = await Promise.all([start(), start()]);
    assert.deepEqual([a.status, b.status], [201, 201]);
    const third: Reply<Problem> = await start();
    assert.equal(third.status, 409, JSON.stringify(third.body));
    assert.match(third.body.detail, /runs 2 workloads .*quota workloads\.max 2/);
    assert.equal(
      (
        await gov.http
          .post('/v1/tenants/busy/workloads')
          .set('Authorization', gov.root)
          .send({ command: ['/bin/true'], quota: { workloads: { max: 9 } } })
      ).status,
      400,
    );
    await gov.http.delete('/v1/tenants/busy').set('Authorization', gov.root);
  });

  it('keeps the home across workloads and a governor restart, within filesystem.homeSize', async () => {
    const uid = acme.status.uidRange!.start;
    assert.equal((await sh('acme', 'echo kept > /home/tenant/note; stat -c %u /home/tenant')).stdout.trim(), '0', 'owned by the tenant’s root');
    const initPid = acme.status.isolation!.init.pid;
    await gov.restart();
    assert.equal((await get('acme')).status.isolation!.init.pid, initPid, 'the init outlives the governor');
    assert.equal((await sh('acme', 'cat /home/tenant/note')).stdout.trim(), 'kept');
    // The homes directory is a mount of its own, so that a tenant init detaches every other home in one call,
    // and the restart mounted nothing a second time.
    const mounts = (point: string) =>
      spawnSync('findmnt', ['-rn', '-o', 'SOURCE', '--mountpoint', point], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    assert.equal(mounts(join(host.runDir, 'homes')).length, 1, 'the homes directory is one mount');
    assert.deepEqual(
      mounts(join(host.runDir, 'homes', 'acme')).map((source) => /^\/dev\/loop\d+$/.test(source)),
      [true],
      'the home is mounted once, from a loop device',
    );
    const full = await sh('acme', 'head -c 32M /dev/zero > /home/tenant/big; echo rc=$?; rm -f /home/tenant/big');
    assert.match(full.stdout, /rc=1/);
    assert.match(full.stderr, /No space left on device/);
    const image = join(gov.config.dataDir, 'homes', `${acme.id}.img`);
    assert.equal(statSync(image).size, 16 * 1024 * 1024);
    assert.ok(uid > 0);
  });

  it('starts the init again when it is killed from the host, and says so in the status and an event', async () => {
    const old = (await get('beta')).status.isolation!.init.pid!;
    process.kill(old, 'SIGKILL');
    const after = await until(
      'a new init',
      () => get('beta'),
      (t) => t.status.isolation?.init.state === 'running' && t.status.isolation.init.pid !== old,
    );
    assert.equal(after.status.isolation!.init.restarts, 1);
    const events = await gov.query<{ kind: string; message: string }>(`SELECT kind, message FROM tenant_events WHERE tenant_id = $1`, [beta.id]);
    assert.ok(
      events.some((e) => e.kind === 'init' && e.message.includes(`pid ${old}`)),
      JSON.stringify(events),
    );
    assert.equal((await sh('beta', 'hostname')).stdout.trim(), 'beta', 'workloads run in the new namespaces');
  });

  it('holds a deleted tenant’s uid block in quarantine until every node that hosted it confirms its teardown', async () => {
    const held = await tenant('held');
    // A second node that hosted the tenant and is down now: its status row says Ready, its heartbeat is old.
    await gov.query(`INSERT INTO tenant_statuses (tenant_id, node, observed_generation, phase, conditions) VALUES ($1, 'node-down', 1, 'Ready', '[]')`, [
      held.id,
    ]);
    assert.equal((await gov.http.delete('/v1/tenants/held').set('Authorization', gov.root)).status, 202);
    await until(
      'held is gone',
      async () => (await gov.http.get('/v1/tenants/held').set('Authorization', gov.root)).status,
      (s) => s === 404,
    );
    const [row] = await gov.query<{ quarantined: boolean; released: boolean }>(
      `SELECT quarantined_at IS NOT NULL AS quarantined, released_at IS NOT NULL AS released FROM tenant_allocations WHERE tenant_id = $1`,
      [held.id],
    );
    assert.deepEqual(row, { quarantined: true, released: false });
    const other = await tenant('other');
    assert.notEqual(other.status.uidRange!.start, held.status.uidRange!.start, 'a quarantined block is not handed out');
    // The node comes back and confirms (its own sweep writes Deleted); the next pass here releases the block.
    await gov.query(`UPDATE tenant_statuses SET phase = 'Deleted' WHERE tenant_id = $1 AND node = 'node-down'`, [held.id]);
    await until(
      'the block is released',
      async () =>
        (await gov.query<{ released: boolean }>(`SELECT released_at IS NOT NULL AS released FROM tenant_allocations WHERE tenant_id = $1`, [held.id]))[0],
      (r) => r.released,
    );
    assert.equal((await tenant('after')).status.uidRange!.start, held.status.uidRange!.start, 'released, it is the lowest free block again');
    for (const name of ['other', 'after']) await gov.http.delete(`/v1/tenants/${name}`).set('Authorization', gov.root);
  });

  it('leaves nothing of a deleted tenant to the next tenant that gets its uid block', async () => {
    const doomed = await tenant('doomed', { filesystem: { homeSize: '16Mi' } });
    const made = await sh('doomed', 'echo secret > /home/tenant/secret; echo secret > /var/tmp/secret; ipcmk -M 4096 >/dev/null; ipcs -m | grep -c "^0x"');
    assert.equal(made.stdout.trim(), '1');
    const initPid = doomed.status.isolation!.init.pid!;
    assert.equal((await gov.http.delete('/v1/tenants/doomed').set('Authorization', gov.root)).status, 202);
    await until(
      'doomed is gone',
      async () => (await gov.http.get('/v1/tenants/doomed').set('Authorization', gov.root)).status,
      (s) => s === 404,
    );
    assert.ok(!existsSync(`/proc/${initPid}`) || /State:\s+Z/.test(procStatus(initPid)), 'its init is gone');
    assert.ok(!existsSync(join(gov.config.dataDir, 'homes', `${doomed.id}.img`)), 'its home image is gone');
    assert.ok(!readdirSync(join(host.runDir, 'homes')).includes('doomed'));

    // Blocks freed by earlier tests are lower: new tenants take them first, until one gets doomed's block.
    let next = await tenant('next0', { filesystem: { homeSize: '16Mi' } });
    for (let i = 1; i < 8 && next.status.uidRange!.start !== doomed.status.uidRange!.start; i++) next = await tenant(`next${i}`);
    assert.equal(next.status.uidRange!.start, doomed.status.uidRange!.start, 'the same uid block');
    const seen = await sh(
      (await gov.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1', [next.id]))[0].name,
      'ls -A /home/tenant /var/tmp /tmp /dev/shm; ipcs -m | grep -c "^0x"',
    );
    assert.equal(seen.stdout.replace(/\s+/g, ' ').trim(), '/dev/shm: /home/tenant: lost+found /tmp: /var/tmp: 0');
  });
});

describe('the mount template of tenant inits', () => {
  const template = () => join(host.runDir, 'mount-template');
  const native = new KoffiNative();
  /** CLONE_NEWNS: the template is a bound mount namespace */
  const isMountNamespace = (path: string) => native.nsType(path) === 0x20000;
  /** The init's own view (its mount namespace B), as the host reads it: [mount point, fs type, source, device]. */
  const viewOf = (pid: number) =>
    readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [left, right] = line.split(' - ');
        const [type, source] = right.split(' ');
        return { point: left.split(' ')[4], type, source, device: left.split(' ')[2] };
      });
  // Without the template an init copies the host's namespace and detaches every namespace file on the host, one
  // RCU grace period each: on a host shared with other governors' runs (thousands of mounts) that takes long.
  const initOf = async (name: string, ms = 20_000) =>
    (await tenant(name, { filesystem: { tmpSize: '8Mi', homeSize: '16Mi' } }, ms)).status.isolation!.init.pid!;
  /** A mount made on the host now: in a view copied from the host's namespace from now on, not in the template. */
  let probe: string;

  before(() => {
    probe = probeDir();
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'governor-probe', probe], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, mounted.stderr);
  });
  after(() => {
    spawnSync('umount', ['-l', probe]);
    rmSync(probe, { recursive: true, force: true });
  });

  /**
   * Where the probe goes: not below a directory the view covers with its own tmpfs (/tmp, /run, ...), where the
   * template holds nothing, nor on a read-only root (the kernel guest's). The checkout's var/ first, unless the
   * checkout itself is below one (a clone in /tmp, as CI may make), then /var/lib.
   */
  function probeDir(): string {
    const covered = ['/run', '/tmp', '/var/tmp', '/dev/shm', '/home'];
    for (const parent of [resolve(__dirname, '..', '..', '..', 'var'), '/var/lib/governor-test']) {
      if (covered.some((dir) => parent === dir || parent.startsWith(`${dir}/`))) continue;
      try {
        mkdirSync(parent, { recursive: true });
        return mkdtempSync(join(parent, 'governor-probe-'));
      } catch {
        // read-only: the next one
      }
    }
    throw new Error('no writable directory outside /run, /tmp, /var/tmp, /dev/shm and /home for the probe mount');
  }

  /** What every view must be, however the init started: no namespace file, nothing of the run dir but its hiding tmpfs, its own home. */
  function assertClean(name: string, pid: number): void {
    const view = viewOf(pid);
    assert.deepEqual(
      view.filter((m) => m.type === 'nsfs'),
      [],
      'no namespace file: it would keep another tenant’s namespaces alive',
    );
    assert.deepEqual(
      view.filter((m) => m.point.startsWith(`${host.runDir}/`)).map((m) => m.point),
      [],
      'no home or namespace file of any tenant below the run dir',
    );
    const home = spawnSync('findmnt', ['-rn', '-o', 'SOURCE', '--mountpoint', join(host.runDir, 'homes', name)], { encoding: 'utf8' }).stdout.trim();
    assert.match(home, /^\/dev\/loop\d+$/);
    assert.deepEqual(
      view.filter((m) => m.source === home).map((m) => m.point),
      ['/home/tenant'],
      'its own home, once, at /home/tenant',
    );
  }

  /** A view copied from the template holds nothing below the directories it covers with its own tmpfs but its home. */
  function assertNothingCovered(pid: number): void {
    const covered = ['/run', '/tmp', '/var/tmp', '/dev/shm', '/home'];
    assert.deepEqual(
      viewOf(pid)
        .map((m) => m.point)
        .filter((point) => point !== '/home/tenant' && covered.some((dir) => point.startsWith(`${dir}/`))),
      [],
      'nothing held out of sight (another governor’s homes under its run dir, a user’s /run/user/<uid>)',
    );
  }

  it('starts each init from the template made at start: no namespace file or other home, and a view that does not grow with the tenants', async () => {
    assert.ok(isMountNamespace(template()), 'the template is a bound mount namespace');
    const first = await initOf('tpl-a');
    assertClean('tpl-a', first);
    assertNothingCovered(first);
    const view = viewOf(first);
    assert.ok(!view.some((m) => m.point === probe), 'a mount made on the host after the governor started is not in the template’s copy');
    // Each tenant adds about six mounts to the host (namespace files, its home): none reaches a later init.
    await Promise.all(['tpl-b', 'tpl-c', 'tpl-d'].map((name) => initOf(name)));
    const later = await initOf('tpl-e');
    assertClean('tpl-e', later);
    assert.equal(viewOf(later).length, view.length, 'the same number of mounts with three more tenants on the host');
    // Every superblock costs the kernel a shrinker id, and a new one can grow a map in every memory cgroup: the
    // views share the template's one empty tmpfs for what they hide.
    const hiding = (pid: number) => viewOf(pid).filter((m) => m.point === host.runDir || m.point === '/sys/fs/cgroup');
    assert.ok(hiding(first).length >= 1 && hiding(first).every((m) => m.type === 'tmpfs'), JSON.stringify(hiding(first)));
    assert.deepEqual(
      [...new Set([...hiding(first), ...hiding(later)].map((m) => m.device))].length,
      1,
      `one tmpfs hides the run dir and the cgroup tree in every view: ${JSON.stringify([...hiding(first), ...hiding(later)])}`,
    );
    const ran = await sh('tpl-e', 'hostname; touch /home/tenant/ok /tmp/ok && echo writable; touch /etc/x 2>&1');
    assert.match(ran.stdout, /^tpl-e\nwritable\n.*Read-only file system/);
  });

  it('starts a working init the old way when the template is gone, and makes it again at the next start', async () => {
    // Gone while the governor runs (a hand umount): warned of once, and inits copy the host's namespace.
    assert.equal(spawnSync('umount', ['-l', template()]).status, 0);
    assert.ok(!isMountNamespace(template()));
    const copied = await initOf('tpl-f', 180_000);
    assertClean('tpl-f', copied);
    assert.ok(
      viewOf(copied).some((m) => m.point === probe),
      'a copy of the host’s namespace: the mount made since the start is there',
    );
    assert.equal((await sh('tpl-f', 'hostname; touch /home/tenant/ok && echo writable')).stdout, 'tpl-f\nwritable\n');

    // The next start makes it again, from the host's namespace as it is then.
    await gov.restart();
    assert.ok(isMountNamespace(template()), 'made again at start');
    const again = await initOf('tpl-g');
    assertClean('tpl-g', again);
    assertNothingCovered(again);
    assert.ok(
      viewOf(again).some((m) => m.point === probe),
      'the new template holds what the host had at this start',
    );
  });

  it('starts a working init the old way when the template cannot be made', async () => {
    // A directory where the template's file goes: the kernel refuses the bind, as a container would refuse the unshare.
    while (spawnSync('umount', ['-l', template()]).status === 0);
    rmSync(template());
    mkdirSync(template());
    await gov.restart();
    assert.ok(!isMountNamespace(template()));
    const pid = await initOf('tpl-h', 180_000);
    assertClean('tpl-h', pid);
    assert.equal((await sh('tpl-h', 'hostname; touch /home/tenant/ok && echo writable')).stdout, 'tpl-h\nwritable\n');
    rmSync(template(), { recursive: true });
    await gov.restart();
    assert.ok(isMountNamespace(template()), 'made once the path is free');
  });
});
