/**
 * What Governor asks of the kernel that Node cannot do safely on its own. Implemented by
 * libs/native/src/native.ts over native/libgovernor.so (koffi). Every method that fails throws a
 * NativeError naming the operation, the path and the errno.
 */

/** A directory opened once (O_PATH | O_DIRECTORY | O_CLOEXEC); every path below is resolved beneath it. */
export type DirFd = number & { readonly __dirFd: unique symbol };

export interface SpawnRequest {
  /** absolute path of the executable (no PATH search) */
  command: string;
  /** argv, argv[0] included */
  args: string[];
  /** the whole environment, NAME=value */
  env: string[];
  /** working directory; must exist */
  cwd: string;
  /** absolute cgroup v2 directory the child starts in (clone3 CLONE_INTO_CGROUP) */
  cgroupDir: string;
  /** files the child's stdout and stderr are appended to (created 0640 if missing); stdin is /dev/null */
  stdoutPath: string;
  stderrPath: string;
}

export interface SpawnedProcess {
  pid: number;
  /** a pidfd for the child (CLONE_PIDFD), owned by the caller, who must close it */
  pidfd: number;
}

/** A spare monitor program (GovernorNative.spareMonitor): its pid, and this process's end of its socket. */
export interface SpareMonitor {
  pid: number;
  socket: number;
}

/** What pidfdWait saw: still running, or reaped with an exit code or the signal that killed it. */
export interface ProcessExit {
  exited: boolean;
  /** exit status (0-255), when it exited */
  code?: number;
  /** signal number, when a signal killed it */
  signal?: number;
}

/** One file of a batch read: its text, or the errno name (ENOENT for a missing controller's file). */
export type FileRead = { name: string; text: string; errno?: undefined } | { name: string; text?: undefined; errno: string };

/**
 * Files of many cgroups, each entry a directory (relative to the DirFd it is read beneath) and a file in it,
 * encoded once in the form gv_read_tree_beneath takes ("dir\0file\0" one after another), so that a list read
 * at every scrape is built only when it changes. Entries that name the same directory one after another
 * share one open of it, so a caller lists a directory's files together.
 */
export class TreeList {
  readonly bytes: Buffer;
  readonly count: number;
  /** the bytes the last read of this list took, so that the next one asks for a buffer that holds them all */
  lastSize = 0;

  constructor(readonly entries: ReadonlyArray<readonly [dir: string, file: string]>) {
    // A NUL would end a name early and shift every entry after it.
    const bad = entries.find(([dir, file]) => dir.includes('\0') || file.includes('\0'));
    if (bad !== undefined) throw new RangeError(`a file list entry contains a NUL byte: ${JSON.stringify(bad.join('/'))}`);
    this.bytes = Buffer.from(entries.map(([dir, file]) => `${dir}\0${file}\0`).join(''), 'utf8');
    this.count = entries.length;
  }
}

/**
 * What readTree read, entry by entry in the list's order: the file's text, or undefined when it could not
 * be read, with its errno name (ENOENT for a missing file or a removed cgroup) in `errors`.
 */
export interface TreeRead {
  texts: Array<string | undefined>;
  errors: Map<number, string>;
}

/** One write of a write plan: a file relative to the plan's directory and the value to write. */
export interface FileWrite {
  name: string;
  value: string;
}

/** A write of a plan, done or not; a refused write carries its errno, the ones after it neither. */
export interface FileWriteResult extends FileWrite {
  done: boolean;
  errno?: string;
}

/** The fds of gv_watch_open (native/watch.h): epoll, inotify, rtnetlink, /proc/self/mountinfo. */
export type HostWatchFds = readonly [number, number, number, number];

export interface GovernorNative {
  /** Opens a directory to resolve paths beneath. */
  openDir(path: string): DirFd;
  close(fd: number): void;

  /**
   * Reads a whole small file at `rel` beneath `dir` (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
   * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV). `rel` must be relative; ".." that escapes is refused (EXDEV).
   * Runs on a worker thread.
   */
  readFile(dir: DirFd, rel: string): Promise<string>;
  /** The same, synchronously, for the few reads on the request path that are known to be cheap. */
  readFileSync(dir: DirFd, rel: string): string;

