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

/** What pidfdWait saw: still running, or reaped with an exit code or the signal that killed it. */
export interface ProcessExit {
  exited: boolean;
  /** exit status (0-255), when it exited */
  code?: number;
  /** signal number, when a signal killed it */
  signal?: number;
}

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

  /** mkdirat beneath `dir`; the parent must exist. EEXIST is an error here: callers decide. */
  mkdir(dir: DirFd, rel: string, mode: number): void;
  /** unlinkat(AT_REMOVEDIR) beneath `dir`. */
  rmdir(dir: DirFd, rel: string): void;

  /** Starts a process straight into a cgroup with clone3(CLONE_INTO_CGROUP | CLONE_PIDFD) and execve. */
  spawn(request: SpawnRequest): SpawnedProcess;

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
}
