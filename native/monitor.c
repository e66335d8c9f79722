/*
 * governor-monitor: supervises one tenant workload, like conmon or containerd-shim.
 *
 *   governor-monitor --state-dir DIR --cgroup CGROUP_DIR --monitor-cgroup CGROUP_DIR --netns PATH
 *                    --userns PATH --cwd DIR --log-max-bytes N --log-files K [--env-file FILE]
 *                    [--pidns PATH --mntns PATH --utsns PATH --ipcns PATH] [--cgroupns new]
 *                    -- /abs/command [args...]
 *   governor-monitor WORKLOAD-ID     the same options on stdin, NUL-separated, so that the command line that
 *                                    host users see in /proc names only the workload; there also
 *                    [--ready-fd N] [--env-fd N]   as gv_monitor_start (native/launch.c) passes them
 *
 * With the tenant init's namespaces (native/tenant-init.c), the monitor joins --pidns itself (setns of a PID
 * namespace only places the caller's future children), so the workload is born in the tenant's PID namespace,
 * while the monitor stays in the host's; the workload's child then joins --mntns, --utsns, --ipcns, --netns and
 * --userns, in that order (user last: once in it, the child has no privilege over namespaces the host owns).
 * --cgroupns new gives the workload a cgroup namespace of its own, rooted at its leaf. DIR/namespaces records
 * "kind inode" per line for each namespace it was put in.
 *
 * The process started this way (the launcher) forks twice, with a setsid in between, and waits only until the
 * monitor has started the workload or recorded why it could not. Exit 0: DIR/monitor.pid is written and DIR/pid
 * or DIR/status exists. Exit 1, with a message on stderr: the monitor itself could not start (state dir, lock,
 * monitor cgroup). Exit 2: usage. With --ready-fd (the launch by libgovernor's gv_monitor_start, which spawns this
 * program from the governor's process without a fork of it), the process started is the middle child itself: it
 * leaves the caller's session, clones the monitor and exits 0 at once, and the monitor writes "ok", or why it could
 * not start, on fd N, whose reader waits for EOF. The monitor, adopted by init (or the nearest subreaper), outlives
 * the caller.
 * It starts in --monitor-cgroup (cloned there with CLONE_INTO_CGROUP; a kernel without it moves it there), a leaf
 * of the tenant's cgroup next to the workload's, so that it counts in the tenant's pids and memory, while a
 * cgroup.kill of the workload's leaf misses it and oom_score_adj -1000 keeps the OOM killer off it; then it
 * clone3(CLONE_INTO_CGROUP)s the workload into --cgroup, whose child joins --netns, then --userns, becomes
 * uid and gid 0 there with no supplementary groups, enters --cwd and execs with stdin /dev/null and stdout and
 * stderr piped to the monitor.
 *
 * Environment: the workload gets exactly the NUL-separated NAME=value entries of --env-file (the format of
 * /proc/<pid>/environ; none without it), never the monitor's own environment, which the caller should leave
 * empty: the monitor runs as root, and ld.so and glibc would honour a tenant's LD_PRELOAD, LD_LIBRARY_PATH,
 * GCONV_PATH or MALLOC_* there. The monitor removes --env-file once it has read it: its values can be secrets,
 * and nothing needs them on disk once they are in memory. --env-fd N reads the same format from fd N (a memfd:
 * never on disk), from its start.
 *
 * DIR, which the caller creates, holds (each written atomically, tmp file + rename, unless noted; only status is
 * fsync'd, after its rename, off the start path: see put_file):
 *   monitor.pid  the monitor's pid; it keeps an exclusive flock(2) on it while it lives, so a second monitor
 *                on DIR is refused and a caller that gets LOCK_SH | LOCK_NB knows the monitor is gone;
 *   boot_id      /proc/sys/kernel/random/boot_id at start (status missing + boot id changed = lost);
 *   pid          the workload's host pid, once execve has succeeded;
 *   status       once it has ended: "state=exited\ncode=N\n" or "state=killed\nsignal=N\n"; when it could
 *                not start: "state=failed\nmessage=TEXT\n" (e.g. "command not found: /x"). Its room is set aside
 *                at start (.status.reserved, one block, overwritten in place and renamed to status), so that a
 *                run directory that fills up while the workload runs still gets its exit status. Should even
 *                that fail with ENOSPC or EDQUOT, the monitor keeps the status in memory and retries with
 *                backoff (50 ms doubling to 2 s) for as long as it takes, holding its lock: the workload then
 *                still reads as running, never as lost;
 *   stdout.log, stderr.log  appended; one that holds --log-max-bytes N is renamed to .log.1, .log.1 to .log.2
 *                ... up to .log.K, the oldest dropped: at most (K + 1) * N bytes each. Unwritable output
 *                (ENOSPC) is dropped, never left in the pipe to block the workload.
 * A stale status and pid are removed at start. SIGTERM or SIGINT to the monitor sends SIGTERM to the workload.
 * When the workload has ended the monitor drains its pipes (bounded: a descendant may hold them open), writes
 * status and exits 0; descendants left in the cgroup are the caller's to kill (cgroup.kill).
 */
