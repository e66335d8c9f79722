import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { GovernorNative } from '../../native/src/native.types';

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

/**
 * Starts the workload's monitor (native/governor-monitor). The launcher returns once the workload runs
 * or has been recorded as failed; the monitor itself is detached (setsid, reparented) and outlives the
 * governor. The workload's environment goes in a NUL-separated file, never in the monitor's own
 * environment, which stays empty: the monitor runs as root, and ld.so would honour a tenant's LD_PRELOAD.
 * The options go on the monitor's stdin, so that its command line, which any host user can read in /proc,
 * shows the workload id and nothing else: no tenant, path or command. The env file holds secrets: the monitor
 * removes it once read, and it is removed here too whatever became of the launch, so that none stays on disk.
 */
export async function launchMonitor(request: LaunchRequest): Promise<void> {
  await mkdir(request.stateDir, { recursive: true, mode: 0o700 });
  const envFile = join(request.stateDir, 'env');
  try {
    await writeFile(
      envFile,
      Object.entries(request.env)
        .map(([name, value]) => `${name}=${value}\0`)
        .join(''),
      { mode: 0o600 },
    );
    await runLauncher(request, envFile);
  } finally {
    await rm(envFile, { force: true });
  }
}

async function runLauncher(request: LaunchRequest, envFile: string): Promise<void> {
  const args = [
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
    '--env-file',
    envFile,
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
  await new Promise<void>((resolve, reject) => {
    const child = execFile(request.monitorPath, [request.workloadId], { env: {}, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new MonitorLaunchError(`the workload monitor did not start: ${stderr.trim() || err.message}`));
      else resolve();
    });
    child.stdin?.end(args.map((arg) => `${arg}\0`).join(''));
  });
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
    private readonly native: Pick<GovernorNative, 'lockHeld' | 'signalLockHolder' | 'monitorPath'>,
    private readonly runDir: string,
  ) {}

  stateDir(id: string): string {
    return join(this.runDir, 'workloads', id);
  }

  /** Starts the workload's monitor; see launchMonitor. */
  async launch(id: string, request: Omit<LaunchRequest, 'monitorPath' | 'workloadId' | 'stateDir'>): Promise<void> {
    await launchMonitor({ ...request, monitorPath: this.native.monitorPath(), workloadId: id, stateDir: this.stateDir(id) });
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
