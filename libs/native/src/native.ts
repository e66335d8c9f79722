import { existsSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import type { KoffiFunc } from 'koffi';
import { koffiAsync, loadLibrary } from './koffi-runtime';
import { errnoName, NativeError } from './native.error';
import type {
  DirFd,
  FileRead,
  FileWrite,
  FileWriteResult,
  GovernorNative,
  HostWatchFds,
  ProcessExit,
  SpareMonitor,
  SpawnRequest,
  SpawnedProcess,
  TreeList,
  TreeRead,
} from './native.types';

const { EACCES, EEXIST, EFBIG, EINVAL, ENODATA, ENOENT, ENOTDIR, ESRCH } = constants.errno;

/** Where `npm install` (make -C native) puts the library and the monitor, below the repository root. */
const LIBRARY = 'native/build/libgovernor.so';
const MONITOR = 'governor-monitor';
const TENANT_INIT = 'governor-tenant-init';
const MAX_ID = 0xffff_ffff;
const FIRST_READ = 4096;
const MAX_READ = 4 * 1024 * 1024;
/** Room for what governor-monitor reports when it cannot start (its MSG_MAX: PATH_MAX + 128). */
const MONITOR_MESSAGE_MAX = 4096 + 256;

/** enum gv_spawn_step of native/governor.h: the step a failed spawn reports. */
const enum Step {
  Cgroup = 2,
  Clone = 4,
  Stdout = 6,
  Stderr = 7,
  Cwd = 9,
  Exec = 12,
}

/** Each C prototype next to the TypeScript type of its call; out-parameters are one-element arrays. */
function bind(path: string) {
  const lib = loadLibrary(path);
  const fn = <T extends (...args: never[]) => number>(prototype: string): KoffiFunc<T> => lib.func(prototype) as KoffiFunc<T>;
  return {
    openDir: fn<(path: string) => number>('int gv_open_dir(const char *path)'),
    close: fn<(fd: number) => number>('int gv_close(int fd)'),
    // No _Out_ on buf: koffi passes a Buffer as a pointer to its own bytes, which gv_read_beneath fills.
    read: fn<(dirfd: number, rel: string, buf: Buffer, cap: number, len: [number]) => number>(
      'int gv_read_beneath(int dirfd, const char *rel, uint8_t *buf, size_t cap, _Out_ size_t *len)',
    ),
    write: fn<(dirfd: number, rel: string, buf: Buffer, len: number, nonblock: number) => number>(
      'int gv_write_beneath(int dirfd, const char *rel, const uint8_t *buf, size_t len, int nonblock)',
    ),
    // results: int64 slots in a Buffer (native order), written in place like read's buf.
    readFiles: fn<
      (dirfd: number, dir: string, names: Buffer, namesLen: number, count: number, buf: Buffer, cap: number, used: [number], results: Buffer) => number
    >(
      'int gv_read_files_beneath(int dirfd, const char *dir, const uint8_t *names, size_t names_len, size_t count, uint8_t *buf, size_t cap, _Out_ size_t *used, uint8_t *results)',
    ),
    readTree: fn<
      (
        dirfd: number,
        list: Buffer,
        listLen: number,
        count: number,
        skip: number,
        buf: Buffer,
        cap: number,
        used: [number],
        results: Buffer,
        done: [number],
      ) => number
    >(
      'int gv_read_tree_beneath(int dirfd, const uint8_t *list, size_t list_len, size_t count, size_t skip, uint8_t *buf, size_t cap, _Out_ size_t *used, uint8_t *results, _Out_ size_t *done)',
    ),
    writeFiles: fn<(dirfd: number, dir: string, plan: Buffer, planLen: number, count: number, nonblock: number, results: Buffer) => number>(
      'int gv_write_files_beneath(int dirfd, const char *dir, const uint8_t *plan, size_t plan_len, size_t count, int nonblock, uint8_t *results)',
    ),
    pageSize: fn<() => number>('long gv_page_size(void)'),
    netObserve: fn<(netnsPath: string | null, ifnames: string[], count: number, buf: Buffer, cap: number, used: [number]) => number>(
      'int gv_net_observe(const char *netns_path, const char **ifnames, size_t count, uint8_t *buf, size_t cap, _Out_ size_t *used)',
    ),
    netNsid: fn<(netnsPath: string, nsid: [number]) => number>('int gv_net_nsid(const char *netns_path, _Out_ int *nsid)'),
    nftGeneration: fn<(generation: [number]) => number>('int gv_nft_generation(_Out_ uint32_t *generation)'),
    watchOpen: fn<(fds: Int32Array) => number>('int gv_watch_open(_Out_ int *fds)'),
    watchDir: fn<(inotifyFd: number, path: string) => number>('int gv_watch_dir(int inotify_fd, const char *path)'),
    watchPid: fn<(epollFd: number, pid: number) => number>('int gv_watch_pid(int epoll_fd, int pid)'),
    watchDrain: fn<(fds: Int32Array, out: Int32Array, cap: number, used: [number]) => number>(
      'int gv_watch_drain(const int *fds, _Out_ int32_t *out, size_t cap, _Out_ size_t *used)',
    ),
    xattrGet: fn<(dirfd: number, rel: string, name: string, buf: Buffer, cap: number, len: [number]) => number>(
      'int gv_xattr_get_beneath(int dirfd, const char *rel, const char *name, uint8_t *buf, size_t cap, _Out_ size_t *len)',
    ),
    xattrSet: fn<(dirfd: number, rel: string, name: string, value: Buffer, len: number) => number>(
      'int gv_xattr_set_beneath(int dirfd, const char *rel, const char *name, const uint8_t *value, size_t len)',
    ),
    mkdir: fn<(dirfd: number, rel: string, mode: number) => number>('int gv_mkdir_beneath(int dirfd, const char *rel, unsigned int mode)'),
    rmdir: fn<(dirfd: number, rel: string) => number>('int gv_rmdir_beneath(int dirfd, const char *rel)'),
    spawn: fn<
      (
        command: string,
        argv: (string | null)[],
        envp: (string | null)[],
        cwd: string,
        cgroupDir: string,
        stdoutPath: string,
        stderrPath: string,
        pid: [number],
        pidfd: [number],
        failedStep: [number],
      ) => number
    >(
      'int gv_spawn(const char *command, const char **argv, const char **envp, const char *cwd, const char *cgroup_dir, ' +
        'const char *stdout_path, const char *stderr_path, _Out_ int *pid, _Out_ int *pidfd, _Out_ int *failed_step)',
    ),
    monitorLaunch: fn<
      (
        monitorPath: string,
        workloadId: string,
        options: Buffer,
        optionsLen: number,
        env: Buffer,
        envLen: number,
        sparePid: number,
        spareSock: number,
        pid: [number],
        report: [number],
      ) => number
    >(
      'int gv_monitor_launch(const char *monitor_path, const char *workload_id, const uint8_t *options, size_t options_len, ' +
        'const uint8_t *env, size_t env_len, int spare_pid, int spare_sock, _Out_ int *pid, _Out_ int *report)',
    ),
    monitorLauncherWait: fn<(pid: number, killFirst: number, status: [number]) => number>(
      'int gv_monitor_launcher_wait(int pid, int kill_first, _Out_ int *status)',
    ),
    monitorSpare: fn<(monitorPath: string, pid: [number], sock: [number]) => number>(
      'int gv_monitor_spare(const char *monitor_path, _Out_ int *pid, _Out_ int *sock)',
    ),
    monitorSpareRelease: fn<(pid: number, sock: number) => number>('int gv_monitor_spare_release(int pid, int sock)'),
    pidfdOpen: fn<(pid: number) => number>('int gv_pidfd_open(int pid)'),
    raiseNofile: fn<(want: number) => number>('long gv_raise_nofile(unsigned long want)'),
    pidfdSendSignal: fn<(pidfd: number, sig: number) => number>('int gv_pidfd_send_signal(int pidfd, int sig)'),
    pidfdWait: fn<(pidfd: number, exitCode: [number], termSignal: [number]) => number>(
      'int gv_pidfd_wait(int pidfd, _Out_ int *exit_code, _Out_ int *term_signal)',
    ),
    nsCreate: fn<(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number) => number>(
      'int gv_ns_create(const char *dir, unsigned int uid_base, unsigned int uid_count, unsigned int gid_base, unsigned int gid_count)',
    ),
    nsDestroy: fn<(dir: string) => number>('int gv_ns_destroy(const char *dir)'),
    loopMount: fn<(image: string, target: string) => number>('int gv_loop_mount(const char *image, const char *target)'),
    homeImage: fn<(template: string, image: string, uid: number, gid: number) => number>(
      'int gv_home_image(const char *template_path, const char *image, unsigned int uid, unsigned int gid)',
    ),
    nsCheck: fn<(dir: string) => number>('int gv_ns_check(const char *dir)'),
    makeSharedMount: fn<(dir: string) => number>('int gv_make_shared_mount(const char *dir)'),
    lockFile: fn<(path: string, mode: number) => number>('int gv_lock_file(const char *path, unsigned int mode)'),
    lockDir: fn<(path: string) => number>('int gv_lock_dir(const char *path)'),
    lockHeld: fn<(path: string) => number>('int gv_lock_held(const char *path)'),
    signalLockHolder: fn<(pidFile: string, sig: number) => number>('int gv_signal_lock_holder(const char *pid_file, int sig)'),
    nsReleaseInit: fn<(dir: string) => number>('int gv_ns_release_init(const char *dir)'),
    nsType: fn<(path: string) => number>('int gv_ns_type(const char *path)'),
  };
}

type Bindings = ReturnType<typeof bind>;

/** One koffi.load per library path, however many KoffiNative instances ask for it. */
const loaded = new Map<string, Bindings>();

function load(path: string): Bindings {
  let bindings = loaded.get(path);
  if (bindings === undefined) {
    if (!existsSync(path)) throw new Error(`${LIBRARY} is missing (looked for ${path}): run npm install (it builds native/ with cc)`);
    bindings = bind(path);
    loaded.set(path, bindings);
  }
  return bindings;
}

/**
 * The library below the repository root: the first directory above `from` that holds both package.json
 * and native/. Works from libs/native/src (ts sources) and dist/libs/native/src (tsc output) alike.
 */
export function findLibrary(from: string = __dirname): string {
  let found = libraries.get(from);
  for (let dir = from; found === undefined; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && statSync(join(dir, 'native'), { throwIfNoEntry: false })?.isDirectory()) found = join(dir, LIBRARY);
    else if (dirname(dir) === dir) throw new Error(`${LIBRARY} not found: no directory above ${from} holds package.json and native/`);
  }
  libraries.set(from, found);
  return found;
}

