import { mkdirSync } from 'node:fs';
import { readFile, rm, statfs } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { GovernorNative, SpareMonitor } from '../../native/src/native.types';

/** native/build/governor-monitor, found where libs/native finds libgovernor.so (both built by npm install). */
export { monitorPath as monitorBinary } from '../../native/src/native';

/** What starting a workload needs: where it runs, as what, and where its monitor keeps its state. */
export interface LaunchRequest {
  monitorPath: string;
  /** the only argument the monitor's command line shows; everything else goes on its stdin */
  workloadId: string;
  stateDir: string;
  /** absolute cgroup directories: the workload's leaf, and the monitor's own outside the tenant */
  cgroupDir: string;
  monitorCgroupDir: string;
  netnsPath: string;
  usernsPath: string;
  /** the tenant init's namespaces: the workload is born in its PID namespace and joins the others */
  tenantNamespaces?: { pid: string; mnt: string; uts: string; ipc: string };
  cwd: string;
  command: string[];
  env: Record<string, string>;
  logMaxBytes: number;
  logFiles: number;
}

export class MonitorLaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitorLaunchError';
  }
}

/** The native call that starts a monitor (GovernorNative.startMonitor). */
export type MonitorStarter = Pick<GovernorNative, 'startMonitor'>;

/** How long a launch waits for the monitor's report (the launcher's own steps take milliseconds). */
const LAUNCH_TIMEOUT_MS = 30_000;

/**
 * Starts the workload's monitor (native/governor-monitor) straight from this process, through the native
 * library (gv_monitor_start: through `spare`, a governor-monitor spawned ahead, when given, else a vfork and exec
 * for this launch; never a fork of Node, never a shell): resolves once the workload runs or
 * has been recorded as failed; the monitor itself is detached (setsid, reparented) and outlives the governor.
 * The workload's environment goes in a memfd, never in the monitor's own environment, which stays empty (the
 * monitor runs as root, and ld.so would honour a tenant's LD_PRELOAD), nor on disk (its values can be secrets).
 * The options go on the monitor's stdin, so that its command line, which any host user can read in /proc,
 * shows the workload id and nothing else: no tenant, path or command.
 */
export async function launchMonitor(native: MonitorStarter, request: LaunchRequest, spare?: SpareMonitor): Promise<void> {
  // Synchronous: microseconds, where a trip through the thread pool costs a wake-up of another thread.
  mkdirSync(request.stateDir, { recursive: true, mode: 0o700 });
  const env = Object.entries(request.env).map(([name, value]) => `${name}=${value}`);
  const failure = await native.startMonitor(request.monitorPath, request.workloadId, monitorOptions(request), env, LAUNCH_TIMEOUT_MS, spare);
  if (failure !== undefined) throw new MonitorLaunchError(`the workload monitor did not start: ${failure}`);
}

/** The monitor's arguments, from --state-dir to the command (see the top of native/monitor.c). */
export function monitorOptions(request: LaunchRequest): string[] {
  return [
    '--state-dir',
    request.stateDir,
    '--cgroup',
    request.cgroupDir,
    '--monitor-cgroup',
    request.monitorCgroupDir,
    '--netns',
    request.netnsPath,
    '--userns',
    request.usernsPath,
    '--cwd',
    request.cwd,
    '--log-max-bytes',
    String(request.logMaxBytes),
    '--log-files',
    String(request.logFiles),
    ...(request.tenantNamespaces === undefined
      ? []
      : [
          '--pidns',
          request.tenantNamespaces.pid,
          '--mntns',
          request.tenantNamespaces.mnt,
          '--utsns',
          request.tenantNamespaces.uts,
          '--ipcns',
          request.tenantNamespaces.ipc,
          '--cgroupns',
          'new',
        ]),
    '--',
    ...request.command,
  ];
}

export type MonitorStatus =
  | { state: 'running'; pid: number }
  | { state: 'exited'; code: number }
  | { state: 'killed'; signal: number }
  | { state: 'failed'; message: string }
  | { state: 'lost'; message: string };

const readText = async (path: string) => readFile(path, 'utf8').catch(() => undefined);

/** What judges a monitor alive: whether some process holds the flock on its monitor.pid (GovernorNative.lockHeld). */
export type LockHeld = (path: string) => boolean;

/**
 * The workload's state from its monitor's files. A status file is final. Without one, a live monitor
 * means running; a dead monitor means lost — after a reboot (boot id changed) or a crash of the monitor.
 * The monitor is alive while it holds the flock on monitor.pid (see native/monitor.c): never judged by its
 * pid or its command line, which a recycled pid can match.
 */
