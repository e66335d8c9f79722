/* libgovernor: see governor.h for the contract of each function. */
#include "governor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* glibc 2.36 has no wrappers for openat2 (437), clone3 (435), pidfd_open (434) or pidfd_send_signal
 * (424): they are called through syscall(2) with the SYS_ numbers of its headers. */

#define GV_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

/*
 * openat2 refuses with EAGAIN when a rename or mount elsewhere raced with a ".." it resolved, because it
 * can then no longer prove that the walk stayed beneath dirfd; the kernel asks callers to retry.
 */
#define GV_OPENAT2_ATTEMPTS 16

static int open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (__u64)(unsigned int)(flags | O_CLOEXEC);
	how.resolve = GV_RESOLVE;
	for (int attempt = 0;; attempt++) {
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		if (fd >= 0)
			return (int)fd;
		if (errno == EINTR || (errno == EAGAIN && attempt + 1 < GV_OPENAT2_ATTEMPTS))
			continue;
		return -errno;
	}
}

int gv_open_dir(const char *path)
{
	if (!path)
		return -EINVAL;
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int gv_close(int fd)
{
	if (close(fd) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int gv_read_beneath(int dirfd, const char *rel, unsigned char *buf, size_t cap, size_t *len)
{
	if (!rel || !len || (!buf && cap > 0))
		return -EINVAL;
	*len = 0;
	int fd = open_beneath(dirfd, rel, O_RDONLY);
	if (fd < 0)
		return fd;
	size_t got = 0;
	int ret = 0;
	for (;;) {
		/* Once buf is full, one more byte tells "exactly cap bytes" (EOF) from "too large". */
		unsigned char probe;
		ssize_t n = got < cap ? read(fd, buf + got, cap - got) : read(fd, &probe, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		if (got == cap) {
			ret = -EFBIG;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (ret == 0)
		*len = got;
	return ret;
}

int gv_write_beneath(int dirfd, const char *rel, const unsigned char *buf, size_t len, int nonblock)
{
	if (!rel || (!buf && len > 0))
		return -EINVAL;
	int fd = open_beneath(dirfd, rel, O_WRONLY | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0)
		return fd;
	ssize_t n;
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	int ret = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	/* Some filesystems (NFS) only report a failed write at close; cgroupfs reports it in write itself. */
	if (close(fd) < 0 && errno != EINTR && ret == 0)
		ret = -errno;
	return ret;
}

/* Opens the parent of `rel` beneath dirfd (O_PATH) and points *name at its last component. */
static int open_parent(int dirfd, const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');
	const char *last = slash ? slash + 1 : rel;
	if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
		return -EINVAL;
	*name = last;
	if (!slash)
		return open_beneath(dirfd, ".", O_PATH | O_DIRECTORY);
	if (slash == rel)
		return open_beneath(dirfd, "/", O_PATH | O_DIRECTORY); /* refused: EXDEV */
	char parent[PATH_MAX];
	size_t n = (size_t)(slash - rel);
	if (n >= sizeof parent)
		return -ENAMETOOLONG;
	memcpy(parent, rel, n);
	parent[n] = '\0';
	return open_beneath(dirfd, parent, O_PATH | O_DIRECTORY);
}

int gv_mkdir_beneath(int dirfd, const char *rel, unsigned int mode)
{
	if (!rel)
		return -EINVAL;
	const char *name;
	int parent = open_parent(dirfd, rel, &name);
	if (parent < 0)
		return parent;
	int ret = mkdirat(parent, name, (mode_t)mode) < 0 ? -errno : 0;
	close(parent);
	return ret;
}

int gv_rmdir_beneath(int dirfd, const char *rel)
{
	if (!rel)
		return -EINVAL;
	const char *name;
	int parent = open_parent(dirfd, rel, &name);
	if (parent < 0)
		return parent;
	int ret = unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	close(parent);
	return ret;
}

int gv_xattr_get_beneath(int dirfd, const char *rel, const char *name, unsigned char *buf, size_t cap, size_t *len)
{
	if (!rel || !name || !len || (!buf && cap > 0))
		return -EINVAL;
	*len = 0;
	int fd = open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	ssize_t n = fgetxattr(fd, name, buf, cap);
	int ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret == 0)
		*len = (size_t)n;
	return ret;
}

int gv_xattr_set_beneath(int dirfd, const char *rel, const char *name, const unsigned char *value, size_t len)
{
	if (!rel || !name || (!value && len > 0))
		return -EINVAL;
	int fd = open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	int ret = fsetxattr(fd, name, value, len, 0) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* What the child writes to the report pipe when a step fails; EOF instead means execve succeeded. */
struct child_report {
	int step;
	int err;
};

struct spawn_plan {
	const char *command;
	const char *const *argv;
	const char *const *envp;
	const char *cwd;
	const char *stdout_path;
	const char *stderr_path;
};

/* Everything from here to execve runs in the forked child: async-signal-safe calls only. */
static _Noreturn void child_fail(int report, int step, int err)
{
	struct child_report r = {step, err};
	ssize_t n;
	do
		n = write(report, &r, sizeof r);
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* A copy of fd at 3 or above, so that the dup2 onto 0, 1 and 2 cannot clobber it (Node may run with
 * closed stdio). The original, if below 3, is close-on-exec or replaced by those dup2s. */
static int above_stdio(int fd)
{
	if (fd > 2)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return high < 0 ? -errno : high;
}

static int open_above_stdio(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : above_stdio(fd);
}

static int reset_signals(void)
{
	/* Raw rt_sigaction, because glibc's sigaction refuses its two internal signals (32, 33), yet a parent
	 * can leave them ignored (GNU make does) and ignored dispositions survive execve. An all-zero kernel
	 * struct sigaction is SIG_DFL with no flags and an empty mask whatever the architecture's layout. */
	const unsigned long dfl[4] = {0, 0, 0, 0};
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && syscall(SYS_rt_sigaction, sig, dfl, NULL, _NSIG / 8) < 0)
			return -1;
	sigset_t none;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void run_child(const struct spawn_plan *p, int report)
{
	int fd = above_stdio(report);
	if (fd < 0)
		child_fail(report, GV_STEP_DUP, -fd);
	report = fd;
	int in = open_above_stdio("/dev/null", O_RDONLY);
	if (in < 0)
		child_fail(report, GV_STEP_STDIN, -in);
	int out = open_above_stdio(p->stdout_path, O_WRONLY | O_CREAT | O_APPEND);
	if (out < 0)
		child_fail(report, GV_STEP_STDOUT, -out);
	int err = open_above_stdio(p->stderr_path, O_WRONLY | O_CREAT | O_APPEND);
	if (err < 0)
		child_fail(report, GV_STEP_STDERR, -err);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		child_fail(report, GV_STEP_DUP, errno);
	/* Whatever Node inherited without O_CLOEXEC (an IPC channel, a runner's pipe) must not reach the
	 * tenant's process. Kernels before 5.11 lack the flag (EINVAL): best effort there. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != EINVAL && errno != ENOSYS)
		child_fail(report, GV_STEP_DUP, errno);
	if (chdir(p->cwd) < 0)
		child_fail(report, GV_STEP_CWD, errno);
	if (reset_signals() < 0)
		child_fail(report, GV_STEP_SIGNALS, errno);
	if (setsid() < 0)
		child_fail(report, GV_STEP_SETSID, errno);
	execve(p->command, (char *const *)p->argv, (char *const *)p->envp);
	child_fail(report, GV_STEP_EXEC, errno);
}

static void reap(int pidfd)
{
	siginfo_t info;
	while (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR)
		;
}

int gv_spawn(const char *command, const char *const *argv, const char *const *envp, const char *cwd,
	     const char *cgroup_dir, const char *stdout_path, const char *stderr_path, int *pid, int *pidfd,
	     int *failed_step)
{
	if (!pid || !pidfd || !failed_step)
		return -EINVAL;
	*pid = -1;
	*pidfd = -1;
	*failed_step = GV_STEP_ARGS;
	if (!command || !argv || !envp || !cwd || !cgroup_dir || !stdout_path || !stderr_path)
		return -EINVAL;
	const struct spawn_plan plan = {command, argv, envp, cwd, stdout_path, stderr_path};

	int cgroup = open(cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cgroup < 0) {
		*failed_step = GV_STEP_CGROUP;
		return -errno;
	}
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0) {
		int e = errno;
		close(cgroup);
		*failed_step = GV_STEP_PIPE;
		return -e;
	}

	/* Blocked across clone3, so that none of Node's signal handlers can run in the child before
	 * run_child resets them; the child unblocks everything just before execve. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int child_pidfd = -1;
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_PIDFD | CLONE_INTO_CGROUP;
	args.pidfd = (__u64)(uintptr_t)&child_pidfd;
	args.exit_signal = (__u64)SIGCHLD;
	args.cgroup = (__u64)(unsigned int)cgroup;
	/* No CLONE_VM: the child gets a copy of memory, like fork, and runs only syscall wrappers there. */
	long child = syscall(SYS_clone3, &args, sizeof args);
	if (child == 0)
		run_child(&plan, report[1]);
	int clone_errno = errno;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	close(report[1]);
	close(cgroup);
	if (child < 0) {
		close(report[0]);
		*failed_step = GV_STEP_CLONE;
		return -clone_errno;
	}

	struct child_report r;
	ssize_t n;
	do
		n = read(report[0], &r, sizeof r);
	while (n < 0 && errno == EINTR);
	int read_errno = errno;
	close(report[0]);
	if (n == 0) {
		*pid = (int)child;
		*pidfd = child_pidfd;
		*failed_step = GV_STEP_NONE;
		return 0;
	}
	if (n != (ssize_t)sizeof r || r.err <= 0) {
		/* Cannot tell whether execve happened: do not leave a process nobody knows about. */
		syscall(SYS_pidfd_send_signal, child_pidfd, SIGKILL, NULL, 0);
		r.step = GV_STEP_REPORT;
		r.err = n < 0 ? read_errno : EIO;
	}
	reap(child_pidfd);
	close(child_pidfd);
	*failed_step = r.step;
	return -r.err;
}

int gv_pidfd_open(int pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
}

long gv_raise_nofile(unsigned long want)
{
	struct rlimit now;
	if (getrlimit(RLIMIT_NOFILE, &now) < 0)
		return -errno;
	/* fs.nr_open caps every hard limit: a setrlimit past it is EPERM even for root. */
	unsigned long cap = want, nr_open;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	if (f) {
		if (fscanf(f, "%lu", &nr_open) == 1 && nr_open < cap)
			cap = nr_open;
		fclose(f);
	}
	if (now.rlim_cur >= cap)
		return (long)(now.rlim_cur > LONG_MAX ? LONG_MAX : now.rlim_cur);
	struct rlimit raised = {.rlim_cur = cap, .rlim_max = now.rlim_max > cap ? now.rlim_max : cap};
	if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
		return (long)cap;
	if (errno != EPERM)
		return -errno;
	struct rlimit soft = {.rlim_cur = now.rlim_max < cap ? now.rlim_max : cap, .rlim_max = now.rlim_max};
	if (soft.rlim_cur <= now.rlim_cur)
		return (long)now.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &soft) < 0)
		return -errno;
	return (long)soft.rlim_cur;
}

int gv_pidfd_send_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int gv_pidfd_wait(int pidfd, int *exit_code, int *term_signal)
{
	if (!exit_code || !term_signal)
		return -EINVAL;
	*exit_code = -1;
	*term_signal = -1;
	siginfo_t info;
	memset(&info, 0, sizeof info); /* WNOHANG leaves si_pid at 0 when nothing has changed */
	int ret;
	do
		ret = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (info.si_pid == 0)
		return 0;
	if (info.si_code == CLD_EXITED)
		*exit_code = info.si_status;
	else
		*term_signal = info.si_status;
	return 1;
}

/* The two namespaces of gv_ns_create, in the order the child makes them: net first, so that the initial user
 * namespace owns it. */
static const struct {
	const char *name;
	int type;
} ns_kinds[2] = {{"net", CLONE_NEWNET}, {"user", CLONE_NEWUSER}};

static int ns_path(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* 0 when `path` is an nsfs mount of a namespace of `type`, -ENOENT when missing, -EINVAL when anything else. */
static int ns_file_check(const char *path, int type)
{
	/* O_NONBLOCK: a FIFO someone put there must not hang the caller. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP || errno == ENXIO ? -EINVAL : -errno;
	struct statfs sfs;
	int ret = fstatfs(fd, &sfs) < 0 ? -errno : sfs.f_type != NSFS_MAGIC ? -EINVAL : 0;
	if (ret == 0 && ioctl(fd, NS_GET_NSTYPE) != type)
		ret = -EINVAL;
	close(fd);
	return ret;
}

/* Creates `path` as the empty file a namespace is mounted on, or accepts an existing regular file that is
 * no namespace yet (*made tells which). */
static int ns_target(const char *path, int *made)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd >= 0) {
		*made = 1;
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	struct stat st;
	struct statfs sfs;
	if (lstat(path, &st) < 0 || statfs(path, &sfs) < 0)
		return -errno;
	return !S_ISREG(st.st_mode) || sfs.f_type == NSFS_MAGIC ? -EEXIST : 0;
}

/* In the child: keeps only the fds `a` and `b`. */
static void close_all_but(int a, int b)
{
	unsigned int lo = (unsigned int)(a < b ? a : b), hi = (unsigned int)(a < b ? b : a);
	if (lo > 0)
		close_range(0, lo - 1, 0);
	if (hi > lo + 1)
		close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0U, 0);
}

/* In the child, in its new network namespace: lo starts down, and the tenant's root cannot raise it. */
static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	int err = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = errno;
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
	if (err == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		err = errno;
	close(s);
	return err;
}

/* The child of gv_ns_create: makes both namespaces, reports (0 or an errno), then waits for EOF on `go` while
 * the parent maps ids and mounts. It holds no other fd, so no copy of another call's `go` delays that EOF.
 * Async-signal-safe calls only. */
static _Noreturn void ns_child(int report, int go)
{
	close_all_but(report, go);
	int err = 0;
	if (unshare(CLONE_NEWNET) < 0)
		err = errno;
	if (err == 0)
		err = loopback_up();
	if (err == 0 && unshare(CLONE_NEWUSER) < 0)
		err = errno;
	ssize_t n;
	do
		n = write(report, &err, sizeof err);
	while (n < 0 && errno == EINTR);
	char byte;
	do
		n = read(go, &byte, 1);
	while (n < 0 && errno == EINTR);
	_exit(0);
}

static int write_id_map(long pid, const char *file, unsigned int base, unsigned int count)
{
	char path[64], map[64];
	snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
	int len = snprintf(map, sizeof map, "0 %u %u\n", base, count);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, map, (size_t)len); /* the kernel takes a map in a single write only */
	int ret = n < 0 ? -errno : n != len ? -EIO : 0;
	close(fd);
	return ret;
}

/* Clones the child, maps its user namespace and bind-mounts both namespaces onto paths[0..1]. */
static int ns_make(char paths[2][PATH_MAX], unsigned int uid_base, unsigned int uid_count, unsigned int gid_base,
		   unsigned int gid_count)
{
	int report[2], go[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(go, O_CLOEXEC) < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return -e;
	}
	/* As in gv_spawn: none of the caller's signal handlers may run in the child, which never unblocks. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int pidfd = -1;
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_PIDFD;
	args.pidfd = (__u64)(uintptr_t)&pidfd;
	args.exit_signal = (__u64)SIGCHLD;
	long child = syscall(SYS_clone3, &args, sizeof args);
	if (child == 0)
		ns_child(report[1], go[0]);
	int ret = child < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	close(report[1]);
	close(go[0]);

	if (ret == 0) {
		int err;
		ssize_t n;
		do
			n = read(report[0], &err, sizeof err);
		while (n < 0 && errno == EINTR);
		ret = n < 0 ? -errno : n != (ssize_t)sizeof err ? -EIO : -err;
	}
	if (ret == 0)
		ret = write_id_map(child, "uid_map", uid_base, uid_count);
	if (ret == 0)
		ret = write_id_map(child, "gid_map", gid_base, gid_count);
	int mounted = 0;
	for (; ret == 0 && mounted < 2; mounted++) {
		char source[64];
		snprintf(source, sizeof source, "/proc/%ld/ns/%s", child, ns_kinds[mounted].name);
		if (mount(source, paths[mounted], NULL, MS_BIND, NULL) < 0) {
			ret = -errno;
			break;
		}
	}
	if (ret < 0 && mounted == 1)
		umount2(paths[0], MNT_DETACH | UMOUNT_NOFOLLOW);

	/* EOF releases the child: no write, which would raise SIGPIPE in a caller whose child is gone. */
	close(go[1]);
	close(report[0]);
	if (child > 0) {
		reap(pidfd);
		close(pidfd);
	}
	return ret;
}

int gv_ns_create(const char *dir, unsigned int uid_base, unsigned int uid_count, unsigned int gid_base,
		 unsigned int gid_count)
{
	if (!dir || uid_count == 0 || gid_count == 0 || (uint64_t)uid_base + uid_count > UINT32_MAX ||
	    (uint64_t)gid_base + gid_count > UINT32_MAX)
		return -EINVAL;
	char paths[2][PATH_MAX];
	for (int i = 0; i < 2; i++)
		if (ns_path(paths[i], dir, ns_kinds[i].name) < 0)
			return -ENAMETOOLONG;
	int made_dir = mkdir(dir, 0755) == 0;
	if (!made_dir && errno != EEXIST)
		return -errno;
	int made[2] = {0, 0};
	int ret = ns_target(paths[0], &made[0]);
	if (ret == 0)
		ret = ns_target(paths[1], &made[1]);
	if (ret == 0)
		ret = ns_make(paths, uid_base, uid_count, gid_base, gid_count);
	if (ret < 0) {
		for (int i = 0; i < 2; i++)
			if (made[i])
				unlink(paths[i]);
		if (made_dir)
			rmdir(dir);
	}
	return ret;
}

/* Unmounts (every stacked mount) and unlinks <dir>/<name>; missing or not a mount counts as done. */
static int ns_file_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];
	if (ns_path(path, dir, name) < 0)
		return -ENAMETOOLONG;
	/* Detaches every mount stacked there; EINVAL: not (or no longer) a mount point. */
	int mounts = 0;
	while (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		if (++mounts == 64)
			return -EBUSY;
	if (errno != EINVAL && errno != ENOENT)
		return -errno;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* The files of a tenant init (native/tenant-init.c) below the tenant's namespace directory. */
static const char *const init_files[] = {"pid", "mnt", "uts", "ipc", "cgroup", "init.pid", ".init.pid.tmp"};

int gv_ns_release_init(const char *dir)
{
	if (!dir)
		return -EINVAL;
	for (size_t i = 0; i < sizeof init_files / sizeof *init_files; i++) {
		int ret = ns_file_remove(dir, init_files[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int gv_ns_destroy(const char *dir)
{
	if (!dir)
		return -EINVAL;
	int ret = gv_ns_release_init(dir);
	for (int i = 0; ret == 0 && i < 2; i++)
		ret = ns_file_remove(dir, ns_kinds[i].name);
	if (ret < 0)
		return ret;
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

/* Binds the open file `file` to a free loop device (autoclear) and mounts it; 0 or -errno, nothing left bound. */
static int loop_bind_mount(int ctl, int file, const char *image, const char *target)
{
	/* Enough for every device a burst of concurrent callers could take from under this one. */
	for (int attempt = 0; attempt < 256; attempt++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return -errno;
		char dev[32];
		snprintf(dev, sizeof dev, "/dev/loop%d", n);
		int loop = open(dev, O_RDWR | O_CLOEXEC);
		if (loop < 0 && errno == ENOENT) {
			if (mknod(dev, S_IFBLK | 0660, makedev(7, (unsigned int)n)) < 0 && errno != EEXIST)
				return -errno;
			loop = open(dev, O_RDWR | O_CLOEXEC);
		}
		if (loop < 0)
			return -errno;
		struct loop_config config;
		memset(&config, 0, sizeof config);
		config.fd = (__u32)file;
		config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		snprintf((char *)config.info.lo_file_name, sizeof config.info.lo_file_name, "%s", image);
		if (ioctl(loop, LOOP_CONFIGURE, &config) < 0) {
			int err = errno;
			close(loop);
			if (err == EBUSY)
				continue;
			return -err;
		}
		int ret = mount(dev, target, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0 ? -errno : 0;
		/* The mount holds the device now; without one, this last close releases it (autoclear). */
		close(loop);
		return ret;
	}
	return -EBUSY;
}

int gv_loop_mount(const char *image, const char *target)
{
	if (!image || !target)
		return -EINVAL;
	int file = open(image, O_RDWR | O_CLOEXEC);
	if (file < 0)
		return -errno;
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int ret = ctl < 0 ? -errno : loop_bind_mount(ctl, file, image, target);
	if (ctl >= 0)
		close(ctl);
	close(file);
	return ret;
}

/* Fields of the ext4 superblock (struct ext4_super_block) that gv_home_image reads or writes. */
#define SB_BLOCKS_COUNT 0x04
#define SB_FIRST_DATA_BLOCK 0x14
#define SB_LOG_BLOCK_SIZE 0x18
#define SB_BLOCKS_PER_GROUP 0x20
#define SB_MAGIC 0x38
#define SB_FEATURE_COMPAT 0x5C
#define SB_FEATURE_INCOMPAT 0x60
#define SB_FEATURE_RO_COMPAT 0x64
#define SB_UUID 0x68
#define SB_HASH_SEED 0xEC
#define SB_INODE_SIZE 0x58
#define SB_DESC_SIZE 0xFE
#define SB_BLOCKS_COUNT_HI 0x150
#define SB_CHECKSUM_SEED 0x270
#define SB_BACKUP_BGS 0x24C
#define SB_CHECKSUM 0x3FC
#define SB_SIZE 1024
/* Fields of the ext4 inode (struct ext4_inode) and group descriptor that the root directory's owner needs. */
#define GD_INODE_TABLE 0x08
#define GD_INODE_TABLE_HI 0x28
#define I_UID 0x02
#define I_GID 0x18
#define I_GENERATION 0x64
#define I_UID_HIGH 0x78
#define I_GID_HIGH 0x7A
#define I_CHECKSUM_LO 0x7C
#define I_EXTRA_ISIZE 0x80
#define I_CHECKSUM_HI 0x82
#define INODE_GOOD_OLD_SIZE 128
#define ROOT_INODE 2u
#define COMPAT_SPARSE_SUPER2 0x200u
#define INCOMPAT_64BIT 0x80u
#define INCOMPAT_CSUM_SEED 0x2000u
#define RO_COMPAT_SPARSE_SUPER 0x1u
#define RO_COMPAT_METADATA_CSUM 0x400u

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* CRC32C as ext4 uses it: reflected, polynomial 0x82F63B78, no final inversion (the seed is ~0). */
static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return crc;
}

/* Whether group `g` holds a superblock: every group without sparse_super, else 0, 1 and powers of 3, 5, 7. */
static int has_super(uint64_t g)
{
	if (g <= 1)
		return 1;
	for (uint64_t base = 3; base <= 7; base += 2) {
		uint64_t x = base;
		while (x < g)
			x *= base;
		if (x == g)
			return 1;
	}
	return 0;
}

/* Copies the data regions of `from` into `to` (already truncated to the same size); 0 or -errno. */
static int copy_data(int from, int to, off_t size)
{
	static __thread uint8_t buf[1 << 16];
	for (off_t at = 0; at < size;) {
		off_t data = lseek(from, at, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		off_t hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (off_t pos = data; pos < hole;) {
			size_t want = (size_t)(hole - pos) < sizeof buf ? (size_t)(hole - pos) : sizeof buf;
			ssize_t n = pread(from, buf, want, pos);
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			for (ssize_t done = 0; done < n;) {
				ssize_t w = pwrite(to, buf + done, (size_t)(n - done), pos + done);
				if (w < 0)
					return -errno;
				done += w;
			}
			pos += n;
		}
		at = hole;
	}
	return 0;
}

/* Writes `uuid` and `seed` into the superblock at `offset` of fd, and its checksum when it has one. */
static int patch_super(int fd, off_t offset, const uint8_t uuid[16], const uint8_t seed[16])
{
	uint8_t sb[SB_SIZE];
	if (pread(fd, sb, sizeof sb, offset) != (ssize_t)sizeof sb)
		return -EIO;
	if (sb[SB_MAGIC] != 0x53 || sb[SB_MAGIC + 1] != 0xEF)
		return -EINVAL;
	memcpy(sb + SB_UUID, uuid, 16);
	memcpy(sb + SB_HASH_SEED, seed, 16);
	if (le32(sb + SB_FEATURE_RO_COMPAT) & RO_COMPAT_METADATA_CSUM) {
		uint32_t sum = crc32c(~0u, sb, SB_CHECKSUM);
		for (int i = 0; i < 4; i++)
			sb[SB_CHECKSUM + i] = (uint8_t)(sum >> (8 * i));
	}
	return pwrite(fd, sb, sizeof sb, offset) == (ssize_t)sizeof sb ? 0 : -EIO;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * Makes uid:gid the owner of the root directory (inode 2), as mkfs.ext4 -E root_owner does, and its checksum
 * again: crc32c from the filesystem's checksum seed over the inode number, its generation and the inode with
 * both checksum halves taken as zero (ext4_inode_csum).
 */
static int root_owner(int fd, const uint8_t *sb, uint64_t block_size, uint64_t first, uint32_t uid, uint32_t gid)
{
	uint8_t gd[64], inode[1024];
	size_t desc = (le32(sb + SB_FEATURE_INCOMPAT) & INCOMPAT_64BIT) ? (size_t)(sb[SB_DESC_SIZE] | sb[SB_DESC_SIZE + 1] << 8) : 32;
	size_t size = (size_t)(sb[SB_INODE_SIZE] | sb[SB_INODE_SIZE + 1] << 8);
	if (desc < 32 || desc > sizeof gd || size < INODE_GOOD_OLD_SIZE || size > sizeof inode)
		return -EINVAL;
	if (pread(fd, gd, desc, (off_t)((first + 1) * block_size)) != (ssize_t)desc)
		return -EIO;
	uint64_t table = le32(gd + GD_INODE_TABLE) | (desc >= 64 ? (uint64_t)le32(gd + GD_INODE_TABLE_HI) << 32 : 0);
	off_t at = (off_t)(table * block_size + (ROOT_INODE - 1) * size);
	if (pread(fd, inode, size, at) != (ssize_t)size)
		return -EIO;
	put16(inode + I_UID, uid);
	put16(inode + I_UID_HIGH, uid >> 16);
	put16(inode + I_GID, gid);
	put16(inode + I_GID_HIGH, gid >> 16);
	if (le32(sb + SB_FEATURE_RO_COMPAT) & RO_COMPAT_METADATA_CSUM) {
		int hi = size > INODE_GOOD_OLD_SIZE && INODE_GOOD_OLD_SIZE + (size_t)(inode[I_EXTRA_ISIZE] | inode[I_EXTRA_ISIZE + 1] << 8) >= I_CHECKSUM_HI + 2;
		put16(inode + I_CHECKSUM_LO, 0);
		if (hi)
			put16(inode + I_CHECKSUM_HI, 0);
		uint8_t number[4] = {ROOT_INODE, 0, 0, 0};
		uint32_t sum = crc32c(le32(sb + SB_CHECKSUM_SEED), number, sizeof number);
		sum = crc32c(sum, inode + I_GENERATION, 4);
		sum = crc32c(sum, inode, size);
		put16(inode + I_CHECKSUM_LO, sum);
		if (hi)
			put16(inode + I_CHECKSUM_HI, sum >> 16);
	}
	return pwrite(fd, inode, size, at) == (ssize_t)size ? 0 : -EIO;
}

/* A fresh UUID (version 4) and hash seed in every superblock of the image open on fd, and uid:gid the root's owner. */
static int new_identity(int fd, uint32_t uid, uint32_t gid)
{
	uint8_t sb[SB_SIZE], uuid[16], seed[16];
	if (pread(fd, sb, sizeof sb, 1024) != (ssize_t)sizeof sb)
		return -EIO;
	if (sb[SB_MAGIC] != 0x53 || sb[SB_MAGIC + 1] != 0xEF)
		return -EINVAL;
	uint32_t compat = le32(sb + SB_FEATURE_COMPAT), incompat = le32(sb + SB_FEATURE_INCOMPAT), ro = le32(sb + SB_FEATURE_RO_COMPAT);
	if ((ro & RO_COMPAT_METADATA_CSUM) && !(incompat & INCOMPAT_CSUM_SEED))
		return -EINVAL;
	if (getrandom(uuid, sizeof uuid, 0) != (ssize_t)sizeof uuid || getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		return -EIO;
	uuid[6] = (uint8_t)((uuid[6] & 0x0F) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3F) | 0x80);
	uint64_t block_size = 1024ull << le32(sb + SB_LOG_BLOCK_SIZE), per_group = le32(sb + SB_BLOCKS_PER_GROUP);
	uint64_t first = le32(sb + SB_FIRST_DATA_BLOCK), blocks = le32(sb + SB_BLOCKS_COUNT);
	if (incompat & INCOMPAT_64BIT)
		blocks |= (uint64_t)le32(sb + SB_BLOCKS_COUNT_HI) << 32;
	if (per_group == 0 || blocks <= first || le32(sb + SB_LOG_BLOCK_SIZE) > 6)
		return -EINVAL;
	uint64_t groups = (blocks - first + per_group - 1) / per_group;
	int ret = root_owner(fd, sb, block_size, first, uid, gid);
	if (ret == 0)
		ret = patch_super(fd, 1024, uuid, seed);
	for (uint64_t g = 1; ret == 0 && g < groups; g++) {
		int backup = (compat & COMPAT_SPARSE_SUPER2)	      ? g == le32(sb + SB_BACKUP_BGS) || g == le32(sb + SB_BACKUP_BGS + 4)
			     : (ro & RO_COMPAT_SPARSE_SUPER) ? has_super(g)
							      : 1;
		if (backup)
			ret = patch_super(fd, (off_t)((g * per_group + first) * block_size), uuid, seed);
	}
	return ret;
}

/* An unnamed file in the directory of `image` (O_TMPFILE), or the image itself where the filesystem has none. */
static int open_unnamed(const char *image, int *named)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(image, '/');
	size_t len = slash ? (size_t)(slash - image) : 1;
	if (len >= sizeof dir)
		return -ENAMETOOLONG;
	memcpy(dir, slash ? image : ".", len);
	dir[len == 0 ? 1 : len] = '\0';
	if (len == 0)
		dir[0] = '/';
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	*named = fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR);
	if (*named)
		fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int gv_home_image(const char *template_path, const char *image, unsigned int uid, unsigned int gid)
{
	if (!template_path || !image)
		return -EINVAL;
	int from = open(template_path, O_RDONLY | O_CLOEXEC);
	if (from < 0)
		return -errno;
	struct stat st;
	int named = 0;
	int to = fstat(from, &st) < 0 ? -errno : open_unnamed(image, &named);
	if (to < 0) {
		close(from);
		return to;
	}
	int ret = ftruncate(to, st.st_size) < 0 ? -errno : copy_data(from, to, st.st_size);
	if (ret == 0)
		ret = new_identity(to, uid, gid);
	close(from);
	/* Named only once whole: a crash before leaves no image that a later pass would take for made. */
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", to);
	if (ret == 0 && !named && linkat(AT_FDCWD, self, AT_FDCWD, image, AT_SYMLINK_FOLLOW) < 0)
		ret = -errno;
	if (close(to) < 0 && ret == 0)
		ret = -errno;
	if (ret < 0 && named)
		unlink(image);
	return ret;
}

int gv_ns_type(const char *path)
{
	if (!path)
		return -EINVAL;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct statfs sfs;
	int ret = fstatfs(fd, &sfs) < 0 ? -errno : sfs.f_type != NSFS_MAGIC ? -EINVAL : ioctl(fd, NS_GET_NSTYPE);
	if (ret == -1)
		ret = -errno;
	close(fd);
	return ret;
}

int gv_ns_check(const char *dir)
{
	if (!dir)
		return -EINVAL;
	int ret = 0;
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		if (ns_path(path, dir, ns_kinds[i].name) < 0)
			return -ENAMETOOLONG;
		int one = ns_file_check(path, ns_kinds[i].type);
		if (one < 0 && one != -ENOENT && one != -EINVAL)
			return one; /* cannot tell */
		ret = ret == -ENOENT ? ret : one < 0 ? one : ret; /* a missing file outranks a wrong one */
	}
	return ret;
}

int gv_make_shared_mount(const char *dir)
{
	if (!dir)
		return -EINVAL;
	struct statx stx;
	if (statx(AT_FDCWD, dir, 0, STATX_TYPE, &stx) < 0)
		return -errno;
	if (!S_ISDIR(stx.stx_mode))
		return -ENOTDIR;
	if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -ENOSYS; /* kernels before 5.8 */
	int bound = 0;
	if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
			return -errno;
		bound = 1;
	}
	if (mount(NULL, dir, NULL, MS_SHARED | MS_REC, NULL) < 0) {
		int e = errno;
		if (bound)
			umount2(dir, MNT_DETACH);
		return -e;
	}
	return 0;
}

static int lock_fd(int fd)
{
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int gv_lock_file(const char *path, unsigned int mode)
{
	if (!path || mode > 07777)
		return -EINVAL;
	return lock_fd(open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode));
}

int gv_lock_dir(const char *path)
{
	if (!path)
		return -EINVAL;
	return lock_fd(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
}

int gv_lock_held(const char *path)
{
	if (!path)
		return -EINVAL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int held = flock(fd, LOCK_SH | LOCK_NB) < 0 ? (errno == EWOULDBLOCK ? 1 : -errno) : 0;
	close(fd); /* drops the shared lock, if this took it */
	return held;
}

/* The pid at the start of the lock file open at fd, or -1. */
static int lock_file_pid(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	char *end;
	errno = 0;
	long pid = strtol(text, &end, 10);
	return errno == 0 && end != text && (*end == '\n' || *end == '\0') && pid > 0 && pid <= INT_MAX ? (int)pid : -1;
}

int gv_signal_lock_holder(const char *pid_file, int sig)
{
	if (!pid_file || sig < 0 || sig > 64)
		return -EINVAL;
	int fd = open(pid_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int pid = lock_file_pid(fd), ret = -ESRCH;
	int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pid > 0 && pidfd < 0)
		ret = -errno;
	/* Held now, by the process that wrote `pid`: that process was alive when the pidfd was opened, so the pidfd
	 * is it, and not whatever got its pid after it died. */
	else if (pidfd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK && lock_file_pid(fd) == pid)
		ret = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
	if (pidfd >= 0)
		close(pidfd);
	close(fd);
	return ret;
}