/**
 * findLibrary's answers: the walk stats a few directories, and the tenant init's path is asked for at every
 * init start (once it was asked at every netlink call: 7% of a 1,500-tenant cold pass's event loop).
 */
const libraries = new Map<string, string>();

/** native/build/governor-monitor, next to the library found by findLibrary. */
export function monitorPath(from: string = __dirname): string {
  return join(dirname(findLibrary(from)), MONITOR);
}

/** koffi's .async: the call runs on a worker thread (through the process's gate), and a koffi marshalling error rejects. */
export function onWorker<A extends unknown[]>(f: KoffiFunc<(...args: A) => number>, ...args: A): Promise<number> {
  return koffiAsync<number>((done) => f.async(...args, done));
}

/**
 * Everything written on the pipe `fd` (taken over, and closed) until its EOF, or until `timeoutMs` has passed. At
 * most MONITOR_MESSAGE_MAX bytes are kept.
 */
function readReport(fd: number, timeoutMs: number): Promise<{ text: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const pipe = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      pipe.destroy();
      resolve({ text: '', timedOut: true });
    }, timeoutMs);
    pipe.on('data', (chunk: Buffer) => {
      if (size < MONITOR_MESSAGE_MAX) chunks.push(chunk);
      size += chunk.length;
    });
    pipe.once('end', () => {
      clearTimeout(timer);
      pipe.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MONITOR_MESSAGE_MAX)), timedOut: false });
    });
    pipe.once('error', (err) => {
      clearTimeout(timer);
      pipe.destroy();
      reject(err);
    });
  });
}

