/*
 * libgovernor: the few kernel calls Governor cannot make safely from Node.
 *
 * Conventions, for every function below:
 *   - returns 0 on success (or the non-negative fd / pid / state that the comment names) and -errno on
 *     failure; it never aborts or exits the calling process and keeps no global state;
 *   - every fd it creates is close-on-exec;
 *   - "beneath" means that `rel` is resolved from `dirfd` with openat2(2) and
 *     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV: an absolute path or a
 *     ".." that leaves dirfd gives -EXDEV, any symlink on the way gives -ELOOP, a mount point -EXDEV.
 */
#ifndef GOVERNOR_H
#define GOVERNOR_H

#include <stddef.h>
#include <stdint.h>

#define GV_API __attribute__((visibility("default")))

/* Opens `path` (absolute, or relative to the cwd) O_PATH | O_DIRECTORY | O_CLOEXEC. Returns the fd. */
GV_API int gv_open_dir(const char *path);

/* close(2). EINTR counts as success: Linux has released the fd by then and a retry could close another. */
GV_API int gv_close(int fd);

/*
 * Reads the whole file `rel` beneath `dirfd` into buf and stores its length in *len. -EFBIG when the file
 * holds more than `cap` bytes (the caller retries with a larger buffer).
 */
GV_API int gv_read_beneath(int dirfd, const char *rel, unsigned char *buf, size_t cap, size_t *len);

/*
 * Opens the existing file `rel` beneath `dirfd` O_WRONLY (| O_NONBLOCK when nonblock != 0) and writes
 * `len` bytes in a single write(2), as cgroup files expect. A short write is -EIO.
 */
GV_API int gv_write_beneath(int dirfd, const char *rel, const unsigned char *buf, size_t len, int nonblock);

/*
 * mkdirat / unlinkat(AT_REMOVEDIR) of the last component of `rel`, in its parent opened beneath `dirfd`.
 * A last component that is empty, "." or ".." is -EINVAL.
 */
GV_API int gv_mkdir_beneath(int dirfd, const char *rel, unsigned int mode);
GV_API int gv_rmdir_beneath(int dirfd, const char *rel);

/*
 * The extended attribute `name` of the directory `rel` beneath `dirfd` (fgetxattr / fsetxattr on it, opened
 * O_RDONLY | O_DIRECTORY). Get stores the value's length in *len; -ENODATA when the directory has no such
 * attribute, -ERANGE when it holds more than `cap` bytes. Set replaces any value. cgroup2 keeps trusted.*
 * attributes on its directories (systemd's trusted.invocation_id), for as long as the directory lives.
 */
GV_API int gv_xattr_get_beneath(int dirfd, const char *rel, const char *name, unsigned char *buf, size_t cap, size_t *len);
GV_API int gv_xattr_set_beneath(int dirfd, const char *rel, const char *name, const unsigned char *value, size_t len);

/* The step of gv_spawn that failed, stored in *failed_step whenever it returns -errno. */
enum gv_spawn_step {
	GV_STEP_NONE = 0,
	GV_STEP_ARGS = 1,   /* a NULL argument */
	GV_STEP_CGROUP = 2, /* opening cgroup_dir */
	GV_STEP_PIPE = 3,   /* the error-report pipe */
	GV_STEP_CLONE = 4,  /* clone3(CLONE_INTO_CGROUP | CLONE_PIDFD) */
	GV_STEP_STDIN = 5,  /* opening /dev/null */
	GV_STEP_STDOUT = 6, /* opening stdout_path */
	GV_STEP_STDERR = 7, /* opening stderr_path */
	GV_STEP_DUP = 8,    /* dup2 onto 0, 1, 2; marking every other fd close-on-exec */
	GV_STEP_CWD = 9,    /* chdir(cwd) */
	GV_STEP_SIGNALS = 10,
	GV_STEP_SETSID = 11,
	GV_STEP_EXEC = 12,  /* execve(command) */
	GV_STEP_REPORT = 13 /* reading the child's report */
};

