import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import { TenantNamespaces } from '../../libs/network/src/namespaces';
import { currentBootId, launchMonitor, monitorBinary, readMonitorStatus, removeState } from '../../libs/workloads/src/monitor';
import { readTenantInit, startTenantInit } from '../../libs/workloads/src/tenant-init';
import { hostScratch } from '../support/cgroup-root';
import { cleanupOnSignal, fixed, millis, report, summarize, times, type Summary } from './stats';

// Starting /bin/true with every namespace, on this host, two ways, interleaved one of each per round:
//   governor  what WorkloadsService.start does once the tenant exists: a fresh leaf and monitor cgroup, then
//             governor-monitor, which clone3s the workload into the leaf, into the tenant init's PID
//             namespace and a new cgroup namespace, and joins its mount (the locked view: read-only host,
//             private /tmp, /proc), UTS, IPC, network and user namespaces. The tenant's namespaces are made
//             once, by its init, before the first round: they are joined per start, not made.
//   bwrap     Debian's bubblewrap making the same set per start: `bwrap --unshare-all --uid 0 --ro-bind / /
//             --proc /proc --dev /dev --tmpfs /tmp /bin/true` (user, mount, PID, UTS, IPC, net, cgroup).
// Each sample is timed from just before the first call to the end of /bin/true: bwrap's exit (Node's 'exit'
// event), and for governor the inotify event of the monitor's status file, written once it reaped the
// workload. governor's "running" (launchMonitor resolved: the workload has exec'd) is reported too.
// GOVERNOR_BENCH_ISOLATION rounds after 10 warm-up rounds, back to back, then spaced GAP_MS apart.

const ROUNDS = Number(process.env.GOVERNOR_BENCH_ISOLATION ?? 100);
const WARMUP = 10;
const GAP_MS = 50;
const TENANT = 'bench';
const UID_BASE = 0x7000_0000;
/** The owner written beside the bench tenant's namespaces (any id: the bench tenant is not in a database). */
const BENCH_TENANT_ID = '00000000-0000-4000-8000-0000000be7c4';
const BWRAP = ['--unshare-all', '--uid', '0', '--gid', '0', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true'];

interface Samples {
  governorRunning: number[];
  governorExited: number[];
  bwrapExited: number[];
}

async function bwrap(samples: Samples): Promise<void> {
  const start = process.hrtime.bigint();
  const child = spawn('bwrap', BWRAP, { stdio: 'ignore', env: {} });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('exit', resolve);
    child.once('error', reject);
  });
  if (code !== 0) throw new Error(`bwrap ${BWRAP.join(' ')} exited ${code}`);
  samples.bwrapExited.push(millis(start));
}

interface Context {
  driver: CgroupDriver;
  namespaces: TenantNamespaces;
  runDir: string;
  bootId: string;
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
    await launchMonitor({
      monitorPath: monitorBinary(),
      workloadId: id,
      stateDir,
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
    const final = await readMonitorStatus(stateDir, context.bootId);
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
  const samples: Samples = { governorRunning: [], governorExited: [], bwrapExited: [] };
  const discard: Samples = { governorRunning: [], governorExited: [], bwrapExited: [] };
  for (let round = 0; round < WARMUP + rounds; round++) {
    const into = round < WARMUP ? discard : samples;
    if (gapMs > 0) await sleep(gapMs);
    await governor(context, `${label}${round}`, into);
    if (gapMs > 0) await sleep(gapMs);
    await bwrap(into);
  }
  return samples;
}

function rows(name: string, s: { governorRunning: Summary; governorExited: Summary; bwrapExited: Summary }): Record<string, string>[] {
  const row = (variant: string, x: Summary) => ({
    series: name,
    variant,
    'p50 ms': fixed(x.p50),
    'p99 ms': fixed(x.p99),
    'p50 ÷ bwrap': times(x.p50, s.bwrapExited.p50),
    'p99 ÷ bwrap': times(x.p99, s.bwrapExited.p99),
  });
  return [row('bwrap --unshare-all, exited', s.bwrapExited), row('governor, running', s.governorRunning), row('governor, exited', s.governorExited)];
}

async function main(): Promise<void> {
  const scratch = hostScratch('bench-isolation');
  const native = new KoffiNative();
  let driver: CgroupDriver | undefined;
  const stopWatching = cleanupOnSignal(() => scratch.cleanup());
  const results: Record<string, { governorRunning: Summary; governorExited: Summary; bwrapExited: Summary }> = {};
  try {
    driver = await CgroupDriver.start({ root: scratch.root, native });
    await driver.applyTenant(TENANT, {}, { force: false, reclaimTimeoutMs: 0, suspended: false });
    const namespaces = new TenantNamespaces(native, scratch.runDir);
    namespaces.prepare();
    namespaces.ensure(TENANT, { tenantId: BENCH_TENANT_ID, uidBase: UID_BASE });
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
    const context: Context = { driver, namespaces, runDir: scratch.runDir, bootId: await currentBootId() };
    for (const [name, gap] of [
      ['back to back', 0],
      [`${GAP_MS} ms apart`, GAP_MS],
    ] as const) {
      const samples = await series(context, gap === 0 ? 'b' : 's', ROUNDS, gap);
      results[name] = {
        governorRunning: summarize(samples.governorRunning),
        governorExited: summarize(samples.governorExited),
        bwrapExited: summarize(samples.bwrapExited),
      };
    }
    await driver.removeTenant(TENANT);
    namespaces.remove(TENANT);
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
      ...Object.fromEntries(
        Object.entries(results).map(([name, s]) => [
          name,
          { ...s, ratios: { exitedP50OverBwrap: s.governorExited.p50 / s.bwrapExited.p50, exitedP99OverBwrap: s.governorExited.p99 / s.bwrapExited.p99 } },
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