/** koffi cuts a string at its first NUL: "cgroup\0/../x" would reach C as "cgroup". */
export function refuseNul(op: string, path: string, values: string[]): void {
  if (values.some((value) => value.includes('\0'))) throw new NativeError(op, path, EINVAL, 'contains a NUL byte');
}

function spawnError(request: SpawnRequest, step: number, errno: number): NativeError {
  // gv_spawn reports the step it failed at; a step without a case below still gets its number in the message.
  switch (step as Step) {
    case Step.Cgroup:
      return new NativeError('spawn', request.cgroupDir, errno, 'cannot open the cgroup directory');
    case Step.Clone:
      return new NativeError('spawn', request.cgroupDir, errno, 'clone3 into the cgroup failed');
    case Step.Stdout:
      return new NativeError('spawn', request.stdoutPath, errno, 'cannot open the stdout file');
    case Step.Stderr:
      return new NativeError('spawn', request.stderrPath, errno, 'cannot open the stderr file');
    case Step.Cwd:
      return new NativeError(
        'spawn',
        request.cwd,
        errno,
        errno === ENOENT ? 'cwd does not exist' : errno === ENOTDIR ? 'cwd is not a directory' : 'cannot enter cwd',
      );
    case Step.Exec:
      // execve's ENOENT also covers a missing #! interpreter or ELF loader, not only a missing file.
      return new NativeError(
        'spawn',
        request.command,
        errno,
        errno === ENOENT ? 'command not found' : errno === EACCES ? 'command is not executable' : 'execve failed',
      );
    default:
      return new NativeError('spawn', request.command, errno, `failed at step ${step} of gv_spawn`);
  }
}

