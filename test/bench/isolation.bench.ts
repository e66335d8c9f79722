import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import { TenantNamespaces } from '../../libs/network/src/namespaces';
import { currentBootId, readMonitorStatus, removeState, WorkloadMonitors } from '../../libs/workloads/src/monitor';
import { readTenantInit, startTenantInit } from '../../libs/workloads/src/tenant-init';
import { hostScratch } from '../support/cgroup-root';
import { cleanupOnSignal, fixed, millis, report, summarize, times, type Summary } from './stats';

// Starting /bin/true with every namespace, on this host, two ways, interleaved one of each per round:
//   governor  what WorkloadsService.start does once the tenant exists: a fresh leaf and monitor cgroup, then
//             WorkloadMonitors.launch, which hands the launch to the spare governor-monitor made after the last
//             one (gv_monitor_start), whose monitor clone3s the workload into the leaf, into the tenant init's PID
//             namespace and a new cgroup namespace, and joins its mount (the locked view: read-only host,
//             private /tmp, /proc), UTS, IPC, network and user namespaces. The tenant's namespaces are made
//             once, by its init, before the first round: they are joined per start, not made.
//   bwrap     Debian's bubblewrap making the same set per start: `bwrap --unshare-all --uid 0 --ro-bind / /
//             --proc /proc --dev /dev --tmpfs /tmp /bin/true` (user, mount, PID, UTS, IPC, net, cgroup).
//   crun      with GOVERNOR_BENCH_CRUN=1 (the kernel guest: crun refuses a hybrid host's cgroups), Debian's crun
//             running an OCI bundle with the same set: `crun run` of /bin/true with user (mapped uid block), mount
//             (read-only root of the host's /usr and /etc, private /tmp, /proc, /dev), PID, UTS, IPC, network and
//             cgroup namespaces, and its own cgroup, all made per start.
// Each sample is timed from just before the first call to the end of /bin/true: bwrap's and crun's exit
// (Node's 'exit' event), and for governor the inotify event of the monitor's status file, written once it reaped the
// workload. governor's "running" (launchMonitor resolved: the workload has exec'd) is reported too.
// GOVERNOR_BENCH_ISOLATION rounds after 10 warm-up rounds, back to back, then spaced GAP_MS apart.

const ROUNDS = Number(process.env.GOVERNOR_BENCH_ISOLATION ?? 100);
const WARMUP = 10;
const GAP_MS = 50;
const TENANT = 'bench';
const UID_BASE = 0x7000_0000;
/** The owner written beside the bench tenant's namespaces (any id: the bench tenant is not in a database). */
const BENCH_TENANT_ID = '00000000-0000-4000-8000-0000000be7c4';
const CRUN = process.env.GOVERNOR_BENCH_CRUN === '1';
const CRUN_UID_BASE = 0x7100_0000;
const BWRAP = ['--unshare-all', '--uid', '0', '--gid', '0', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true'];

interface Samples {
  governorRunning: number[];
  governorExited: number[];
  bwrapExited: number[];
  crunExited: number[];
}
const noSamples = (): Samples => ({ governorRunning: [], governorExited: [], bwrapExited: [], crunExited: [] });

/** Runs a reference command to its exit and returns the milliseconds it took. */
async function timed(command: string, args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: {} });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('exit', resolve);
    child.once('error', reject);
  });
  const took = millis(start);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
  return took;
}

/**
 * An OCI bundle for crun equivalent to the governor's tenant view: a read-only root made of the host's /usr
 * and /etc (the /bin, /lib... links of a merged-/usr system copied as links), /proc, /dev and /tmp of its own,
 * every namespace, and a mapped uid block.
 */
