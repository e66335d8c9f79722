import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TenantNamespacePaths } from '../../network/src/namespaces';

/** What starting a tenant's init needs (the options of native/tenant-init.c). */
export interface TenantInitSpec {
  binaryPath: string;
  tenant: string;
  paths: TenantNamespacePaths;
  nsDir: string;
  /** absolute cgroup directory of the init's own leaf */
  cgroupDir: string;
  hostname: string;
  /** the tenant's root outside (its uid and gid base): owner of its tmpfs and home */
  uidBase: number;
  tmpSize: number;
  /** the mounted home, bound to /home/tenant inside */
  home?: string;
  /** the tenant's root instead of the host's */
  rootfs?: string;
  /** directories covered by an empty read-only tmpfs inside: run dir, data dir, cgroup mounts */
  hide: string[];
  /** the mount namespace to start from (MountTemplate); without it, a copy of the host's */
  mountTemplate?: string;
}

/** A started init: its host pid, and what the launcher warned of (a mount template it could not join). */
export interface StartedInit {
  pid: number;
  warnings: string[];
}

export type NamespaceKind = 'pid' | 'mnt' | 'uts' | 'ipc' | 'cgroup' | 'net' | 'user';
export const NAMESPACE_KINDS: readonly NamespaceKind[] = ['pid', 'mnt', 'uts', 'ipc', 'cgroup', 'net', 'user'];

export interface NamespaceView {
  kind: NamespaceKind;
  /** the nsfs inode, as `readlink /proc/<pid>/ns/<kind>` shows it (`<kind>:[<inode>]`) */
  inode: number;
}

/** The init as the host sees it: running (its pid holds the bound PID namespace), dead, or never started. */
export interface TenantInitState {
  state: 'running' | 'dead' | 'absent';
  pid: number | null;
  namespaces: NamespaceView[];
}

export class TenantInitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantInitError';
  }
}

/**
 * Whether the tenant's init is alive: its recorded pid must still be in the PID namespace bound under the
 * namespace directory (compared by nsfs inode, so a recycled pid is not taken for the init), and that namespace
 * must be the one the process is PID 1 of.
 */
export function readTenantInit(paths: TenantNamespacePaths): TenantInitState {
  // A mount point whose namespace is gone is an empty file on the run dir's filesystem: not a namespace.
  const dirDev = statSync(dirname(paths.user), { throwIfNoEntry: false })?.dev;
  const namespaces = NAMESPACE_KINDS.flatMap((kind) => {
    const stat = statSync(paths[kind], { throwIfNoEntry: false });
    return stat === undefined || stat.dev === dirDev ? [] : [{ kind, inode: stat.ino }];
  });
  let text: string;
  try {
    text = readFileSync(paths.initPid, 'utf8');
  } catch {
    return { state: 'absent', pid: null, namespaces };
  }
  const pid = Number(text.trim());
  const bound = namespaces.find((ns) => ns.kind === 'pid')?.inode;
  // The recorded pid in the bound PID namespace is its init: once a namespace's init is gone the kernel kills
  // the rest and lets no process in again, so no other process of that namespace can hold the init's pid.
  // (Looking for "NSpid: <pid> 1" in /proc/<pid>/status said the same at about 0.1 ms a tenant a pass.)
  const running =
    Number.isInteger(pid) &&
    pid > 0 &&
    bound !== undefined &&
    (() => {
      try {
        return statSync(`/proc/${pid}/ns/pid`).ino === bound;
      } catch {
        return false;
      }
    })();
  return { state: running ? 'running' : 'dead', pid: Number.isInteger(pid) ? pid : null, namespaces };
}

/**
 * Starts the tenant's init (native/governor-tenant-init) and returns its host pid once its namespaces are
 * bound under the namespace directory. The options go on stdin, so that its command line names the tenant
 * only; its environment is empty. The init is detached (own session, adopted by the host's init) and outlives
 * the governor.
 */
export async function startTenantInit(spec: TenantInitSpec): Promise<StartedInit> {
  const options: string[] = [
    '--ns-dir',
    spec.nsDir,
    '--cgroup',
    spec.cgroupDir,
    '--hostname',
    spec.hostname,
    '--uid',
    String(spec.uidBase),
    '--tmp-size',
    String(spec.tmpSize),
    ...(spec.home === undefined ? [] : ['--home', spec.home]),
    ...(spec.rootfs === undefined ? [] : ['--rootfs', spec.rootfs]),
    ...spec.hide.flatMap((dir) => ['--hide', dir]),
    ...(spec.mountTemplate === undefined ? [] : ['--mount-template', spec.mountTemplate]),
  ];
  const { err, stdout, stderr } = await runLauncher(spec.binaryPath, spec.tenant, options);
  const pid = Number(stdout.trim());
  if (err || !Number.isInteger(pid) || pid <= 0) throw new TenantInitError(`the tenant init did not start: ${stderr.trim() || err?.message || stdout}`);
  const warnings = stderr
    .split('\n')
    .filter((line) => line.startsWith('warning: '))
    .map((line) => line.slice('warning: '.length));
  return { pid, warnings };
}

/**
 * Runs governor-tenant-init with its one argument (a tenant, or --mount-template) and its options on stdin as
 * native/tenant-init.c reads them ("--name\0value\0"...), with an empty environment; never rejects.
 */
function runLauncher(binaryPath: string, argument: string, options: readonly string[]): Promise<{ err: Error | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(binaryPath, [argument], { env: {}, timeout: 30_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
    child.stdin?.end(options.map((option) => `${option}\0`).join(''));
  });
}

/** Making the mount template failed at `step` (as governor-tenant-init --mount-template names it). */
export class MountTemplateError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'MountTemplateError';
  }
}

/**
 * The mount namespace every tenant init starts from, made once per governor start (`governor-tenant-init
 * --mount-template`) and held by an nsfs bind mount at <run dir>/mount-template: a private copy of the host's
 * namespace with every namespace file and every mount at or below the hidden directories already detached. An
 * init's launcher copies it instead of the host's whole namespace, which holds every tenant's namespace files and
 * home (about six mounts a tenant), so an init start no longer grows with the tenants on the host. A template from
 * an earlier start is replaced: mounts made on the host since then are in the new one.
 */
export class MountTemplate {
  readonly path: string;

  constructor(
    private readonly binaryPath: string,
    runDir: string,
  ) {
    this.path = join(runDir, 'mount-template');
  }

  /** Makes (or replaces) the template; `hide` as for the inits. Throws MountTemplateError naming the step. */
  async make(hide: readonly string[]): Promise<void> {
    const options = ['--mount-template', this.path, ...hide.flatMap((dir) => ['--hide', dir])];
    const { err, stderr } = await runLauncher(this.binaryPath, '--mount-template', options);
    if (!err) return;
    const text = stderr.trim().replace(/^governor-tenant-init --mount-template: /, '') || err.message;
    const step = /^([^:]+):/.exec(text)?.[1] ?? 'starting governor-tenant-init';
    throw new MountTemplateError(step, `the mount template ${this.path} could not be made: ${text}`);
  }

  /** Whether the template is a mount namespace now (an nsfs file, not the empty file below it); a stat or two. */
  live(): boolean {
    const file = statSync(this.path, { throwIfNoEntry: false });
    return file !== undefined && file.dev !== statSync(dirname(this.path), { throwIfNoEntry: false })?.dev;
  }
}