function checkIds(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number): void {
  refuseNul('nsCreate', dir, [dir]);
  // koffi would wrap a negative or fractional number into some other unsigned int.
  const ids = { uidBase, uidCount, gidBase, gidCount };
  const bad = Object.entries(ids).find(([, value]) => !Number.isInteger(value) || value < 0 || value > MAX_ID);
  if (bad) throw new NativeError('nsCreate', dir, EINVAL, `${bad[0]} ${bad[1]} is not an id from 0 to ${MAX_ID}`);
}

function nsCreateResult(dir: string, ret: number, uidBase: number, uidCount: number, gidBase: number, gidCount: number): void {
  if (ret === -EEXIST) throw new NativeError('nsCreate', dir, EEXIST, 'a namespace (or something else) is there already');
  if (ret < 0) throw new NativeError('nsCreate', dir, -ret, `uids ${uidBase}+${uidCount}, gids ${gidBase}+${gidCount}`);
}

/** GovernorNative over native/build/libgovernor.so, loaded on first use. */
/**
 * The i-th int64 of a results buffer the library filled (a length, or a negative errno), as a number, read as
 * two 32-bit halves: a scrape reads thousands of them, and readBigInt64LE allocates a BigInt for each.
 */
function int64At(results: Buffer, i: number): number {
  return results.readInt32LE(8 * i + 4) * 2 ** 32 + results.readUInt32LE(8 * i);
}

export class KoffiNative implements GovernorNative {
  private bindings: Bindings | undefined;
  /** What each open DirFd was opened from, so that errors name whole paths. */
  private readonly dirs = new Map<number, string>();

  /** @param libraryPath the .so to load instead of the one below the repository root */
  constructor(private readonly libraryPath?: string) {}

  private get lib(): Bindings {
    this.bindings ??= load(this.libraryPath ?? findLibrary());
    return this.bindings;
  }

  private where(dir: DirFd, rel: string): string {
    const base = this.dirs.get(dir);
    return base === undefined ? rel : `${base.replace(/\/+$/, '')}/${rel}`;
  }

  openDir(path: string): DirFd {
    refuseNul('openDir', path, [path]);
    const fd = this.lib.openDir(path);
    if (fd < 0) throw new NativeError('openDir', path, -fd);
    this.dirs.set(fd, path);
    return fd as DirFd;
  }

  close(fd: number): void {
    const ret = this.lib.close(fd);
    const path = this.dirs.get(fd) ?? `fd ${fd}`;
    this.dirs.delete(fd);
    if (ret < 0) throw new NativeError('close', path, -ret);
  }

  async readFile(dir: DirFd, rel: string): Promise<string> {
    refuseNul('readFile', rel, [rel]);
    for (let cap = FIRST_READ; ; cap *= 2) {
      const buf = Buffer.allocUnsafe(cap);
      const len: [number] = [0];
      const ret = await onWorker(this.lib.read, dir, rel, buf, cap, len);
      if (ret === -EFBIG && cap < MAX_READ) continue;
      return this.decode('readFile', dir, rel, ret, buf, len[0]);
    }
  }

  readFileSync(dir: DirFd, rel: string): string {
    refuseNul('readFileSync', rel, [rel]);
    for (let cap = FIRST_READ; ; cap *= 2) {
      const buf = Buffer.allocUnsafe(cap);
      const len: [number] = [0];
      const ret = this.lib.read(dir, rel, buf, cap, len);
      if (ret === -EFBIG && cap < MAX_READ) continue;
      return this.decode('readFileSync', dir, rel, ret, buf, len[0]);
    }
  }

  private decode(op: string, dir: DirFd, rel: string, ret: number, buf: Buffer, len: number): string {
    if (ret === -EFBIG) throw new NativeError(op, this.where(dir, rel), EFBIG, `larger than ${MAX_READ} bytes`);
    if (ret < 0) throw new NativeError(op, this.where(dir, rel), -ret);
    return buf.toString('utf8', 0, len);
  }