#include "fd_write.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define USAGE                                                                                                  \
	"usage: governor-monitor --state-dir DIR --cgroup DIR --monitor-cgroup DIR --netns PATH --userns PATH\n" \
	"         --cwd DIR --log-max-bytes N --log-files K [--env-file FILE] -- /abs/command [args...]\n"
#define ENV_MAX (4 << 20)
#define OPTIONS_MAX (1 << 20)
#define MSG_MAX (PATH_MAX + 128)
/* Room set aside for the status file: one page of tmpfs, one block of ext4. An exit status takes 30 bytes; only a
 * start failure with a very long path takes more, and that is written the ordinary way, while the launcher waits. */
#define STATUS_ROOM 4096
#define RESERVED ".status.reserved"
/* argv[1] of a spare (gv_monitor_spare of native/launch.c writes the whole placeholder): the room for the id. */
#define SPARE "--spare:"

struct options {
	const char *state_dir, *cgroup, *monitor_cgroup, *netns, *userns, *cwd, *env_file, *log_max, *log_files;
	const char *pidns, *mntns, *utsns, *ipcns, *cgroupns, *ready_fd_text, *env_fd_text;
	unsigned long long max, keep;
	int ready_fd, env_fd; /* --ready-fd and --env-fd, or -1 */
	char **command;
	int in_monitor_cgroup; /* set once the monitor was cloned straight into --monitor-cgroup */
};

struct log {
	int dir, fd;
	const char *name;
	unsigned long long size, max, keep;
};

/* What the workload's child reports, with errno, through a close-on-exec pipe when a step fails. */
enum step { STEP_NETNS = 1, STEP_USERNS, STEP_IDS, STEP_CWD, STEP_STDIO, STEP_SIGNALS, STEP_EXEC, STEP_TENANTNS };

/* The tenant init's namespaces a workload joins in its child, in this order, before net and user. */
#define TENANT_NS 3
/* a workload's soft RLIMIT_NOFILE when it starts: see run_child */
#define WORKLOAD_NOFILE 1024
static const int tenant_ns_types[TENANT_NS] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC};

struct plan {
	int netns, userns, out, err, report;
	int tenant_ns[TENANT_NS];
	const char *cwd;
	char *const *argv, *const *envp;
};

static int number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	*out = s ? strtoull(s, &end, 10) : 0;
	return s && *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 && *out <= max ? 0 : -1;
}

static int parse(int argc, char **argv, struct options *o)
{
	static const char *const names[] = {"--state-dir", "--cgroup", "--monitor-cgroup", "--netns", "--userns",
					    "--cwd", "--env-file", "--log-max-bytes", "--log-files", "--pidns",
					    "--mntns", "--utsns", "--ipcns", "--cgroupns", "--ready-fd", "--env-fd"};
	const char **values[] = {&o->state_dir, &o->cgroup, &o->monitor_cgroup, &o->netns, &o->userns,
				 &o->cwd, &o->env_file, &o->log_max, &o->log_files, &o->pidns,
				 &o->mntns, &o->utsns, &o->ipcns, &o->cgroupns, &o->ready_fd_text, &o->env_fd_text};
	memset(o, 0, sizeof *o);
	int i = 1;
	for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
		size_t k = 0;
		while (k < sizeof names / sizeof *names && strcmp(argv[i], names[k]) != 0)
			k++;
		if (k == sizeof names / sizeof *names)
			return -1;
		*values[k] = argv[i + 1];
	}
	if (i + 1 >= argc || strcmp(argv[i], "--") != 0 || argv[i + 1][0] != '/')
		return -1;
	o->command = argv + i + 1;
	if (number(o->log_max, ~0ULL >> 1, &o->max) < 0 || o->max == 0 || number(o->log_files, 1000, &o->keep) < 0)
		return -1;
	if (o->cgroupns && strcmp(o->cgroupns, "new") != 0)
		return -1;
	unsigned long long fd;
	o->ready_fd = o->env_fd = -1;
	if (o->ready_fd_text && (number(o->ready_fd_text, INT_MAX, &fd) < 0 || fd < 3 || (o->ready_fd = (int)fd) < 0))
		return -1;
	if (o->env_fd_text && (number(o->env_fd_text, INT_MAX, &fd) < 0 || fd < 3 || (o->env_fd = (int)fd) < 0 || o->env_file))
		return -1;
	return o->state_dir && o->cgroup && o->monitor_cgroup && o->netns && o->userns && o->cwd ? 0 : -1;
}

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t cap, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	vsnprintf(msg, cap, format, ap);
	va_end(ap);
	return -1;
}

