import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupDriver } from '../../libs/cgroup/src/driver';
import { KoffiNative } from '../../libs/native/src/native';
import type { ProcessExit } from '../../libs/native/src/native.types';
import { TenantNamespaces } from '../../libs/network/src/namespaces';
import { currentBootId, launchMonitor, monitorBinary, readMonitorStatus, removeState } from '../../libs/workloads/src/monitor';
import { hostScratch, type HostScratch } from '../support/cgroup-root';
import { cleanupOnSignal, fixed, millis, report, summarize, times, type Summary } from './stats';

// Starting a workload into a cgroup and namespaces against a plain child_process.spawn of the same binary,
// on this host (the cgroup v2 core is enough: clone3 CLONE_INTO_CGROUP works without controllers).
// Three ways to run /bin/true, interleaved one of each per round so that drift of this shared machine hits
// all three alike:
//   plain    child_process.spawn('/bin/true'), stdio ignored, empty environment;
//   clone3   KoffiNative.spawn straight into one cgroup leaf made beforehand: the raw clone3 path;
//   monitor  what WorkloadsService.start does on the host: CgroupDriver.prepareWorkload (a fresh leaf and a
//            monitor cgroup), then launchMonitor (governor-monitor clone3s the workload into the leaf, the
//            tenant's network namespace, then its user namespace).
// Every sample is timed from just before the first call of its way, on a monotonic clock, to:
//   started  plain: spawn() returned; clone3: KoffiNative.spawn returned. Both return only once execve has
//            succeeded (libuv and gv_spawn each wait on a close-on-exec pipe), so the program runs.
//   running  monitor: launchMonitor resolved, which the monitor allows once the workload has exec'd.
//   exited   plain: the child's 'exit' event; clone3: the SIGCHLD after which waitid(pidfd, WNOHANG) reaps it
//            (the same signal libuv waits for in plain); monitor: the inotify event for the monitor's status
//            file, which it renames into place once it has reaped the workload.
// Untimed, after each sample: the workload's leaf, the monitor's cgroup and the state directory are removed.
//
// Two series. "back to back": SPAWNS rounds after WARMUP discarded ones. "spaced": SPACED rounds with GAP_MS
// of idle before every sample, as when workloads are started now and then. The spacing matters: the monitor
// moves itself into its own cgroup by writing cgroup.procs, and a cgroup migration waits for an RCU grace
// period (cgroup_threadgroup_rwsem) unless another migration happened a moment before; clone3 with
// CLONE_INTO_CGROUP never migrates. Back to back hides most of that wait, spaced shows it.

const SPAWNS = Number(process.env.GOVERNOR_BENCH_SPAWNS ?? 200);
const WARMUP = Number(process.env.GOVERNOR_BENCH_WARMUP ?? 20);
const SPACED = Number(process.env.GOVERNOR_BENCH_SPACED ?? 50);
const GAP_MS = 50;
const COMMAND = '/bin/true';
const TENANT = 'bench';
/** the first range of the default uid pool (allocation-pools.ts); the mapping is private to this tenant's namespace */
const UID_BASE = 0x7000_0000;
/** The owner written beside the bench tenant's namespaces (any id: the bench tenant is not in a database). */
const BENCH_TENANT_ID = '00000000-0000-4000-8000-0000000be7c4';

interface Samples {
  plain: { started: number[]; exited: number[] };
  clone3: { started: number[]; exited: number[] };
  monitor: { prepared: number[]; running: number[]; exited: number[] };
}

const noSamples = (): Samples => ({
  plain: { started: [], exited: [] },
  clone3: { started: [], exited: [] },
  monitor: { prepared: [], running: [], exited: [] },
});

async function plainSpawn(samples: Samples['plain']): Promise<void> {
  const start = process.hrtime.bigint();
  const child = spawn(COMMAND, [], { stdio: 'ignore', env: {} });
  const started = millis(start);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('exit', resolve);
    child.once('error', reject);
  });
  const exited = millis(start);
  if (code !== 0) throw new Error(`plain spawn of ${COMMAND} exited ${code}`);
  samples.started.push(started);
  samples.exited.push(exited);
}

/**
 * Reaps a process started by KoffiNative.spawn once it has ended: checked now and after every SIGCHLD. A
 * signal listener does not keep Node's event loop alive, so a timer holds it open meanwhile; without it
 * Node would exit in the middle of the run, cleanup and all skipped.
 */