  async writeFile(dir: DirFd, rel: string, value: string, options: { nonblock?: boolean } = {}): Promise<void> {
    refuseNul('writeFile', rel, [rel]);
    const buf = Buffer.from(value, 'utf8');
    const ret = await onWorker(this.lib.write, dir, rel, buf, buf.length, options.nonblock ? 1 : 0);
    if (ret < 0) throw new NativeError('writeFile', this.where(dir, rel), -ret);
  }

  async readFiles(dir: DirFd, rel: string, names: readonly string[]): Promise<FileRead[]> {
    refuseNul('readFiles', rel, [rel, ...names]);
    // koffi passes an empty Buffer as NULL, which C refuses; and there is nothing to read.
    if (names.length === 0) return [];
    const list = Buffer.from(names.map((name) => `${name}\0`).join(''), 'utf8');
    const results = Buffer.alloc(8 * names.length);
    // Cgroup limit files hold a line or two; a larger one (io.max with many devices) costs a retry.
    for (let cap = Math.max(FIRST_READ, 512 * names.length); ; cap *= 2) {
      const buf = Buffer.allocUnsafe(cap);
      const used: [number] = [0];
      const ret = await onWorker(this.lib.readFiles, dir, rel, list, list.length, names.length, buf, cap, used, results);
      if (ret === -EFBIG && cap < MAX_READ) continue;
      if (ret === -EFBIG) throw new NativeError('readFiles', this.where(dir, rel), EFBIG, `larger than ${MAX_READ} bytes together`);
      if (ret < 0) throw new NativeError('readFiles', this.where(dir, rel), -ret);
      let offset = 0;
      return names.map((name, i) => {
        const status = int64At(results, i);
        if (status < 0) return { name, errno: errnoName(-status) };
        const text = buf.toString('utf8', offset, offset + status);
        offset += status;
        return { name, text };
      });
    }
  }

  async readTree(dir: DirFd, list: TreeList): Promise<TreeRead> {
    const read: TreeRead = { texts: new Array<string | undefined>(list.count).fill(undefined), errors: new Map() };
    // koffi passes an empty Buffer as NULL, which C refuses; and there is nothing to read.
    if (list.count === 0) return read;
    const results = Buffer.alloc(8 * list.count);
    let cap = Math.max(FIRST_READ, list.lastSize + (list.lastSize >> 3));
    let total = 0;
    for (let skip = 0; skip < list.count;) {
      const buf = Buffer.allocUnsafe(cap);
      const used: [number] = [0];
      const done: [number] = [skip];
      const ret = await onWorker(this.lib.readTree, dir, list.bytes, list.bytes.length, list.count, skip, buf, cap, used, results, done);
      if (ret < 0 && ret !== -EFBIG) throw new NativeError('readTree', this.where(dir, ''), -ret, `${list.count} files`);
      // One decode per call; each file's text is then a slice of it, never a copy.
      const contents = buf.toString('latin1', 0, used[0]);
      let offset = 0;
      for (let i = skip; i < done[0]; i++) {
        const status = int64At(results, i);
        if (status < 0) {
          read.errors.set(i, errnoName(-status));
        } else {
          read.texts[i] = contents.substring(offset, offset + status);
          offset += status;
        }
      }
      total += used[0];
      if (ret === -EFBIG && done[0] === skip) {
        if (cap >= MAX_READ) throw new NativeError('readTree', this.where(dir, list.entries[skip].join('/')), EFBIG, `larger than ${MAX_READ} bytes`);
        cap *= 2;
      }
      skip = done[0];
    }
    list.lastSize = total;
    return read;
  }

  async writeFiles(dir: DirFd, rel: string, plan: readonly FileWrite[], options: { nonblock?: boolean } = {}): Promise<FileWriteResult[]> {
    refuseNul('writeFiles', rel, [rel, ...plan.flatMap((write) => [write.name, write.value])]);
    if (plan.length === 0) return [];
    const bytes = Buffer.from(plan.map((write) => `${write.name}\0${write.value}\0`).join(''), 'utf8');
    const results = Buffer.alloc(8 * plan.length);
    const ret = await onWorker(this.lib.writeFiles, dir, rel, bytes, bytes.length, plan.length, options.nonblock ? 1 : 0, results);
    const outcome = plan.map((write, i): FileWriteResult => {
      const status = int64At(results, i);
      return status === 0 ? { ...write, done: true } : status > 0 ? { ...write, done: false } : { ...write, done: false, errno: errnoName(-status) };
    });
    // A failure before any write (the directory itself) has no slot of its own to carry it.
    if (ret < 0 && !outcome.some((write) => write.errno !== undefined)) throw new NativeError('writeFiles', this.where(dir, rel), -ret);
    return outcome;
  }