static void close_all(const int *fds, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Writes DIR/name atomically: DIR/.name.tmp, then rename; with `durable`, fsync before the rename. Only the exit
 * status is durable: boot_id, pid and namespaces describe a process that cannot outlive a reboot of the host, and a
 * crash of the governor or of the monitor loses nothing that is in the page cache. An fsync on the start path costs
 * 0.4 to 2.4 ms on an ext4 /run (seen on the test host), more than the rest of a start.
 */
static int put_file(int dir, const char *name, const char *text, int durable)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".%s.tmp", name);
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int ret = gv_write_all(fd, text, strlen(text));
	if (ret == 0 && durable && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && errno != EINTR && ret == 0)
		ret = -errno;
	if (ret == 0 && renameat(dir, tmp, dir, name) < 0)
		ret = -errno;
	if (ret < 0)
		unlinkat(dir, tmp, 0);
	return ret;
}

/* Writes text to /proc/self/<name>; 0 or -errno. */
static int put_proc_self(const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = gv_write_all(fd, text, strlen(text));
	close(fd);
	return ret;
}

/* Sets aside STATUS_ROOM bytes for the status (DIR/.status.reserved), so that it can be written on a full disk. The
 * write itself claims the room (tmpfs allocates the page, ext4's delayed allocation reserves the block and fails
 * with ENOSPC there and then), so no fsync is needed for it: overwriting those bytes later takes no new room. */
static int reserve_status(int dir)
{
	static const char blank[STATUS_ROOM] = {0};
	int fd = openat(dir, RESERVED, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int ret = gv_write_all(fd, blank, sizeof blank);
	if (ret < 0) {
		close(fd);
		unlinkat(dir, RESERVED, 0);
		return ret;
	}
	return fd;
}

/* Writes DIR/status: into the room set aside at start when there is one (no new block is needed, so a full disk
 * does not stop it), else as put_file does. *reserved is closed once it has become the status. The reserved file
 * is renamed first and synced after: the governor sees the status as soon as it is complete in the page cache, and
 * a host that crashes before the fsync ends at worst with no status, which after the reboot reads as lost, as it
 * would have before the workload ended. */
static int put_status(int dir, int *reserved, const char *text)
{
	size_t len = strlen(text);
	if (*reserved >= 0 && len <= STATUS_ROOM && pwrite(*reserved, text, len, 0) == (ssize_t)len &&
	    ftruncate(*reserved, (off_t)len) == 0 && renameat(dir, RESERVED, dir, "status") == 0) {
		(void)fsync(*reserved);
		close(*reserved);
		*reserved = -1;
		return 0;
	}
	return put_file(dir, "status", text, 1);
}

/* put_status until it succeeds, as long as it fails for want of room: the status waits in memory meanwhile. */
static int record_status(int dir, int *reserved, const char *text)
{
	int ret;
	for (int wait_ms = 50; (ret = put_status(dir, reserved, text)) == -ENOSPC || ret == -EDQUOT;
	     wait_ms = wait_ms < 1000 ? wait_ms * 2 : 2000)
		poll(NULL, 0, wait_ms);
	return ret;
}

static int log_open(struct log *l, int flags)
{
	struct stat st;
	l->fd = openat(l->dir, l->name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | flags, 0640);
	if (l->fd < 0 || fstat(l->fd, &st) < 0)
		return -errno;
	l->size = (unsigned long long)st.st_size;
	return 0;
}

/* name.K-1 -> name.K (replacing, so dropping, the oldest) ... name -> name.1, then a new, empty name. */
static int log_rotate(struct log *l)
{
	close(l->fd);
	l->fd = -1;
	for (unsigned long long i = l->keep; i >= 1; i--) {
		char from[64], to[64];
		snprintf(from, sizeof from, i == 1 ? "%s" : "%s.%llu", l->name, i - 1);
		snprintf(to, sizeof to, "%s.%llu", l->name, i);
		if (renameat(l->dir, from, l->dir, to) < 0 && errno != ENOENT)
			return -errno;
	}
	return log_open(l, O_TRUNC);
}

static void log_write(struct log *l, const char *buf, size_t n)
{
	while (n > 0) {
		if ((l->fd < 0 || l->size >= l->max) && (l->fd < 0 ? log_open(l, 0) : log_rotate(l)) < 0)
			return;
		size_t chunk = l->max - l->size < n ? (size_t)(l->max - l->size) : n;
		if (gv_write_all(l->fd, buf, chunk) < 0)
			return;
		l->size += chunk;
		buf += chunk;
		n -= chunk;
	}
}

/* Moves up to `reads` buffers from the pipe to the log; at EOF closes the pipe and sets *fd to -1. */
static void pump(int *fd, struct log *l, int reads)
{
	static char buf[65536];
	for (int i = 0; *fd >= 0 && i < reads; i++) {
		ssize_t n = read(*fd, buf, sizeof buf);
		if (n > 0)
			log_write(l, buf, (size_t)n);
		else if (n < 0 && errno == EAGAIN)
			return;
		else if (n == 0 || errno != EINTR)
			close(*fd), *fd = -1;
	}
}

/* Reads the environment, --env-file (opened by the caller: fd) or --env-fd, from its start whatever its offset,
 * into *data and points the entries of *envp into it (both malloc'ed, even without one: fd -1). Closes fd. */
static int read_env(int fd, int given, char **data, char ***envp)
{
	struct stat st = {0};
	ssize_t n = 0;
	if (given && (fd < 0 || fstat(fd, &st) < 0 || (st.st_size > ENV_MAX && (errno = E2BIG))))
		n = -1;
	size_t size = n == 0 ? (size_t)st.st_size : 0, len = 0, k = 0;
	/* An entry takes two bytes at least ("x\0"), so size / 2 + 1 of them and the NULL. */
	if (n == 0 && (!(*data = malloc(size + 1)) || !(*envp = calloc(size / 2 + 2, sizeof **envp))))
		n = -1;
	while (n >= 0 && len < size) {
		if ((n = pread(fd, *data + len, size - len, (off_t)len)) == 0)
			break; /* a file cut short while read: what is there */
		if (n < 0 && errno == EINTR)
			n = 0;
		len += n > 0 ? (size_t)n : 0;
	}
	int e = n < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; e == 0 && i < len; i++)
		if ((*data)[i] != '\0' && (i == 0 || (*data)[i - 1] == '\0'))
			(*envp)[k++] = *data + i;
	if (e == 0)
		(*data)[len] = '\0';
	return -e;
}