  /**
   * Writes `value` to the existing file `rel` beneath `dir` in one write(2) (no O_CREAT, no O_TRUNC: cgroup
   * files). With `nonblock`, opens with O_NONBLOCK (kernels > 6.1 then do not wait in memory.max
   * reclaim). Runs on a worker thread, because memory.max and memory.high writes can block in reclaim.
   */
  writeFile(dir: DirFd, rel: string, value: string, options?: { nonblock?: boolean }): Promise<void>;

  /**
   * Reads every file of `names` (relative to `rel`, which is beneath `dir`) in one call on one worker
   * thread, so that a tenant costs one trip off the event loop however many files it has. A file that
   * cannot be read has its errno in its own result; only a `rel` that cannot be opened throws.
   */
  readFiles(dir: DirFd, rel: string, names: readonly string[]): Promise<FileRead[]>;
  /**
   * Reads every file of `list` beneath `dir` in one call on one worker thread (more only when the contents
   * outgrow the buffer sized from the list's last read), so that a scrape of every tenant costs one trip off
   * the event loop. Each entry's text, or its errno; nothing throws for a file or directory that cannot be
   * read. The texts are decoded one byte a character (cgroup files are ASCII).
   */
  readTree(dir: DirFd, list: TreeList): Promise<TreeRead>;
  /**
   * Applies an ordered write plan in `rel` in one call on one worker thread: each write as writeFile does,
   * in order, stopping at the first refused write (the order is a cgroup rule, so what follows is not
   * tried). Per-write results; throws only when `rel` itself cannot be opened.
   */
  writeFiles(dir: DirFd, rel: string, plan: readonly FileWrite[], options?: { nonblock?: boolean }): Promise<FileWriteResult[]>;
  /**
   * The links `ifnames` (at most 8) of a network namespace over rtnetlink and /proc/sys, as text, one fact a
   * line (the format in native/netlink.h): state, addresses, root and ingress qdiscs, IPv6 switch, and inside
   * a tenant's namespace (`netnsPath`, its bind-mounted file) the default routes. Starts no process; a
   * tenant's namespace is entered by a short-lived thread of the library, never by a thread that runs
   * JavaScript. Runs on a worker thread.
   */
  observeNetwork(netnsPath: string | undefined, ifnames: readonly string[]): Promise<string>;
  /**
   * The id the caller's network namespace gives the namespace of the file `netnsPath`, as observeNetwork's
   * peer lines name it; -1 when it has given none (no link here leads into that namespace).
   */
  netNsid(netnsPath: string): number;

  /** Opens the host watch of native/watch.h (inotify, rtnetlink of every namespace with an id, the mount table). */
  watchOpen(): HostWatchFds;
  /**
   * Watches a directory: its wd, or -errno (the directory is not there, or no watch is left). On a worker: the
   * path lookup in cgroupfs waits for the kernfs lock that every cgroup mkdir and rmdir holds, which on the event
   * loop was a quarter of a 1,500-tenant cold pass in the guest.
   */
  watchDir(fds: HostWatchFds, path: string): Promise<number>;
  /** Watches a process's exit: 0, or -errno (-ESRCH: it is gone). */
  watchPid(fds: HostWatchFds, pid: number): number;
  /** What happened since the last drain, as (kind, value) pairs of gv_watch_kind into out; returns the pairs. */
  watchDrain(fds: HostWatchFds, out: Int32Array): number;
  /** The nftables ruleset generation of this network namespace: bumped by every committed nftables transaction. */
  nftGeneration(): number;
  /** An extended attribute of the directory `rel` beneath `dir`; undefined when it has none by that name. */
  getXattr(dir: DirFd, rel: string, name: string): Promise<string | undefined>;
  /** Sets (or replaces) an extended attribute of the directory `rel` beneath `dir`. */
  setXattr(dir: DirFd, rel: string, name: string, value: string): void;
  /** The system's page size (sysconf), the unit of the kernel's memory limits. */
  pageSize(): number;