  async observeNetwork(netnsPath: string | undefined, ifnames: readonly string[]): Promise<string> {
    const where = netnsPath ?? 'this network namespace';
    refuseNul('observeNetwork', where, [...ifnames, netnsPath ?? '']);
    if (ifnames.length > 8) throw new NativeError('observeNetwork', where, EINVAL, 'at most 8 links at a time');
    for (let cap = 16_384; ; cap *= 2) {
      const buf = Buffer.allocUnsafe(cap);
      const used: [number] = [0];
      const ret = await onWorker(this.lib.netObserve, netnsPath ?? null, [...ifnames], ifnames.length, buf, cap, used);
      if (ret === -EFBIG && cap < MAX_READ) continue;
      if (ret < 0) throw new NativeError('observeNetwork', where, -ret, `links ${ifnames.join(', ')}`);
      return buf.toString('utf8', 0, used[0]);
    }
  }

  netNsid(netnsPath: string): number {
    refuseNul('netNsid', netnsPath, [netnsPath]);
    const nsid: [number] = [-1];
    const ret = this.lib.netNsid(netnsPath, nsid);
    if (ret < 0) throw new NativeError('netNsid', netnsPath, -ret);
    return nsid[0];
  }

  watchOpen(): HostWatchFds {
    const fds = new Int32Array(4);
    const ret = this.lib.watchOpen(fds);
    if (ret < 0) throw new NativeError('watchOpen', 'inotify, rtnetlink and /proc/self/mountinfo', -ret);
    return [fds[0], fds[1], fds[2], fds[3]];
  }

  async watchDir(fds: HostWatchFds, path: string): Promise<number> {
    refuseNul('watchDir', path, [path]);
    return onWorker(this.lib.watchDir, fds[1], path);
  }

  watchPid(fds: HostWatchFds, pid: number): number {
    return this.lib.watchPid(fds[0], pid);
  }

  watchDrain(fds: HostWatchFds, out: Int32Array): number {
    const used: [number] = [0];
    const ret = this.lib.watchDrain(Int32Array.from(fds), out, out.length / 2, used);
    if (ret < 0) throw new NativeError('watchDrain', 'the host watch', -ret);
    return used[0];
  }

  nftGeneration(): number {
    const generation: [number] = [0];
    const ret = this.lib.nftGeneration(generation);
    if (ret < 0) throw new NativeError('nftGeneration', 'nfnetlink', -ret);
    return generation[0];
  }

  async getXattr(dir: DirFd, rel: string, name: string): Promise<string | undefined> {
    refuseNul('getXattr', rel, [rel, name]);
    const buf = Buffer.allocUnsafe(256);
    const len: [number] = [0];
    // On a worker: resolving a path in cgroupfs waits for the kernfs lock that every cgroup mkdir holds
    // (3% of the event loop of a 1,500-tenant cold pass in the kernel guest when it was synchronous).
    const ret = await onWorker(this.lib.xattrGet, dir, rel, name, buf, buf.length, len);
    if (ret === -ENODATA) return undefined;
    if (ret < 0) throw new NativeError('getXattr', this.where(dir, rel), -ret, name);
    return buf.toString('utf8', 0, len[0]);
  }

  setXattr(dir: DirFd, rel: string, name: string, value: string): void {
    refuseNul('setXattr', rel, [rel, name, value]);
    const buf = Buffer.from(value, 'utf8');
    const ret = this.lib.xattrSet(dir, rel, name, buf, buf.length);
    if (ret < 0) throw new NativeError('setXattr', this.where(dir, rel), -ret, name);
  }

  pageSize(): number {
    const size = this.lib.pageSize();
    if (size <= 0) throw new NativeError('pageSize', 'sysconf(_SC_PAGESIZE)', EINVAL);
    return size;
  }

  async mkdir(dir: DirFd, rel: string, mode: number): Promise<void> {
    refuseNul('mkdir', rel, [rel]);
    const ret = await onWorker(this.lib.mkdir, dir, rel, mode);
    if (ret < 0) throw new NativeError('mkdir', this.where(dir, rel), -ret);
  }

  async rmdir(dir: DirFd, rel: string): Promise<void> {
    refuseNul('rmdir', rel, [rel]);
    const ret = await onWorker(this.lib.rmdir, dir, rel);
    if (ret < 0) throw new NativeError('rmdir', this.where(dir, rel), -ret);
  }