function reaped(native: KoffiNative, pidfd: number): Promise<ProcessExit> {
  return new Promise((resolve, reject) => {
    const alive = setInterval(() => undefined, 60_000);
    const done = () => {
      clearInterval(alive);
      process.off('SIGCHLD', check);
    };
    const check = () => {
      try {
        const exit = native.pidfdWait(pidfd);
        if (!exit.exited) return;
        done();
        resolve(exit);
      } catch (err) {
        done();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    process.on('SIGCHLD', check);
    check();
  });
}

async function cloneIntoLeaf(native: KoffiNative, leaf: string, samples: Samples['clone3']): Promise<void> {
  const start = process.hrtime.bigint();
  const { pidfd } = native.spawn({ command: COMMAND, args: ['true'], env: [], cwd: '/', cgroupDir: leaf, stdoutPath: '/dev/null', stderrPath: '/dev/null' });
  const started = millis(start);
  try {
    const exit = await reaped(native, pidfd);
    const exited = millis(start);
    if (exit.code !== 0) throw new Error(`clone3 spawn of ${COMMAND} ended ${JSON.stringify(exit)}`);
    samples.started.push(started);
    samples.exited.push(exited);
  } finally {
    native.close(pidfd);
  }
}

/** The moment (process.hrtime.bigint()) `dir/name` appears, seen by an inotify watch set up before anything runs. */
function appearance(dir: string, name: string, timeoutMs = 10_000): { at: Promise<bigint>; close(): void } {
  const watcher = watch(dir);
  let timer: NodeJS.Timeout | undefined;
  const at = new Promise<bigint>((resolve, reject) => {
    watcher.on('change', () => {
      const now = process.hrtime.bigint();
      if (existsSync(join(dir, name))) resolve(now);
    });
    watcher.on('error', reject);
    timer = setTimeout(() => reject(new Error(`${join(dir, name)} did not appear within ${timeoutMs} ms`)), timeoutMs);
  });
  return {
    at,
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

interface MonitorContext {
  driver: CgroupDriver;
  namespaces: TenantNamespaces;
  runDir: string;
  bootId: string;
}

async function monitored(context: MonitorContext, id: string, samples: Samples['monitor']): Promise<void> {
  const { driver, namespaces, runDir } = context;
  const stateDir = join(runDir, 'workloads', id);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const status = appearance(stateDir, 'status');
  try {
    const start = process.hrtime.bigint();
    const { leaf, monitor } = await driver.prepareWorkload(TENANT, id, {});
    const prepared = millis(start);
    await launchMonitor(new KoffiNative(), {
      monitorPath: monitorBinary(),
      workloadId: id,
      stateDir,
      cgroupDir: leaf,
      monitorCgroupDir: monitor,
      netnsPath: namespaces.paths(TENANT).net,
      usernsPath: namespaces.paths(TENANT).user,
      cwd: '/',
      command: [COMMAND],
      env: {},
      logMaxBytes: 1 << 20,
      logFiles: 1,
    });
    const running = millis(start);
    const exited = Number((await status.at) - start) / 1e6;
    const final = await readMonitorStatus(stateDir, context.bootId, (path) => new KoffiNative().lockHeld(path));
    if (final.state !== 'exited' || final.code !== 0) throw new Error(`workload ${id}: ${JSON.stringify(final)}`);
    samples.prepared.push(prepared);
    samples.running.push(running);
    samples.exited.push(exited);
  } finally {
    status.close();
    await driver.removeWorkload(TENANT, id);
    await removeState(stateDir);
  }
}

/** What the run left on the host: its cgroup root, its run dir, mounts below it, monitors still alive. */
function leftovers(scratch: HostScratch): string[] {
  const found: string[] = [];
  if (existsSync(scratch.root)) found.push(`cgroup ${scratch.root}`);
  if (existsSync(scratch.runDir)) found.push(`run dir ${scratch.runDir}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4];
    if (point !== undefined && point.startsWith(scratch.runDir)) found.push(`mount ${point}`);
  }
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })();
    if (cmdline.includes(scratch.runDir)) found.push(`process ${pid}: ${cmdline.replace(/\0/g, ' ').trim()}`);
  }
  return found;
}

/** Runs `rounds` rounds of the three ways (the first `warmup` discarded), each sample after `gapMs` of idle. */
async function series(
  context: MonitorContext,
  native: KoffiNative,
  leaf: string,
  label: string,
  rounds: number,
  warmup: number,
  gapMs: number,
): Promise<Samples> {
  const samples = noSamples();
  const discard = noSamples();
  const idle = () => (gapMs > 0 ? sleep(gapMs) : Promise.resolve());
  for (let round = 0; round < warmup + rounds; round++) {
    const into = round < warmup ? discard : samples;
    await idle();
    await plainSpawn(into.plain);
    await idle();
    await cloneIntoLeaf(native, leaf, into.clone3);
    await idle();
    await monitored(context, `${label}${round}`, into.monitor);
  }
  return samples;
}

interface SeriesSummary {
  plain: { started: Summary; exited: Summary };
  clone3: { started: Summary; exited: Summary };
  monitor: { prepared: Summary; running: Summary; exited: Summary };
}

function summarizeSeries(samples: Samples): SeriesSummary {
  return {
    plain: { started: summarize(samples.plain.started), exited: summarize(samples.plain.exited) },
    clone3: { started: summarize(samples.clone3.started), exited: summarize(samples.clone3.exited) },
    monitor: { prepared: summarize(samples.monitor.prepared), running: summarize(samples.monitor.running), exited: summarize(samples.monitor.exited) },
  };
}

const overhead = (s: Summary, base: Summary) => ({ p50: s.p50 / base.p50, p99: s.p99 / base.p99, mean: s.mean / base.mean });

function ratios(s: SeriesSummary) {
  return {
    clone3StartedOverPlainStarted: overhead(s.clone3.started, s.plain.started),
    clone3ExitedOverPlainExited: overhead(s.clone3.exited, s.plain.exited),
    monitorRunningOverPlainStarted: overhead(s.monitor.running, s.plain.started),
    monitorRunningOverPlainExited: overhead(s.monitor.running, s.plain.exited),
    monitorExitedOverPlainExited: overhead(s.monitor.exited, s.plain.exited),
  };
}

/** Table rows of one series; each ratio is against plain at the same point (running against plain started). */
function rows(name: string, s: SeriesSummary): Record<string, string>[] {
  const row = (variant: string, until: string, x: Summary, base?: Summary) => ({
    series: name,
    variant,
    until,
    'p50 ms': fixed(x.p50),
    'p99 ms': fixed(x.p99),
    'mean ms': fixed(x.mean),
    'p50 ÷ plain': base ? times(x.p50, base.p50) : '',
    'p99 ÷ plain': base ? times(x.p99, base.p99) : '',
    'p50 − plain ms': base ? fixed(x.p50 - base.p50) : '',
  });
  return [
    row('plain spawn', 'started', s.plain.started),
    row('plain spawn', 'exited', s.plain.exited),
    row('clone3 into leaf', 'started', s.clone3.started, s.plain.started),
    row('clone3 into leaf', 'exited', s.clone3.exited, s.plain.exited),
    row('monitor', 'cgroups made', s.monitor.prepared),
    row('monitor', 'running', s.monitor.running, s.plain.started),
    row('monitor', 'exited', s.monitor.exited, s.plain.exited),
  ];
}

async function main(): Promise<void> {
  const scratch = hostScratch('bench-workload');
  const native = new KoffiNative();
  let driver: CgroupDriver | undefined;
  let backToBack: Samples | undefined;
  let spaced: Samples | undefined;
  const stopWatching = cleanupOnSignal(() => scratch.cleanup());
  try {
    driver = await CgroupDriver.start({ root: scratch.root, native });
    await driver.applyTenant(TENANT, {}, { force: false, reclaimTimeoutMs: 0, suspended: false });
    const namespaces = new TenantNamespaces(native, scratch.runDir);
    namespaces.prepare();
    await namespaces.ensure(TENANT, { tenantId: BENCH_TENANT_ID, uidBase: UID_BASE });
    const { leaf } = await driver.prepareWorkload(TENANT, 'clone3', {});
    const context: MonitorContext = { driver, namespaces, runDir: scratch.runDir, bootId: await currentBootId() };
    backToBack = await series(context, native, leaf, 'b', SPAWNS, WARMUP, 0);
    spaced = await series(context, native, leaf, 's', SPACED, 1, GAP_MS);
    const remaining = driver.fs.children(`tenants/${TENANT}/workloads`).filter((id) => id !== 'clone3');
    if (remaining.length > 0) throw new Error(`workload leaves left behind: ${remaining.join(' ')}`);
    await driver.removeWorkload(TENANT, 'clone3');
    await driver.removeTenant(TENANT);
    await namespaces.remove(TENANT);
  } finally {
    stopWatching();
    driver?.close();
    scratch.cleanup();
  }
  const left = leftovers(scratch);
  if (left.length > 0) throw new Error(`the benchmark left these behind:\n${left.join('\n')}`);

  const summaries = { backToBack: summarizeSeries(backToBack), spaced: summarizeSeries(spaced) };
  report(
    'workload-spawn',
    {
      command: COMMAND,
      unit: 'ms',
      backToBack: { spawns: SPAWNS, warmup: WARMUP, ...summaries.backToBack, ratios: ratios(summaries.backToBack) },
      spaced: { spawns: SPACED, warmup: 1, gapMs: GAP_MS, ...summaries.spaced, ratios: ratios(summaries.spaced) },
    },
    [...rows('back to back', summaries.backToBack), ...rows(`${GAP_MS} ms apart`, summaries.spaced)],
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