/*
 * Starts `command` (an absolute path: no PATH search) with the NULL-terminated `argv` and `envp` straight
 * into the cgroup v2 directory `cgroup_dir`, with clone3(CLONE_INTO_CGROUP | CLONE_PIDFD). The child
 * appends stdout and stderr to the two files (created 0640, relative paths resolve against the caller's
 * cwd), reads /dev/null, inherits no other fd, runs in `cwd` in a new session with default signal
 * dispositions and an empty signal mask. Returns 0 once execve has succeeded, with *pid and *pidfd (close-on-exec, owned by the
 * caller, who must also reap the child: see gv_pidfd_wait). When any step fails the child, if any, has
 * been reaped and the function returns that step's -errno with *failed_step set.
 * Linux 6.18 (seen on 6.18.44) SIGKILLs a child cloned into a cgroup that has been through cgroup.kill (or whose
 * ancestor has) unless the caller's own cgroup has been killed as often: clone3 compares the kill counter of
 * the caller's cgroup with the target's. gv_spawn then returns 0 and the child dies of SIGKILL before its first
 * instruction; start each run in a fresh cgroup (native/monitor.c reports this case as failed).
 */
GV_API int gv_spawn(const char *command, const char *const *argv, const char *const *envp, const char *cwd,
		    const char *cgroup_dir, const char *stdout_path, const char *stderr_path, int *pid,
		    int *pidfd, int *failed_step);

/*
 * Starts a workload's monitor (native/monitor.c, at `monitor_path`) from the caller's process, without a fork of
 * it: the monitor's options go on its stdin (a memfd: `options_len` bytes of NUL-terminated arguments, as
 * `governor-monitor ID` reads them, from --state-dir to the command), the workload's environment in another memfd
 * (`env_len` bytes of NUL-terminated NAME=value entries; never on disk, never on a command line), with a pipe on
 * which the monitor reports; the program that gets them leaves the caller's session, clones the monitor into its
 * --monitor-cgroup and exits (reaped here), so that the monitor outlives the caller. That program is the spare
 * (spare_pid, spare_sock) from gv_monitor_spare when one is given (this call consumes it: the socket is closed
 * and the process reaped), else one posix_spawn'ed (vfork and exec) of `monitor_path` with argv
 * {monitor_path, workload_id} and an empty environment; a spare that cannot take the launch is killed and a
 * program spawned instead. workload_id: 1 to 63 of [a-z0-9-].
 * Returns 0 once the monitor has started the workload or recorded why it could not (its state directory holds
 * pid or status). -EIO when the monitor itself could not start, with why in msg (NUL-terminated, *msg_len bytes;
 * msg_cap at least 64), also when it did not report within timeout_ms (it may still be running then); other
 * -errno from the calls made here.
 */
GV_API int gv_monitor_start(const char *monitor_path, const char *workload_id, const uint8_t *options,
			    size_t options_len, const uint8_t *env, size_t env_len, int spare_pid, int spare_sock,
			    int timeout_ms, uint8_t *msg, size_t msg_cap, size_t *msg_len);

/*
 * gv_monitor_start in two halves, for a caller that waits for the report on its own event loop: hands the launch
 * to the spare, or spawns the program, and returns at once with the launcher's *pid and *report, the read end of
 * the monitor's report (close-on-exec, the caller's): "ok", or why the monitor could not start, then EOF. Once EOF
 * (or the caller's deadline) is reached, gv_monitor_launcher_wait reaps the launcher, which has exited by then
 * or is exiting (kill_first for a deadline: it may hang); *status is its exit code, or 128 + the signal.
 */
GV_API int gv_monitor_launch(const char *monitor_path, const char *workload_id, const uint8_t *options,
			     size_t options_len, const uint8_t *env, size_t env_len, int spare_pid, int spare_sock,
			     int *pid, int *report);
GV_API int gv_monitor_launcher_wait(int pid, int kill_first, int *status);

/*
 * A spare for gv_monitor_start: `monitor_path` posix_spawn'ed ahead of a launch, in a session of its own, waiting
 * on its end of a socket pair (*sock, close-on-exec, the caller's) for one launch, so that a launch costs no
 * exec. Its command line shows the program and a placeholder, which the workload id replaces. It exits when *sock
 * is closed (by gv_monitor_start, or with the caller's process), and must then be reaped by the caller
 * (gv_monitor_start does it for the spare it consumes; waitpid(*pid) otherwise).
 */
GV_API int gv_monitor_spare(const char *monitor_path, int *pid, int *sock);