  spawn(request: SpawnRequest): SpawnedProcess {
    const { command, args, env, cwd, cgroupDir, stdoutPath, stderrPath } = request;
    refuseNul('spawn', command, [command, ...args, ...env, cwd, cgroupDir, stdoutPath, stderrPath]);
    if (args.length === 0) throw new NativeError('spawn', command, EINVAL, 'args must hold argv[0]');
    const pid: [number] = [-1];
    const pidfd: [number] = [-1];
    const step: [number] = [0];
    const ret = this.lib.spawn(command, [...args, null], [...env, null], cwd, cgroupDir, stdoutPath, stderrPath, pid, pidfd, step);
    if (ret < 0) throw spawnError(request, step[0], -ret);
    return { pid: pid[0], pidfd: pidfd[0] };
  }

  async spareMonitor(monitorPath: string): Promise<SpareMonitor> {
    refuseNul('spareMonitor', monitorPath, [monitorPath]);
    const pid: [number] = [-1];
    const sock: [number] = [-1];
    const ret = await onWorker(this.lib.monitorSpare, monitorPath, pid, sock);
    if (ret < 0) throw new NativeError('spareMonitor', monitorPath, -ret);
    return { pid: pid[0], socket: sock[0] };
  }

  releaseSpareMonitor(spare: SpareMonitor): void {
    const ret = this.lib.monitorSpareRelease(spare.pid, spare.socket);
    if (ret < 0) throw new NativeError('releaseSpareMonitor', `pid ${spare.pid}`, -ret);
  }

  async startMonitor(
    monitorPath: string,
    workloadId: string,
    options: readonly string[],
    env: readonly string[],
    timeoutMs: number,
    spare?: SpareMonitor,
  ): Promise<string | undefined> {
    refuseNul('startMonitor', monitorPath, [monitorPath, workloadId, ...options, ...env]);
    const nulTerminated = (values: readonly string[]) => Buffer.from(values.map((value) => `${value}\0`).join(''), 'utf8');
    const optionBytes = nulTerminated(options);
    const envBytes = nulTerminated(env);
    const pid: [number] = [-1];
    const report: [number] = [-1];
    // Synchronous: a sendmsg to the spare, or a vfork that returns once the program has exec'd. The report is then
    // read on this event loop, so that no worker thread stands between the monitor's "ok" and the caller.
    const ret = this.lib.monitorLaunch(
      monitorPath,
      workloadId,
      optionBytes,
      optionBytes.length,
      envBytes,
      envBytes.length,
      spare?.pid ?? -1,
      spare?.socket ?? -1,
      pid,
      report,
    );
    if (ret < 0) throw new NativeError('startMonitor', monitorPath, -ret, `workload ${workloadId}`);
    const { text, timedOut } = await readReport(report[0], timeoutMs);
    const status: [number] = [0];
    const waited = this.lib.monitorLauncherWait(pid[0], timedOut ? 1 : 0, status);
    if (waited < 0) throw new NativeError('startMonitor', `pid ${pid[0]}`, -waited, 'reaping the launcher');
    if (timedOut) return `the monitor did not report within ${timeoutMs} ms`;
    if (text === 'ok') return undefined;
    return text === '' ? `the monitor died while starting (its launcher exited with ${status[0]})` : text;
  }

  raiseOpenFileLimit(want: number): number {
    const limit = this.lib.raiseNofile(want);
    if (limit < 0) throw new NativeError('raiseOpenFileLimit', `RLIMIT_NOFILE ${want}`, -limit);
    return limit;
  }

  pidfdOpen(pid: number): number {
    const fd = this.lib.pidfdOpen(pid);
    if (fd < 0) throw new NativeError('pidfdOpen', `pid ${pid}`, -fd);
    return fd;
  }

  pidfdSendSignal(pidfd: number, signal: number): void {
    const ret = this.lib.pidfdSendSignal(pidfd, signal);
    if (ret < 0) throw new NativeError('pidfdSendSignal', `pidfd ${pidfd}`, -ret, `signal ${signal}`);
  }

  pidfdWait(pidfd: number): ProcessExit {
    const code: [number] = [-1];
    const signal: [number] = [-1];
    const ret = this.lib.pidfdWait(pidfd, code, signal);
    if (ret < 0) throw new NativeError('pidfdWait', `pidfd ${pidfd}`, -ret);
    if (ret === 0) return { exited: false };
    return code[0] >= 0 ? { exited: true, code: code[0] } : { exited: true, signal: signal[0] };
  }

  nsCreate(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number): void {
    checkIds(dir, uidBase, uidCount, gidBase, gidCount);
    nsCreateResult(dir, this.lib.nsCreate(dir, uidBase, uidCount, gidBase, gidCount), uidBase, uidCount, gidBase, gidCount);
  }