static _Noreturn void child_fail(int report, int step, int err)
{
	int r[2] = {step, err};
	while (write(report, r, sizeof r) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* The workload's child, up to execve. The net namespace first: once in the tenant's user namespace, the child
 * has no CAP_SYS_ADMIN over a net namespace that the initial user namespace owns. */
static _Noreturn void run_child(const struct plan *p)
{
	if (write(p->report, "+", 1) != 1) /* "+": it runs */
		child_fail(p->report, STEP_STDIO, errno);
	/* Mount, UTS and IPC first, as root of the initial user namespace, which has CAP_SYS_ADMIN over namespaces
	 * owned by the tenant's user namespace as well as over those the host owns (UTS, net). */
	for (int i = 0; i < TENANT_NS; i++)
		if (p->tenant_ns[i] >= 0 && setns(p->tenant_ns[i], tenant_ns_types[i]) < 0)
			child_fail(p->report, STEP_TENANTNS, errno);
	if (setns(p->netns, CLONE_NEWNET) < 0)
		child_fail(p->report, STEP_NETNS, errno);
	if (setns(p->userns, CLONE_NEWUSER) < 0)
		child_fail(p->report, STEP_USERNS, errno);
	/* Host root's groups must not follow it in; 0 inside is the tenant's base uid and gid outside. */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		child_fail(p->report, STEP_IDS, errno);
	if (chdir(p->cwd) < 0)
		child_fail(p->report, STEP_CWD, errno);
	/* fd 0 is the monitor's /dev/null; every other fd of the monitor is close-on-exec. */
	if (dup2(p->out, 1) < 0 || dup2(p->err, 2) < 0)
		child_fail(p->report, STEP_STDIO, errno);
	/* Raw rt_sigaction also resets glibc's internal signals (see reset_signals in governor.c). */
	const unsigned long dfl[4] = {0, 0, 0, 0};
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && syscall(SYS_rt_sigaction, sig, dfl, NULL, _NSIG / 8) < 0)
			child_fail(p->report, STEP_SIGNALS, errno);
	sigset_t none;
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0 || setsid() < 0)
		child_fail(p->report, STEP_SIGNALS, errno);
	/* The governor raises its own open-file limit (a pidfd per tenant init); a workload starts with the soft
	 * limit most programs expect, as under systemd: 1024 (select(2)'s), and may raise it up to the hard limit. */
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > WORKLOAD_NOFILE) {
		files.rlim_cur = WORKLOAD_NOFILE;
		(void)setrlimit(RLIMIT_NOFILE, &files);
	}
	execve(p->argv[0], p->argv, p->envp);
	child_fail(p->report, STEP_EXEC, errno);
}

static void describe(char *msg, const struct options *o, int step, int err)
{
	static const char *const what[] = {"", "cannot join the network namespace", "cannot join the user namespace",
					   "cannot become root in the user namespace", "", "cannot set up stdio",
					   "cannot reset signals", "", "cannot join the tenant's mount, UTS or IPC namespace"};
	if (step == STEP_CWD)
		fail(msg, MSG_MAX, "%s: %s", err == ENOENT ? "cwd does not exist" : err == ENOTDIR ? "cwd is not a directory" : strerror(err), o->cwd);
	else if (step == STEP_EXEC)
		fail(msg, MSG_MAX, "%s: %s", err == ENOENT ? "command not found" : strerror(err), o->command[0]);
	else
		fail(msg, MSG_MAX, "%s: %s", step > 0 && step <= STEP_TENANTNS ? what[step] : "?", strerror(err));
}

/* Starts the workload: returns its pidfd, with *pid and the (non-blocking) read ends of its stdout and stderr
 * pipes, or -1 with msg set. */
/* Appends "kind inode\n" for the namespace behind fd (or path, when fd < 0) to text, if it can be seen. */
static void note_ns(char *text, size_t cap, const char *kind, int fd, const char *path)
{
	struct stat st;
	if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) < 0)
		return;
	size_t len = strlen(text);
	snprintf(text + len, cap - len, "%s %llu\n", kind, (unsigned long long)st.st_ino);
}