/* Closes a spare's socket and reaps it (it exits at EOF), when it is not to be used. */
GV_API int gv_monitor_spare_release(int pid, int sock);

/* pidfd_open(2). Returns the pidfd. */
GV_API int gv_pidfd_open(int pid);

/*
 * Raises this process's RLIMIT_NOFILE, soft and hard, to `want`, or as far as fs.nr_open and its privilege allow
 * (without CAP_SYS_RESOURCE: the soft limit up to the hard one). Never lowers either. Returns the soft limit now
 * in force, or -errno.
 */
GV_API long gv_raise_nofile(unsigned long want);

/* pidfd_send_signal(2); sig 0 checks for existence (-ESRCH once the process has exited). */
GV_API int gv_pidfd_send_signal(int pidfd, int sig);

/*
 * Reaps the child behind `pidfd` if it has terminated, without blocking (waitid(P_PIDFD, WEXITED |
 * WNOHANG)). Returns 1 when it was reaped, with *exit_code (or -1) and *term_signal (or -1); 0 while it is
 * still running; -ECHILD when it is not the caller's child or has been reaped already.
 */
GV_API int gv_pidfd_wait(int pidfd, int *exit_code, int *term_signal);

/*
 * Persistent per-tenant namespaces, made in a cloned child so that the (multi-threaded) caller itself never
 * calls unshare or setns. `dir` is created 0755 when missing (an existing one is accepted) and receives two
 * empty files, each bind-mounted with a namespace (an existing empty regular file is accepted, as left by a
 * crash between create and mount):
 *   <dir>/user  a new user namespace whose uid_map is "0 uid_base uid_count" and gid_map "0 gid_base
 *               gid_count": root inside is uid_base outside. /proc/<pid>/setgroups is left at "allow": a
 *               writer with CAP_SETGID in the parent namespace (root here) needs no "deny" (only an
 *               unprivileged writer does), and the tenant's root can then use setgroups(2) within its own
 *               mapped gids, as su and sshd do;
 *   <dir>/net   a new network namespace holding only lo, brought up. It is made BEFORE the user namespace, by
 *               the same child still in the initial user namespace, so it is owned by the initial user
 *               namespace: the tenant's root has no CAP_NET_ADMIN over it (no address, route or firewall
 *               change), only what the host configures for it.
 * Returns 0, -EEXIST when either file is a namespace (nsfs) mount already or not a regular file, -EINVAL for a
 * count of 0 or a range past 2^32 - 1, or the -errno of the step that failed, in which case whatever this
 * call created (files, mounts, the directory) has been removed again.
 */
GV_API int gv_ns_create(const char *dir, unsigned int uid_base, unsigned int uid_count, unsigned int gid_base,
			unsigned int gid_count);

/*
 * Undoes gv_ns_create (and gv_ns_release_init): umount2(MNT_DETACH) of <dir>/user and <dir>/net (a namespace then lives on only while
 * a process or fd still holds it), unlink of both files, rmdir of dir. Whatever is missing already (ENOENT,
 * or a file that is not a mount point) counts as done, so a second call also returns 0. -ENOTEMPTY when dir
 * holds other files.
 */
GV_API int gv_ns_destroy(const char *dir);

/*
 * Undoes what native/tenant-init.c adds to a tenant's namespace directory: unmounts and unlinks <dir>/{pid,mnt,
 * uts,ipc,cgroup} and removes <dir>/init.pid, leaving user and net. Missing files count as done. gv_ns_destroy
 * does this first too.
 */
GV_API int gv_ns_release_init(const char *dir);

/*
 * Mounts the ext4 image file `image` on `target` (nosuid, nodev) through a free loop device, as `mount -o loop`
 * does but without its process, its libmount and blkid probing, or its scan of every loop device: loop-control
 * hands a free device, LOOP_CONFIGURE binds the file to it with LO_FLAGS_AUTOCLEAR (the device is released at
 * the unmount, or at once when the mount fails), and mount(2) mounts it. A device another caller took between
 * the two (EBUSY) is skipped for the next free one. A device node devtmpfs has not made is made (block 7:N).
 * Returns 0 or -errno of the step that failed, with nothing left bound.
 */
GV_API int gv_loop_mount(const char *image, const char *target);