  async nsCreateAsync(dir: string, uidBase: number, uidCount: number, gidBase: number, gidCount: number): Promise<void> {
    checkIds(dir, uidBase, uidCount, gidBase, gidCount);
    const ret = await onWorker(this.lib.nsCreate, dir, uidBase, uidCount, gidBase, gidCount);
    nsCreateResult(dir, ret, uidBase, uidCount, gidBase, gidCount);
  }

  nsDestroy(dir: string): void {
    refuseNul('nsDestroy', dir, [dir]);
    const ret = this.lib.nsDestroy(dir);
    if (ret < 0) throw new NativeError('nsDestroy', dir, -ret);
  }

  async nsDestroyAsync(dir: string): Promise<void> {
    refuseNul('nsDestroy', dir, [dir]);
    const ret = await onWorker(this.lib.nsDestroy, dir);
    if (ret < 0) throw new NativeError('nsDestroy', dir, -ret);
  }

  async homeImageAsync(template: string, image: string, owner: number): Promise<void> {
    refuseNul('homeImage', image, [template, image]);
    if (!Number.isInteger(owner) || owner < 0 || owner > MAX_ID)
      throw new NativeError('homeImage', image, EINVAL, `owner ${owner} is not an id from 0 to ${MAX_ID}`);
    const ret = await onWorker(this.lib.homeImage, template, image, owner, owner);
    if (ret < 0) throw new NativeError('homeImage', `${image} from ${template}`, -ret);
  }

  async loopMountAsync(image: string, target: string): Promise<void> {
    refuseNul('loopMount', image, [image, target]);
    const ret = await onWorker(this.lib.loopMount, image, target);
    if (ret < 0) throw new NativeError('loopMount', `${image} on ${target}`, -ret);
  }

  nsCheck(dir: string): boolean {
    refuseNul('nsCheck', dir, [dir]);
    const ret = this.lib.nsCheck(dir);
    if (ret === 0) return true;
    if (ret === -ENOENT || ret === -EINVAL) return false;
    throw new NativeError('nsCheck', dir, -ret);
  }

  makeSharedMount(dir: string): void {
    refuseNul('makeSharedMount', dir, [dir]);
    const ret = this.lib.makeSharedMount(dir);
    if (ret < 0) throw new NativeError('makeSharedMount', dir, -ret);
  }

  lockFile(path: string, mode: number): number {
    refuseNul('lockFile', path, [path]);
    const fd = this.lib.lockFile(path, mode);
    if (fd < 0) throw new NativeError('lockFile', path, -fd);
    this.dirs.set(fd, path);
    return fd;
  }

  lockDir(path: string): number {
    refuseNul('lockDir', path, [path]);
    const fd = this.lib.lockDir(path);
    if (fd < 0) throw new NativeError('lockDir', path, -fd);
    this.dirs.set(fd, path);
    return fd;
  }

  lockHeld(path: string): boolean {
    refuseNul('lockHeld', path, [path]);
    const ret = this.lib.lockHeld(path);
    if (ret < 0 && -ret !== ENOENT) throw new NativeError('lockHeld', path, -ret);
    return ret === 1;
  }

  signalLockHolder(pidFile: string, signal: number): boolean {
    refuseNul('signalLockHolder', pidFile, [pidFile]);
    const ret = this.lib.signalLockHolder(pidFile, signal);
    if (ret < 0 && -ret !== ESRCH && -ret !== ENOENT) throw new NativeError('signalLockHolder', pidFile, -ret, `signal ${signal}`);
    return ret === 0;
  }

  nsReleaseInit(dir: string): void {
    refuseNul('nsReleaseInit', dir, [dir]);
    const ret = this.lib.nsReleaseInit(dir);
    if (ret < 0) throw new NativeError('nsReleaseInit', dir, -ret);
  }

  nsType(path: string): number | undefined {
    refuseNul('nsType', path, [path]);
    const ret = this.lib.nsType(path);
    if (ret === -ENOENT || ret === -EINVAL) return undefined;
    if (ret < 0) throw new NativeError('nsType', path, -ret);
    return ret;
  }

  monitorPath(): string {
    return this.libraryPath === undefined ? monitorPath() : join(dirname(this.libraryPath), MONITOR);
  }

  tenantInitPath(): string {
    return join(this.libraryPath === undefined ? dirname(findLibrary()) : dirname(this.libraryPath), TENANT_INIT);
  }
}
