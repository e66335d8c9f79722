/* libgovernor: see governor.h for the contract of each function. */
#include "governor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