static int spawn(const struct options *o, char **envp, int *pid, int *out, int *err, char *msg, char *ns_text, size_t ns_cap)
{
	int pidfd = -1, po[2] = {-1, -1}, pe[2] = {-1, -1}, rep[2] = {-1, -1};
	int cg = open(o->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int net = cg < 0 ? -1 : open(o->netns, O_RDONLY | O_CLOEXEC);
	int user = net < 0 ? -1 : open(o->userns, O_RDONLY | O_CLOEXEC);
	const char *const tenant_paths[TENANT_NS + 1] = {o->mntns, o->utsns, o->ipcns, o->pidns};
	int tenant[TENANT_NS + 1] = {-1, -1, -1, -1}, bad = -1;
	for (int i = 0; user >= 0 && bad < 0 && i <= TENANT_NS; i++)
		if (tenant_paths[i] && (tenant[i] = open(tenant_paths[i], O_RDONLY | O_CLOEXEC)) < 0)
			bad = i;
	long child = -1;
	if (user < 0)
		fail(msg, MSG_MAX, "cannot open %s: %s", cg < 0 ? o->cgroup : net < 0 ? o->netns : o->userns, strerror(errno));
	else if (bad >= 0)
		fail(msg, MSG_MAX, "cannot open %s: %s", tenant_paths[bad], strerror(errno));
	/* Only children enter a PID namespace: the monitor stays in the host's, and its workload is born inside. */
	else if (tenant[TENANT_NS] >= 0 && setns(tenant[TENANT_NS], CLONE_NEWPID) < 0)
		fail(msg, MSG_MAX, "cannot join the tenant's PID namespace: %s", strerror(errno));
	else if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0 ||
		 fcntl(po[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(pe[0], F_SETFL, O_NONBLOCK) < 0)
		fail(msg, MSG_MAX, "pipe: %s", strerror(errno));
	else {
		struct clone_args args;
		memset(&args, 0, sizeof args);
		/* In its cgroup before its first instruction. A new cgroup namespace made with CLONE_INTO_CGROUP is rooted
		 * at the target: the workload sees its own leaf as "/" and nothing of Governor's tree above it. */
		args.flags = CLONE_PIDFD | CLONE_INTO_CGROUP | (o->cgroupns ? CLONE_NEWCGROUP : 0);
		args.pidfd = (__u64)(uintptr_t)&pidfd;
		args.exit_signal = (__u64)SIGCHLD;
		args.cgroup = (__u64)(unsigned int)cg;
		const struct plan plan = {net, user, po[1], pe[1], rep[1], {tenant[0], tenant[1], tenant[2]}, o->cwd, o->command, envp};
		if ((child = syscall(SYS_clone3, &args, sizeof args)) == 0)
			run_child(&plan);
		if (child < 0)
			fail(msg, MSG_MAX, "clone3 into %s: %s", o->cgroup, strerror(errno));
		else {
			/* The namespaces it joins; its new cgroup namespace only from its /proc entry, read before the
			 * report tells that it execs, while it is still setting up. */
			char path[64];
			snprintf(path, sizeof path, "/proc/%ld/ns/cgroup", child);
			ns_text[0] = '\0';
			note_ns(ns_text, ns_cap, "pid", tenant[TENANT_NS], NULL);
			note_ns(ns_text, ns_cap, "mnt", tenant[0], NULL);
			note_ns(ns_text, ns_cap, "uts", tenant[1], NULL);
			note_ns(ns_text, ns_cap, "ipc", tenant[2], NULL);
			note_ns(ns_text, ns_cap, "cgroup", -1, path);
			note_ns(ns_text, ns_cap, "net", net, NULL);
			note_ns(ns_text, ns_cap, "user", user, NULL);
		}
	}
	close_all((int[]){cg, net, user, po[1], pe[1], rep[1], tenant[0], tenant[1], tenant[2], tenant[3]}, 10);
	/* "+" then EOF (close-on-exec): execve has succeeded. "+" and a report: a step failed. Nothing: the child
	 * never ran. Linux 6.18 kills a child cloned into a cgroup whose cgroup.kill count differs from that of the
	 * parent's cgroup (it compares the wrong cgroup's), so any workload cgroup that has been through cgroup.kill,
	 * or whose ancestor has, kills every new workload: the caller must use a fresh cgroup. */
	unsigned char got[1 + 2 * sizeof(int)];
	size_t len = 0;
	ssize_t n;
	while (child > 0 && len < sizeof got &&
	       ((n = read(rep[0], got + len, sizeof got - len)) > 0 || (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (child > 0 && len != 1) {
		while (waitid(P_PIDFD, (id_t)pidfd, &(siginfo_t){0}, WEXITED) < 0 && errno == EINTR)
			;
		close(pidfd);
		pidfd = -1;
		int r[2];
		if (len == sizeof got) {
			memcpy(r, got + 1, sizeof r);
			describe(msg, o, r[0], r[1]);
		} else if (len == 0)
			fail(msg, MSG_MAX, "killed as it was cloned into %s (after a cgroup.kill: use a fresh cgroup)", o->cgroup);
		else
			fail(msg, MSG_MAX, "lost the report of the workload's child");
	}
	close_all((int[]){rep[0]}, 1);
	if (pidfd < 0) {
		close_all((int[]){po[0], pe[0]}, 2);
		return -1;
	}
	*pid = (int)child;
	*out = po[0];
	*err = pe[0];
	return pidfd;
}

/* Becomes the monitor: stdio on /dev/null, signals, the lock on monitor.pid, the monitor cgroup, boot_id. */
static int setup(const struct options *o, int *dir, int *lock, int *sigfd, int *reserved, char *msg)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || chdir("/") < 0)
		return fail(msg, MSG_MAX, "stdio: %s", strerror(errno));
	close_all((int[]){null > 2 ? null : -1}, 1);
	umask(022);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before clone3, so that the workload's child inherits the mask until it resets it. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (*sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return fail(msg, MSG_MAX, "signals: %s", strerror(errno));
	if ((*dir = open(o->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(msg, MSG_MAX, "cannot open %s: %s", o->state_dir, strerror(errno));
	char text[64];
	snprintf(text, sizeof text, "%d\n", getpid());
	*lock = openat(*dir, "monitor.pid", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (*lock < 0 || flock(*lock, LOCK_EX | LOCK_NB) < 0 || ftruncate(*lock, 0) < 0 ||
	    gv_write_all(*lock, text, strlen(text)) < 0)
		return fail(msg, MSG_MAX, "%s/monitor.pid: %s", o->state_dir,
			    errno == EWOULDBLOCK ? "another monitor holds it" : strerror(errno));
	if ((unlinkat(*dir, "status", 0) < 0 && errno != ENOENT) || (unlinkat(*dir, "pid", 0) < 0 && errno != ENOENT) ||
	    (unlinkat(*dir, "namespaces", 0) < 0 && errno != ENOENT))
		return fail(msg, MSG_MAX, "cannot remove the last status: %s", strerror(errno));
	if (o->in_monitor_cgroup)
		goto boot;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/cgroup.procs", o->monitor_cgroup);
	int procs = open(path, O_WRONLY | O_CLOEXEC);
	int e = procs < 0 ? errno : write(procs, "0", 1) == 1 ? 0 : errno; /* "0": the writing process */
	close_all((int[]){procs}, 1);
	if (e != 0)
		return fail(msg, MSG_MAX, "cannot move into %s: %s", o->monitor_cgroup, strerror(e));
boot:;
	int boot = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = boot < 0 ? -1 : read(boot, text, sizeof text - 1);
	e = n < 0 ? errno : n == 0 ? EIO : 0;
	close_all((int[]){boot}, 1);
	text[n > 0 ? n : 0] = '\0';
	if (e != 0 || (e = -put_file(*dir, "boot_id", text, 0)) != 0)
		return fail(msg, MSG_MAX, "boot_id: %s", strerror(e));
	if ((*reserved = reserve_status(*dir)) < 0)
		return fail(msg, MSG_MAX, "%s/%s: cannot set aside room for the exit status: %s", o->state_dir, RESERVED,
			    strerror(-*reserved));
	return 0;
}

/* Runs the monitor to its end; `ready` gets "ok" or an error for the launcher. Returns the exit code. */
static int monitor(const struct options *o, int ready)
{
	char msg[MSG_MAX] = "", text[MSG_MAX + 32], ns_text[512] = "";
	int dir = -1, lock = -1, sigfd = -1, reserved = -1, out = -1, err = -1, pidfd = -1, pid = 0, ret = 1, e;
	char *env_data = NULL, **envp = NULL;
	struct log logs[2] = {{-1, -1, "stdout.log", 0, o->max, o->keep}, {-1, -1, "stderr.log", 0, o->max, o->keep}};
	siginfo_t info;
	memset(&info, 0, sizeof info); /* WNOHANG leaves si_pid at 0 while the workload runs */
	if (setup(o, &dir, &lock, &sigfd, &reserved, msg) < 0)
		goto done;
	logs[0].dir = logs[1].dir = dir;
	int env = o->env_file ? open(o->env_file, O_RDONLY | O_CLOEXEC) : o->env_fd;
	if ((e = read_env(env, o->env_file || o->env_fd >= 0, &env_data, &envp)) < 0)
		fail(msg, MSG_MAX, "cannot read %s: %s", o->env_file ? o->env_file : "--env-fd", strerror(-e));
	else if (o->env_file && unlink(o->env_file) < 0 && errno != ENOENT)
		fail(msg, MSG_MAX, "cannot remove %s: %s", o->env_file, strerror(errno));
	else if ((e = log_open(&logs[0], 0)) < 0 || (e = log_open(&logs[1], 0)) < 0)
		fail(msg, MSG_MAX, "cannot open the logs: %s", strerror(-e));
	else if ((pidfd = spawn(o, envp, &pid, &out, &err, msg, ns_text, sizeof ns_text)) >= 0)
		snprintf(text, sizeof text, "%d\n", pid);
	/* The monitor's cgroup is a leaf of the tenant's (its memory and its pid count there), so the tenant's OOM
	 * killer could pick it, and lose the exit status: -1000 puts it out of reach. Only once the workload is cloned,
	 * so that it keeps the governor's value; before the launcher hears "ok", so that a caller sees it set. */
	if (pidfd >= 0)
		(void)put_proc_self("oom_score_adj", "-1000");
	/* Before pid, so that a caller that sees pid finds it too. */
	if (pidfd >= 0 && (e = put_file(dir, "namespaces", ns_text, 0)) < 0)
		fail(msg, MSG_MAX, "%s/namespaces: %s", o->state_dir, strerror(-e));
	if (pidfd < 0) {
		for (char *c = msg; *c; c++) /* a path may hold a newline */
			*c = *c == '\n' ? ' ' : *c;
		snprintf(text, sizeof text, "state=failed\nmessage=%s\n", msg);
	}
	if ((e = pidfd < 0 ? put_status(dir, &reserved, text) : put_file(dir, "pid", text, 0)) < 0) {
		fail(msg, MSG_MAX, "%s/%s: %s", o->state_dir, pidfd < 0 ? "status" : "pid", strerror(-e));
		goto done; /* a workload whose pid cannot be recorded is killed below */
	}
	ret = pidfd < 0 ? 0 : 1;
	snprintf(msg, sizeof msg, "ok");
	gv_write_all(ready, msg, strlen(msg));
	close(ready);
	ready = -1;
	/* The monitor sits outside the tenant's cpu.max so that the tenant cannot starve it, but then a workload that
	 * floods its output (a fork bomb's "cannot fork") has the monitor burn host CPU copying it. At nice 10 the
	 * copying yields to the governor and to other tenants; a full pipe then slows the writer, which is the
	 * tenant's own. The workload was started before this, so it keeps the priority it was given. */
	if (pidfd >= 0)
		(void)setpriority(PRIO_PROCESS, 0, 10);
	while (pidfd >= 0 && info.si_pid == 0) {
		struct pollfd fds[4] = {{pidfd, POLLIN, 0}, {out, POLLIN, 0}, {err, POLLIN, 0}, {sigfd, POLLIN, 0}};
		if (poll(fds, 4, -1) < 0 && errno != EINTR)
			break;
		struct signalfd_siginfo si;
		while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
			if (si.ssi_signo != SIGHUP)
				syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
		pump(&out, &logs[0], 16);
		pump(&err, &logs[1], 16);
		if (fds[0].revents && waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0 && errno != EINTR)
			break;
	}
	pump(&out, &logs[0], 64);
	pump(&err, &logs[1], 64);
	if (info.si_pid != 0) {
		snprintf(text, sizeof text, info.si_code == CLD_EXITED ? "state=exited\ncode=%d\n" : "state=killed\nsignal=%d\n",
			 info.si_status);
		ret = record_status(dir, &reserved, text) < 0;
	}
done:
	if (ready >= 0)
		gv_write_all(ready, msg, strlen(msg));
	if (ready >= 0 && pidfd >= 0) { /* started, but not recorded: stop it */
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED);
	}
	if (reserved >= 0)
		unlinkat(dir, RESERVED, 0);
	close_all((int[]){ready, logs[0].fd, logs[1].fd, out, err, pidfd, sigfd, reserved, lock, dir}, 10);
	free(envp);
	free(env_data);
	return ret;
}

/*
 * The monitor process, cloned straight into --monitor-cgroup. Moving a running process there instead (a write to
 * cgroup.procs) waits for an RCU grace period of the kernel's cgroup threadgroup lock: about 10 ms, most of the
 * cost of starting a workload. A kernel without CLONE_INTO_CGROUP gets a fork, and setup() moves the monitor.
 */
static pid_t fork_into(struct options *o)
{
	int cg = open(o->monitor_cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg >= 0) {
		struct clone_args args;
		memset(&args, 0, sizeof args);
		args.flags = CLONE_INTO_CGROUP;
		args.exit_signal = (__u64)SIGCHLD;
		args.cgroup = (__u64)(unsigned int)cg;
		long child = syscall(SYS_clone3, &args, sizeof args);
		int e = errno;
		close(cg);
		if (child >= 0) {
			o->in_monitor_cgroup = 1;
			return (pid_t)child;
		}
		errno = e;
		/* The tenant at pids.max (EAGAIN) is an answer, not a missing feature: a fork moved in afterwards would
		 * slip past the limit, since a move into a cgroup is not counted against pids.max. */
		if (e != ENOSYS && e != E2BIG && e != EINVAL)
			return -1;
	}
	return fork();
}

/*
 * `governor-monitor ID` takes its options from stdin, NUL-separated, as argv would hold them: the command line,
 * which every host user can read in /proc, then names the workload and nothing else. The token array and its
 * text live as long as the process.
 */
static int options_from_stdin(char *name, int *argc, char ***argv)
{
	size_t cap = OPTIONS_MAX, len = 0;
	char *text = malloc(cap + 1);
	if (!text)
		return -1;
	for (ssize_t n; len < cap && (n = read(0, text + len, cap - len)) != 0;) {
		if (n < 0 && errno != EINTR)
			return -1;
		len += n > 0 ? (size_t)n : 0;
	}
	text[len] = '\0';
	size_t count = 1;
	for (size_t i = 0; i < len; i++)
		count += text[i] == '\0';
	char **tokens = calloc(count + 2, sizeof *tokens);
	if (!tokens)
		return -1;
	int n = 0;
	tokens[n++] = name;
	for (size_t i = 0; i < len; i += strlen(text + i) + 1)
		tokens[n++] = text + i;
	tokens[n] = NULL;
	*argc = n;
	*argv = tokens;
	return 0;
}

/* Closes every fd from 3 up but a and b (each -1 or at least 3), which become close-on-exec. */
static void keep_only(int a, int b)
{
	const int keep[2] = {a < b ? a : b, a < b ? b : a};
	unsigned int from = 3;
	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		fcntl(keep[i], F_SETFD, FD_CLOEXEC);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/*
 * With --ready-fd (gv_monitor_start of libgovernor, which spawns this program straight from the caller's process):
 * this process is the middle child of the launch. It leaves the caller's session, clones the monitor into
 * --monitor-cgroup and exits at once, so that the monitor is adopted by init (or the nearest subreaper); the
 * monitor writes "ok", or why it could not start, on --ready-fd, whose other end the caller reads to EOF.
 */
static int detach(struct options *o)
{
	keep_only(o->ready_fd, o->env_fd);
	/* A spare was made a session leader when it was spawned; a program spawned for one launch is not. */
	pid_t child = getsid(0) != getpid() && setsid() < 0 ? -1 : fork_into(o);
	if (child < 0) {
		dprintf(o->ready_fd, "cannot start the monitor in %s: %s", o->monitor_cgroup, strerror(errno));
		return 1;
	}
	return child > 0 ? 0 : monitor(o, o->ready_fd);
}

/*
 * A spare (gv_monitor_spare of native/launch.c: spawned ahead of a launch, so that the launch itself costs no exec
 * of this program) waits on fd 0, a socket, for one launch: the workload id as the message, with the options, env
 * and report fds, which it puts at 0, 4 and 3 as gv_monitor_start's own spawn does; the id goes in place of its
 * argv[1], so that the monitor's command line names the workload and nothing else. -1 at EOF (the governor is
 * gone) or for a message that is not a launch.
 */
static int await_launch(char *slot)
{
	size_t room = strlen(slot);
	char id[64];
	int fds[3];
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {id, sizeof id};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
	ssize_t n;
	while ((n = recvmsg(0, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof fds) ||
	    (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n >= room)
		return -1;
	memcpy(fds, CMSG_DATA(c), sizeof fds);
	for (ssize_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return -1;
	/* Above the targets first, so that no dup2 below replaces a descriptor still to be moved. */
	for (int i = 0; i < 3; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 5)) < 0)
			return -1;
	if (dup2(fds[0], 0) < 0 || dup2(fds[2], 3) < 0 || dup2(fds[1], 4) < 0)
		return -1;
	memset(slot, 0, room);
	memcpy(slot, id, (size_t)n);
	return 0;
}

/* The launcher: its exit status tells the caller what the monitor reported (see the top of this file). */
int main(int argc, char **argv)
{
	struct options o;
	if (argc == 2 && strncmp(argv[1], SPARE, strlen(SPARE)) == 0 && await_launch(argv[1]) < 0)
		return 1;
	if (argc == 2 && argv[1][0] != '-' && options_from_stdin(argv[0], &argc, &argv) < 0)
		return fprintf(stderr, "governor-monitor: cannot read the options from stdin: %s\n", strerror(errno)), 2;
	if (parse(argc, argv, &o) < 0)
		return fputs(USAGE, stderr), 2;
	if (o.ready_fd >= 0)
		return detach(&o);
	/* Whatever the caller leaked without O_CLOEXEC must reach neither the monitor nor the workload. */
	close_range(3, ~0U, 0);
	int ready[2];
	pid_t child = pipe2(ready, O_CLOEXEC) < 0 ? -1 : fork();
	if (child < 0)
		return fprintf(stderr, "governor-monitor: %s\n", strerror(errno)), 1;
	if (child == 0) {
		close(ready[0]);
		if (setsid() < 0 || (child = fork_into(&o)) < 0) {
			dprintf(ready[1], "cannot start the monitor in %s: %s", o.monitor_cgroup, strerror(errno));
			_exit(1);
		}
		_exit(child > 0 ? 0 : monitor(&o, ready[1])); /* the middle child exits: init adopts the monitor */
	}
	close(ready[1]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	char msg[MSG_MAX];
	ssize_t n;
	size_t got = 0;
	while (got < sizeof msg - 1 && ((n = read(ready[0], msg + got, sizeof msg - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(ready[0]);
	msg[got] = '\0';
	if (strcmp(msg, "ok") == 0)
		return 0;
	fprintf(stderr, "governor-monitor: %s\n", got ? msg : "the monitor died while starting");
	return 1;
}