function crunBundle(dir: string): string {
  const rootfs = join(dir, 'rootfs');
  for (const sub of ['usr', 'etc', 'proc', 'dev', 'tmp', 'sys']) mkdirSync(join(rootfs, sub), { recursive: true });
  for (const link of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const host = `/${link}`;
    if (existsSync(host) && lstatSync(host).isSymbolicLink()) symlinkSync(readlinkSync(host), join(rootfs, link));
  }
  const idMap = [{ containerID: 0, hostID: CRUN_UID_BASE, size: 65536 }];
  const config = {
    ociVersion: '1.0.2',
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], env: ['PATH=/usr/bin:/bin'], cwd: '/', noNewPrivileges: true },
    root: { path: 'rootfs', readonly: true },
    hostname: TENANT,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=65536k'] },
      { destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] },
      { destination: '/etc', type: 'bind', source: '/etc', options: ['rbind', 'ro'] },
    ],
    linux: {
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'].map((type) => ({ type })),
      uidMappings: idMap,
      gidMappings: idMap,
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

async function references(samples: Samples, crunDir: string | undefined, id: string): Promise<void> {
  samples.bwrapExited.push(await timed('bwrap', BWRAP));
  if (crunDir !== undefined) samples.crunExited.push(await timed('crun', ['run', '--bundle', crunDir, `gv-bench-${id}`]));
}

interface Context {
  crunDir: string | undefined;
  driver: CgroupDriver;
  namespaces: TenantNamespaces;
  runDir: string;
  bootId: string;
  monitors: WorkloadMonitors;
}

async function governor(context: Context, id: string, samples: Samples): Promise<void> {
  const { driver, namespaces, runDir } = context;
  const stateDir = join(runDir, 'workloads', id);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const watcher = watch(stateDir);
  const status = new Promise<bigint>((resolve) => watcher.on('change', () => existsSync(join(stateDir, 'status')) && resolve(process.hrtime.bigint())));
  try {
    const ns = namespaces.paths(TENANT);
    const start = process.hrtime.bigint();
    const { leaf, monitor } = await driver.prepareWorkload(TENANT, id, {});
    await context.monitors.launch(id, {
      cgroupDir: leaf,
      monitorCgroupDir: monitor,
      netnsPath: ns.net,
      usernsPath: ns.user,
      tenantNamespaces: { pid: ns.pid, mnt: ns.mnt, uts: ns.uts, ipc: ns.ipc },
      cwd: '/',
      command: ['/bin/true'],
      env: {},
      logMaxBytes: 1 << 20,
      logFiles: 1,
    });
    const running = millis(start);
    const exited = Number((await Promise.race([status, sleep(10_000).then(() => Promise.reject(new Error(`${id}: no status`)))])) - start) / 1e6;
    const final = await readMonitorStatus(stateDir, context.bootId, (path) => new KoffiNative().lockHeld(path));
    if (final.state !== 'exited' || final.code !== 0) throw new Error(`workload ${id}: ${JSON.stringify(final)}`);
    samples.governorRunning.push(running);
    samples.governorExited.push(exited);
  } finally {
    watcher.close();
    await driver.killWorkload(TENANT, id);
    await driver.removeWorkload(TENANT, id);
    await removeState(stateDir);
  }
}

async function series(context: Context, label: string, rounds: number, gapMs: number): Promise<Samples> {
  const samples = noSamples();
  const discard = noSamples();
  for (let round = 0; round < WARMUP + rounds; round++) {
    const into = round < WARMUP ? discard : samples;
    if (gapMs > 0) await sleep(gapMs);
    await governor(context, `${label}${round}`, into);
    if (gapMs > 0) await sleep(gapMs);
    await references(into, context.crunDir, `${label}${round}`);
  }
  return samples;
}

interface Summaries {
  governorRunning: Summary;
  governorExited: Summary;
  bwrapExited: Summary;
  crunExited: Summary | undefined;
}

function rows(name: string, s: Summaries): Record<string, string>[] {
  const versus = (x: Summary, reference: Summary | undefined, p: 'p50' | 'p99') => (reference === undefined ? '-' : times(x[p], reference[p]));
  const row = (variant: string, x: Summary | undefined) =>
    x === undefined
      ? []
      : [
          {
            series: name,
            variant,
            'p50 ms': fixed(x.p50),
            'p99 ms': fixed(x.p99),
            'p50 ÷ bwrap': versus(x, s.bwrapExited, 'p50'),
            'p99 ÷ bwrap': versus(x, s.bwrapExited, 'p99'),
            'p50 ÷ crun': versus(x, s.crunExited, 'p50'),
            'p99 ÷ crun': versus(x, s.crunExited, 'p99'),
          },
        ];
  return [
    ...row('bwrap --unshare-all, exited', s.bwrapExited),
    ...row('crun run, exited', s.crunExited),
    ...row('governor, running', s.governorRunning),
    ...row('governor, exited', s.governorExited),
  ];
}

const summaries = (samples: Samples): Summaries => ({
  governorRunning: summarize(samples.governorRunning),
  governorExited: summarize(samples.governorExited),
  bwrapExited: summarize(samples.bwrapExited),
  crunExited: samples.crunExited.length === 0 ? undefined : summarize(samples.crunExited),
});

async function main(): Promise<void> {
  const mountCount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).length;
  const scratch = hostScratch('bench-isolation');
  const native = new KoffiNative();
  let driver: CgroupDriver | undefined;
  const stopWatching = cleanupOnSignal(() => scratch.cleanup());
  const results: Record<string, Summaries> = {};
  try {
    driver = await CgroupDriver.start({ root: scratch.root, native });
    await driver.applyTenant(TENANT, {}, { force: false, reclaimTimeoutMs: 0, suspended: false });
    const namespaces = new TenantNamespaces(native, scratch.runDir);
    namespaces.prepare();
    await namespaces.ensure(TENANT, { tenantId: BENCH_TENANT_ID, uidBase: UID_BASE });
    await startTenantInit({
      binaryPath: native.tenantInitPath(),
      tenant: TENANT,
      paths: namespaces.paths(TENANT),
      nsDir: namespaces.dir(TENANT),
      cgroupDir: await driver.freshInitCgroup(TENANT),
      hostname: TENANT,
      uidBase: UID_BASE,
      tmpSize: 64 << 20,
      hide: [scratch.runDir, '/sys/fs/cgroup', driver.capabilities.mount],
    });
    if (readTenantInit(namespaces.paths(TENANT)).state !== 'running') throw new Error('the tenant init did not start');
    const crunDir = CRUN ? crunBundle(join(scratch.runDir, 'crun-bundle')) : undefined;
    const monitors = new WorkloadMonitors(native, scratch.runDir);
    const context: Context = { crunDir, driver, namespaces, runDir: scratch.runDir, bootId: await currentBootId(), monitors };
    for (const [name, gap] of [
      ['back to back', 0],
      [`${GAP_MS} ms apart`, GAP_MS],
    ] as const) {
      const samples = await series(context, gap === 0 ? 'b' : 's', ROUNDS, gap);
      results[name] = summaries(samples);
    }
    await monitors.close();
    await driver.removeTenant(TENANT);
    await namespaces.remove(TENANT);
    if (crunDir !== undefined) rmSync(crunDir, { recursive: true, force: true });
  } finally {
    stopWatching();
    driver?.close();
    scratch.cleanup();
  }
  report(
    'isolation-start',
    {
      command: '/bin/true',
      unit: 'ms',
      rounds: ROUNDS,
      bwrap: ['bwrap', ...BWRAP].join(' '),
      // bwrap's --ro-bind / / copies every mount: on a host where other test runs leave thousands of mounts
      // under /run its start slows down by orders of magnitude, so the count goes with the figures.
      mounts: mountCount,
      load: loadavg().map((x) => Number(x.toFixed(2))),
      crun: CRUN ? 'crun run --bundle <OCI bundle: /bin/true, every namespace, read-only root>' : undefined,
      ...Object.fromEntries(
        Object.entries(results).map(([name, s]) => [
          name,
          {
            ...s,
            ratios: {
              exitedP50OverBwrap: s.governorExited.p50 / s.bwrapExited.p50,
              exitedP99OverBwrap: s.governorExited.p99 / s.bwrapExited.p99,
              exitedP50OverCrun: s.crunExited === undefined ? undefined : s.governorExited.p50 / s.crunExited.p50,
              exitedP99OverCrun: s.crunExited === undefined ? undefined : s.governorExited.p99 / s.crunExited.p99,
            },
          },
        ]),
      ),
    },
    Object.entries(results).flatMap(([name, s]) => rows(name, s)),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