export async function readMonitorStatus(stateDir: string, bootId: string, lockHeld: LockHeld): Promise<MonitorStatus> {
  const final = await readFinalStatus(stateDir);
  if (final) return final;
  const startedOn = (await readText(join(stateDir, 'boot_id')))?.trim();
  if (startedOn === undefined) return { state: 'lost', message: 'the monitor left no state (the host was rebooted, or /run was cleared)' };
  if (startedOn !== bootId) return { state: 'lost', message: 'the host was rebooted while the workload ran' };
  const pid = Number((await readText(join(stateDir, 'pid')))?.trim());
  if (lockHeld(join(stateDir, 'monitor.pid'))) return { state: 'running', pid };
  // The monitor may have written the status and exited between the first read and the liveness check.
  return (await readFinalStatus(stateDir)) ?? { state: 'lost', message: 'the workload monitor died without recording an exit status' };
}

/** The status file, written once (atomically) when the workload has ended or could not start. */
async function readFinalStatus(stateDir: string): Promise<MonitorStatus | undefined> {
  const status = await readText(join(stateDir, 'status'));
  if (status === undefined) return undefined;
  const fields = Object.fromEntries(
    status
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  if (fields.state === 'exited') return { state: 'exited', code: Number(fields.code) };
  if (fields.state === 'killed') return { state: 'killed', signal: Number(fields.signal) };
  if (fields.state === 'failed') return { state: 'failed', message: fields.message ?? 'could not start' };
  return undefined;
}

/** The namespaces the monitor put the workload in ("kind inode" lines of its state file), if it recorded them. */
export async function readWorkloadNamespaces(stateDir: string): Promise<Array<{ kind: string; inode: number }>> {
  const text = await readText(join(stateDir, 'namespaces'));
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((parts) => parts.length === 2 && /^[a-z]+$/.test(parts[0]) && /^\d+$/.test(parts[1]))
    .map(([kind, inode]) => ({ kind, inode: Number(inode) }));
}

export async function currentBootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

export async function removeState(stateDir: string): Promise<void> {
  await rm(stateDir, { recursive: true, force: true });
}

/**
 * The monitors of this host's workloads, behind one injectable class: their state directories under
 * `<run dir>/workloads/<id>`, their launch, their status, and the signals sent to them.
 */
export class WorkloadMonitors {
  constructor(
    private readonly native: Pick<GovernorNative, 'lockHeld' | 'signalLockHolder' | 'monitorPath' | 'startMonitor' | 'spareMonitor' | 'releaseSpareMonitor'>,
    private readonly runDir: string,
  ) {}

  /** The spare program for the next launch: made after each launch, off the path of the next one. */
  private spare: SpareMonitor | undefined;
  private making: Promise<void> | undefined;
  private closed = false;

  stateDir(id: string): string {
    return join(this.runDir, 'workloads', id);
  }

  /**
   * Starts the workload's monitor; see launchMonitor. Through the spare made after the last launch when there is
   * one (the first launch, or one that overlaps another, spawns its own program), and then makes the next spare.
   */
  async launch(id: string, request: Omit<LaunchRequest, 'monitorPath' | 'workloadId' | 'stateDir'>): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    try {
      await launchMonitor(this.native, { ...request, monitorPath: this.native.monitorPath(), workloadId: id, stateDir: this.stateDir(id) }, spare);
    } finally {
      this.makeSpare();
    }
  }

  /**
   * A spare that could not be made costs only speed: the next launch spawns its own program, and reports
   * whatever keeps that from working.
   */
  private makeSpare(): void {
    if (this.closed || this.spare !== undefined || this.making !== undefined) return;
    this.making = (async () => {
      try {
        const spare = await this.native.spareMonitor(this.native.monitorPath());
        if (this.closed) this.native.releaseSpareMonitor(spare);
        else this.spare = spare;
      } catch {
        // see above
      } finally {
        this.making = undefined;
      }
    })();
  }

  /** Lets the spare go (it exits), and makes no other. Running monitors are not touched. */
  async close(): Promise<void> {
    this.closed = true;
    await this.making;
    if (this.spare !== undefined) this.native.releaseSpareMonitor(this.spare);
    this.spare = undefined;
  }

  async status(id: string, bootId: string): Promise<MonitorStatus> {
    return readMonitorStatus(this.stateDir(id), bootId, (path) => this.native.lockHeld(path));
  }

  /**
   * Sends `signal` to the workload's monitor, which holds a pidfd of the workload and forwards SIGTERM to it
   * (native/monitor.c). Only a monitor that holds its lock is signalled; false when there is none.
   */
  signal(id: string, signal: NodeJS.Signals): boolean {
    return this.native.signalLockHolder(join(this.stateDir(id), 'monitor.pid'), constants.signals[signal]);
  }

  async namespaces(id: string): Promise<Array<{ kind: string; inode: number }>> {
    return readWorkloadNamespaces(this.stateDir(id));
  }

  /** Bytes left on the run directory's filesystem for root, who runs the monitors (statfs f_bfree): 0 when full. */
  async freeBytes(): Promise<number> {
    const stats = await statfs(this.runDir);
    return stats.bfree * stats.bsize;
  }

  get directory(): string {
    return this.runDir;
  }
}
