/* libgovernor: gv_monitor_start, the launch of a workload's monitor from the governor's own process (see governor.h). */
#include "governor.h"
#include "fd_write.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where governor-monitor finds what gv_monitor_start hands it (the prefix it puts before the caller's options). */
#define READY_FD 3
#define ENV_FD 4
static const char fd_options[] = "--ready-fd\0" "3\0" "--env-fd\0" "4";
/* argv[1] of a spare (governor-monitor's SPARE, the same text): room for the workload id it is given later. */
static const char spare_mark[] = "--spare:" "........................................................";

/* fd moved to ENV_FD + 1 or above (close-on-exec), so that no dup2 of the spawn's file actions can clobber it. */
static int above_targets(int fd)
{
	if (fd < 0 || fd > ENV_FD)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, ENV_FD + 1);
	int e = errno;
	close(fd);
	return high < 0 ? -e : high;
}

/* A memfd (close-on-exec, read from its start) holding a then b. */
static int memfd_of(const char *name, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = gv_write_all(fd, a, alen);
	if (ret == 0)
		ret = gv_write_all(fd, b, blen);
	if (ret == 0 && lseek(fd, 0, SEEK_SET) < 0)
		ret = -errno;
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return above_targets(fd);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the monitor's report to EOF (or msg_cap bytes, or the deadline): *len bytes in msg. */
static int read_report(int fd, int timeout_ms, uint8_t *msg, size_t msg_cap, size_t *len)
{
	long long deadline = now_ms() + timeout_ms;
	*len = 0;
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = {fd, POLLIN, 0};
		int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return -errno;
		if (ready == 0)
			return -ETIMEDOUT;
		ssize_t n = read(fd, msg + *len, msg_cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		*len += (size_t)n;
		if (n == 0 || *len == msg_cap)
			return 0;
	}
}

/* posix_spawn of monitor_path with argv {monitor_path, arg}, an empty environment, default signals, stdio
 * /dev/null but fd 0, and each (from, to) of the pairs dup2'd; setsid with `session`. */
static int spawn_program(const char *monitor_path, const char *arg, const int pairs[][2], int count, int session, pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	short flags = (short)(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (session ? POSIX_SPAWN_SETSID : 0));
	/* glibc's posix_spawn is a vfork (CLONE_VM | CLONE_VFORK) and an exec: nothing of the caller's memory is
	 * copied, which a fork of a Node process would cost. */
	int ret = -posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	if (ret == 0)
		ret = -posix_spawn_file_actions_adddup2(&actions, 1, 2);
	for (int i = 0; ret == 0 && i < count; i++)
		ret = -posix_spawn_file_actions_adddup2(&actions, pairs[i][0], pairs[i][1]);
	if (ret == 0 && (ret = -posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (ret = -posix_spawnattr_setsigdefault(&attr, &all)) == 0 && (ret = -posix_spawnattr_setflags(&attr, flags)) == 0) {
		char *const argv[] = {(char *)monitor_path, (char *)arg, NULL};
		char *const envp[] = {NULL};
		ret = -posix_spawn(pid, monitor_path, &actions, &attr, argv, envp);
	}
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	return ret;
}

int gv_monitor_spare(const char *monitor_path, int *pid, int *sock)
{
	if (!monitor_path || !pid || !sock)
		return -EINVAL;
	*pid = *sock = -1;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -errno;
	int ret = (pair[0] = above_targets(pair[0])) < 0 ? pair[0] : (pair[1] = above_targets(pair[1])) < 0 ? pair[1] : 0;
	pid_t child = -1;
	if (ret == 0)
		ret = spawn_program(monitor_path, spare_mark, (const int[][2]){{pair[1], 0}}, 1, 1, &child);
	if (pair[1] >= 0)
		close(pair[1]);
	if (ret < 0) {
		if (pair[0] >= 0)
			close(pair[0]);
		return ret;
	}
	*pid = child;
	*sock = pair[0];
	return 0;
}

int gv_monitor_spare_release(int pid, int sock)
{
	if (pid <= 0 || sock <= ENV_FD)
		return -EINVAL;
	close(sock); /* the spare reads EOF and exits 1 */
	while (waitpid(pid, NULL, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Hands the launch to a spare: the workload id as the message, the options, env and report fds with it. */
static int use_spare(int sock, const char *workload_id, int opts, int envfd, int ready)
{
	int fds[3] = {opts, envfd, ready};
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov = {(void *)workload_id, strlen(workload_id)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	ssize_t n;
	while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)iov.iov_len ? 0 : n < 0 ? -errno : -EIO;
}

int gv_monitor_launch(const char *monitor_path, const char *workload_id, const uint8_t *options, size_t options_len,
		      const uint8_t *env, size_t env_len, int spare_pid, int spare_sock, int *pid, int *report)
{
	if (spare_sock >= 0 && spare_sock <= ENV_FD) /* never one of the fds this function gives to the program */
		return -EINVAL;
	int spare = spare_pid > 0 && spare_sock >= 0;
	size_t id_len = workload_id ? strlen(workload_id) : 0;
	int ret = !monitor_path || id_len == 0 || id_len >= sizeof spare_mark || (!options && options_len) ||
			  (!env && env_len) || !pid || !report
		      ? -EINVAL
		      : 0;
	if (ret == 0)
		*pid = *report = -1;
	/* The options follow the fd prefix; each of them ends with a NUL, as on the monitor's stdin. */
	int opts = ret < 0 ? ret : memfd_of("governor-monitor-options", (const uint8_t *)fd_options, sizeof fd_options, options, options_len);
	int envfd = opts < 0 ? -1 : memfd_of("governor-monitor-env", env, env_len, NULL, 0);
	int ready[2] = {-1, -1};
	ret = opts < 0 ? opts : envfd < 0 ? envfd : 0;
	if (ret == 0 && pipe2(ready, O_CLOEXEC) < 0)
		ret = -errno;
	if (ret == 0 && ((ready[0] = above_targets(ready[0])) < 0 || (ready[1] = above_targets(ready[1])) < 0))
		ret = ready[0] < 0 ? ready[0] : ready[1];

	pid_t child = -1;
	if (ret == 0 && spare && use_spare(spare_sock, workload_id, opts, envfd, ready[1]) == 0)
		child = spare_pid;
	else if (spare) { /* a spare that cannot take it (it died, say) is reaped, and a program spawned instead */
		kill(spare_pid, SIGKILL);
		while (waitpid(spare_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (spare_sock >= 0)
		close(spare_sock);
	if (ret == 0 && child < 0)
		ret = spawn_program(monitor_path, workload_id, (const int[][2]){{opts, 0}, {ready[1], READY_FD}, {envfd, ENV_FD}}, 3,
				    0, &child);
	if (ready[1] >= 0)
		close(ready[1]);
	if (opts >= 0)
		close(opts);
	if (envfd >= 0)
		close(envfd);
	if (ret < 0) {
		if (ready[0] >= 0)
			close(ready[0]);
		return ret;
	}
	*pid = child;
	*report = ready[0];
	return 0;
}

int gv_monitor_launcher_wait(int pid, int kill_first, int *status)
{
	if (pid <= 0 || !status)
		return -EINVAL;
	if (kill_first)
		kill(pid, SIGKILL);
	int wstatus = 0;
	while (waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR)
			return -errno;
	*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	return 0;
}

int gv_monitor_start(const char *monitor_path, const char *workload_id, const uint8_t *options, size_t options_len,
		     const uint8_t *env, size_t env_len, int spare_pid, int spare_sock, int timeout_ms, uint8_t *msg,
		     size_t msg_cap, size_t *msg_len)
{
	if (!msg_len || !msg || msg_cap < 64 || timeout_ms <= 0) {
		if (spare_sock > ENV_FD)
			close(spare_sock);
		return -EINVAL;
	}
	*msg_len = 0;
	int pid, report;
	int ret = gv_monitor_launch(monitor_path, workload_id, options, options_len, env, env_len, spare_pid, spare_sock, &pid, &report);
	if (ret < 0)
		return ret;
	size_t len = 0;
	ret = read_report(report, timeout_ms, msg, msg_cap - 1, &len);
	close(report);
	int status = 0;
	gv_monitor_launcher_wait(pid, ret == -ETIMEDOUT, &status);
	msg[len] = '\0';
	if (ret == 0 && len == 2 && memcmp(msg, "ok", 2) == 0)
		return 0;
	if (ret == -ETIMEDOUT)
		len = (size_t)snprintf((char *)msg, msg_cap, "the monitor did not report within %d ms", timeout_ms);
	else if (ret == 0 && len == 0)
		len = (size_t)snprintf((char *)msg, msg_cap, "the monitor died while starting (its launcher exited with %d)", status);
	else if (ret < 0)
		return ret;
	*msg_len = len < msg_cap ? len : msg_cap - 1;
	return -EIO;
}