/*
 * Makes the ext4 image `image` (0600; -EEXIST when it exists) as a copy of the ext4 image
 * `template`, data only (SEEK_DATA / SEEK_HOLE: a hole stays a hole), with a filesystem UUID and directory hash
 * seed of its own, so that no two images made from one template are the same filesystem to blkid, udev or
 * e2fsck, and uid:gid the owner of its root directory (what mkfs.ext4 -E root_owner sets). Every superblock (the
 * primary and each backup) gets both, and its checksum again, as does the root's inode; the template must have
 * metadata_csum_seed when it has metadata_csum (-EINVAL otherwise: its other checksums derive from the UUID).
 * The image is made unnamed (O_TMPFILE) and linked at `image` once whole. Returns 0 or -errno, with no image
 * left behind.
 */
GV_API int gv_home_image(const char *template_path, const char *image, unsigned int uid, unsigned int gid);

/*
 * The CLONE_NEW* type of the namespace mounted (or linked, as /proc/<pid>/ns/<kind>) at `path`: -EINVAL when
 * it is not an nsfs file, -ENOENT when missing.
 */
GV_API int gv_ns_type(const char *path);

/*
 * 0 when <dir>/user is a user namespace mount and <dir>/net a network namespace mount (nsfs, checked with
 * NS_GET_NSTYPE); -ENOENT when dir or either file is missing; otherwise -EINVAL when a file is anything else,
 * such as the bare file left behind when the bind mount was lost (a reboot, or a mount namespace that died);
 * another -errno when it cannot tell.
 */
GV_API int gv_ns_check(const char *dir);

/*
 * Makes the directory `dir` (say /run/governor/ns) a mount point with shared propagation, as `ip netns`
 * does for /run/netns: bind-mounts it onto itself unless it is a mount point already (statx
 * STATX_ATTR_MOUNT_ROOT), then sets MS_SHARED | MS_REC. So that a governor in a private mount namespace
 * still sees them: every namespace mount made beneath dir, in any mount namespace that holds a peer copy of
 * it, propagates to all the others (a namespace created later, by unshare -m or a systemd unit, starts with a
 * peer copy), instead of living and dying with the mount namespace of the governor that made it. A slave
 * copy (systemd's PrivateTmp= and friends make the whole tree a slave) still receives mounts, but those it
 * makes do not propagate back. Idempotent; returns 0 or -errno (-ENOTDIR for a file).
 */
GV_API int gv_make_shared_mount(const char *dir);

/*
 * Opens (creating with `mode` if missing) the file `path` and takes an exclusive flock(2) on it without
 * waiting. Returns the descriptor (O_CLOEXEC, so no child inherits the lock) or -errno: -EWOULDBLOCK when
 * another open file description holds the lock. The lock lives as long as the descriptor: the kernel
 * drops it when the holder exits, however it exits, so a lock file left behind by a killed process never
 * locks anybody out (which a pid file alone cannot promise). Close the descriptor with gv_close to release.
 */
GV_API int gv_lock_file(const char *path, unsigned int mode);

/* The same for an existing directory (a cgroup directory, which holds no file of ours): returns its descriptor,
 * opened O_RDONLY | O_DIRECTORY | O_CLOEXEC, with an exclusive flock taken without waiting, or -errno. */
GV_API int gv_lock_dir(const char *path);

/*
 * Whether a process holds a flock(2) on the existing file `path` (the other side of gv_lock_file, and of the
 * monitor's monitor.pid): 1 when it is held, 0 when nobody holds it (the shared lock this takes to find out is
 * dropped at once), or -errno (-ENOENT when there is no such file). A dead holder holds nothing, and a recycled
 * pid holds nothing either, which is why liveness is judged by the lock, never by a pid or a command line.
 */
GV_API int gv_lock_held(const char *path);

/*
 * Sends `sig` to the process whose pid the lock file `pid_file` holds ("PID\n", written by the process that
 * locks it), through a pidfd, and only while that process still holds the lock: the pidfd is opened first, then
 * the lock and the pid are checked, so a pid recycled after its holder died is never signalled. Returns 0, -ESRCH
 * when nobody holds the lock (or the file names another pid than the holder wrote), or -errno.
 */
GV_API int gv_signal_lock_holder(const char *pid_file, int sig);

#endif