  /**
   * mkdirat beneath `dir`, on a worker; the parent must exist. EEXIST is an error here: callers decide. A worker
   * because a cgroup mkdir waits for the kernel's cgroup_mutex, which every cgroup write, clone into a cgroup and
   * rmdir also takes, and costs more as cgroups multiply: on the event loop it was a third of a 1,500-tenant cold
   * pass's JavaScript time, and every other reconcile waited behind it.
   */
  mkdir(dir: DirFd, rel: string, mode: number): Promise<void>;
  /** unlinkat(AT_REMOVEDIR) beneath `dir`, on a worker (a cgroup rmdir takes cgroup_mutex too). */
  rmdir(dir: DirFd, rel: string): Promise<void>;

  /** Starts a process straight into a cgroup with clone3(CLONE_INTO_CGROUP | CLONE_PIDFD) and execve. */
  spawn(request: SpawnRequest): SpawnedProcess;

  /**
   * Starts a workload's monitor (native/governor-monitor at `monitorPath`) without a fork of this process
   * (gv_monitor_start: the options and the environment in memfds, never on a command line or on disk), on a
   * worker thread, through `spare` when given (consumed whatever happens: its socket is closed and it is reaped),
   * else through a program posix_spawn'ed for it. Resolves once the monitor has started the workload or recorded
   * why it could not, to undefined; or to the monitor's own reason when it could not start itself (or did not
   * report within `timeoutMs`). Throws NativeError when a call made to launch it failed.
   * `options`: the monitor's arguments from --state-dir to the command; `env`: NAME=value entries.
   */
  startMonitor(
    monitorPath: string,
    workloadId: string,
    options: readonly string[],
    env: readonly string[],
    timeoutMs: number,
    spare?: SpareMonitor,
  ): Promise<string | undefined>;
  /**
   * A spare for startMonitor (gv_monitor_spare): governor-monitor spawned ahead of a launch, waiting for it, so
   * that the launch costs no exec. It exits when its socket is closed, with this process at the latest.
   */
  spareMonitor(monitorPath: string): Promise<SpareMonitor>;
  /** Closes a spare's socket and reaps it, when it is not to be used (it exits at EOF). */
  releaseSpareMonitor(spare: SpareMonitor): void;

  /**
   * Raises RLIMIT_NOFILE (soft and hard) to `want`, or as far as fs.nr_open and the process's privilege allow; never
   * lowers it. Returns the soft limit now in force.
   */
  raiseOpenFileLimit(want: number): number;
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(2); signal by number (e.g. 15) */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /**
   * Reaps a child started by spawn if it has terminated, without blocking (waitid(P_PIDFD, WEXITED |
   * WNOHANG)). Node only reaps the children it started through child_process, so every spawned process
   * stays a zombie (and its pid taken) until this has returned exited: true. Throws ECHILD for a process
   * that is not this process's child, or was reaped already.
   */
  pidfdWait(pidfd: number): ProcessExit;

