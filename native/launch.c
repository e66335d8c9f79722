/* libgovernor: gv_monitor_start, the launch of a workload's monitor from the governor's own process (see governor.h). */
#include "governor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where governor-monitor finds what gv_monitor_start hands it (the prefix it puts before the caller's options). */
#define READY_FD 3
#define ENV_FD 4
static const char fd_options[] = "--ready-fd\0" "3\0" "--env-fd\0" "4";

static int write_full(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno != EINTR)
			return -errno;
		buf += n > 0 ? n : 0;
		len -= n > 0 ? (size_t)n : 0;
	}
	return 0;
}

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
	int ret = write_full(fd, a, alen);
	if (ret == 0)
		ret = write_full(fd, b, blen);
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

int gv_monitor_start(const char *monitor_path, const char *workload_id, const uint8_t *options, size_t options_len,
		     const uint8_t *env, size_t env_len, int timeout_ms, uint8_t *msg, size_t msg_cap, size_t *msg_len)
{
	if (!msg_len)
		return -EINVAL;
	*msg_len = 0;
	if (!monitor_path || !workload_id || (!options && options_len) || (!env && env_len) || !msg || msg_cap < 64 ||
	    timeout_ms <= 0)
		return -EINVAL;
	/* The options follow the fd prefix; each of them ends with a NUL, as on the monitor's stdin. */
	int opts = memfd_of("governor-monitor-options", (const uint8_t *)fd_options, sizeof fd_options, options, options_len);
	int envfd = opts < 0 ? -1 : memfd_of("governor-monitor-env", env, env_len, NULL, 0);
	int ready[2] = {-1, -1}, ret = opts < 0 ? opts : envfd < 0 ? envfd : 0;
	if (ret == 0 && pipe2(ready, O_CLOEXEC) < 0)
		ret = -errno;
	if (ret == 0 && ((ready[0] = above_targets(ready[0])) < 0 || (ready[1] = above_targets(ready[1])) < 0))
		ret = ready[0] < 0 ? ready[0] : ready[1];

	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	pid_t pid = -1;
	if (ret == 0) {
		posix_spawn_file_actions_init(&actions);
		posix_spawnattr_init(&attr);
		sigset_t none, all;
		sigemptyset(&none);
		sigfillset(&all);
		/* glibc's posix_spawn is a vfork (CLONE_VM | CLONE_VFORK) and an exec: nothing of the caller's memory is
		 * copied, which a fork of a Node process would cost; the program's stdio is /dev/null. */
		if ((ret = -posix_spawn_file_actions_adddup2(&actions, opts, 0)) == 0 &&
		    (ret = -posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)) == 0 &&
		    (ret = -posix_spawn_file_actions_adddup2(&actions, 1, 2)) == 0 &&
		    (ret = -posix_spawn_file_actions_adddup2(&actions, ready[1], READY_FD)) == 0 &&
		    (ret = -posix_spawn_file_actions_adddup2(&actions, envfd, ENV_FD)) == 0 &&
		    (ret = -posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
		    (ret = -posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
		    (ret = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0) {
			char *const argv[] = {(char *)monitor_path, (char *)workload_id, NULL};
			char *const envp[] = {NULL};
			ret = -posix_spawn(&pid, monitor_path, &actions, &attr, argv, envp);
		}
		posix_spawn_file_actions_destroy(&actions);
		posix_spawnattr_destroy(&attr);
	}
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

	/* The program exits as soon as it has cloned the monitor (governor-monitor's --ready-fd): reaped here, since
	 * Node reaps only the children that child_process started. */
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	size_t len = 0;
	ret = read_report(ready[0], timeout_ms, msg, msg_cap - 1, &len);
	close(ready[0]);
	msg[len] = '\0';
	if (ret == 0 && len == 2 && memcmp(msg, "ok", 2) == 0)
		return 0;
	if (ret == -ETIMEDOUT)
		len = (size_t)snprintf((char *)msg, msg_cap, "the monitor did not report within %d ms", timeout_ms);
	else if (ret == 0 && len == 0)
		len = (size_t)snprintf((char *)msg, msg_cap, "the monitor died while starting (%s %d)",
				       WIFEXITED(status) ? "its launcher exited with" : "its launcher was killed by signal",
				       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	else if (ret < 0)
		return ret;
	*msg_len = len < msg_cap ? len : msg_cap - 1;
	return -EIO;
}