  /**
   * Creates a tenant's persistent namespaces as two bind-mounted files, `<dir>/user` and `<dir>/net` (dir is
   * created 0755 when missing), in a cloned child: this process never calls unshare or setns itself.
   * - user: uid 0 inside is `uidBase` outside, for `uidCount` ids (uid_map "0 uidBase uidCount"); gids likewise.
   *   /proc/<pid>/setgroups stays "allow" (root writes the maps, so "deny" is not required), so the tenant's
   *   root can setgroups(2) within its own gids.
   * - net: a network namespace holding only lo (up), owned by the host's initial user namespace, not by the
   *   tenant's: the tenant's root has no CAP_NET_ADMIN over it.
   * Throws EEXIST when either file is a namespace already, EINVAL for a count of 0 or a range past 2^32 - 1; on
   * any failure, what the call had made is removed again. Workloads join them through governor-monitor.
   */
  nsCreate(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number): void;
  /**
   * nsCreate on a worker thread (the clone, the id maps and the mounts), so that tenants made together do not
   * queue on the event loop: the cloned child is a copy of that worker thread, which never runs JavaScript.
   */
  nsCreateAsync(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number): Promise<void>;
  /**
   * Unmounts (MNT_DETACH) and removes `<dir>/user` and `<dir>/net`, then `dir`. Whatever is missing already
   * counts as done, so it can be repeated. A namespace lives on while a process still runs in it.
   */
  nsDestroy(dir: string): void;
  /** nsDestroy on a worker thread: each unmount waits for the kernel (an RCU grace period) off the event loop. */
  nsDestroyAsync(dir: string): Promise<void>;
  /**
   * Makes the ext4 image `image` as a copy of the ext4 image `template` (data only: holes stay holes) with a UUID
   * and directory hash seed of its own and `owner` (uid and gid) the owner of its root directory, on a worker
   * thread: what mkfs.ext4 -E root_owner makes, without a process. The template needs metadata_csum_seed where it
   * has metadata_csum. The image gets its name only once whole; EEXIST when it exists.
   */
  homeImageAsync(template: string, image: string, owner: number): Promise<void>;
  /**
   * Mounts the ext4 image file `image` on `target` (nosuid, nodev) through a free loop device released at the
   * unmount, on a worker thread: what `mount -o loop` does, without a process. Throws with the errno of the step
   * that failed, with nothing left bound.
   */
  loopMountAsync(image: string, target: string): Promise<void>;
  /**
   * True when both `<dir>/user` and `<dir>/net` are namespace mounts of their kind; false when dir or a file is
   * missing, or a file is not a namespace (its bind mount was lost: a reboot, a dead mount namespace).
   * Throws only when it cannot tell (EACCES, ...).
   */
  nsCheck(dir: string): boolean;
  /**
   * Makes `dir` (e.g. /run/governor/ns) a mount point with shared propagation, bind-mounting it onto itself
   * first unless it is a mount point already; idempotent. So that a governor in a private mount namespace
   * still sees them: namespace mounts made beneath it propagate between every peer copy of it instead of
   * living and dying with the mount namespace of the governor that made them (a slave copy, as systemd's
   * PrivateTmp= makes, receives but does not send).
   */
  makeSharedMount(dir: string): void;
  /**
   * Takes an exclusive flock(2) on `path` (created with `mode` if missing) without waiting, and returns the
   * descriptor that holds it: the lock lasts until close(fd) or the end of this process, however it ends.
   * A lock another process holds throws a NativeError with code EWOULDBLOCK.
   */
  lockFile(path: string, mode: number): number;
  /** The same for an existing directory, such as a cgroup directory, where no file of ours can be made. */
  lockDir(path: string): number;
  /**
   * Whether some process holds a flock(2) on `path` right now; false when nobody does or the file is missing.
   * How a monitor's liveness is judged: a dead holder holds nothing, whatever its pid has become since.
   */
  lockHeld(path: string): boolean;
  /**
   * Sends `signal` through a pidfd to the process whose pid the lock file `pidFile` holds, only while that
   * process holds the lock (checked after the pidfd is opened, so a recycled pid is never signalled). False when
   * nobody holds it or the file is missing; other failures throw.
   */
  signalLockHolder(pidFile: string, signal: number): boolean;
  /**
   * Absolute path of native/build/governor-monitor, the program that starts and supervises one workload in a
   * tenant's namespaces and cgroup (usage, state files and exit codes: the comment atop native/monitor.c).
   */
  monitorPath(): string;
  /**
   * Unmounts and removes what a tenant init added to `<dir>`: its pid, mnt, uts, ipc and cgroup namespace files
   * and init.pid; user and net stay. Whatever is missing counts as done.
   */
  nsReleaseInit(dir: string): void;
  /** The CLONE_NEW* type of the namespace file at `path`, or undefined when it is missing or not a namespace. */
  nsType(path: string): number | undefined;
  /** Absolute path of native/build/governor-tenant-init (usage: the comment atop native/tenant-init.c). */
  tenantInitPath(): string;
}
