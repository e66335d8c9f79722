/*
 * build/governor-monitor, run as the governor will run it: workloads in a tenant's namespaces (made with
 * gv_ns_create below <run_dir>/tenant, uid and gid base 1879048192, 65536 ids) and in test cgroups
 * <tree>/governor-native-test-<random>/{workload,monitor}, killed (cgroup.kill) and removed at the end. This
 * process is a child subreaper, so that the monitors, which detach from their launcher, are reaped here.
 */
#include "governor.h"
#include "test/check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UID_BASE 1879048192u
#define MIB 1048576L

static char monitor_path[PATH_MAX], run[256], ns_dir[320], netns[400], userns[400];
static char cg_name[64], cg_root[512], cg_work[600], cg_mon[600];

struct launch {
	const char *cwd, *max, *files, *env_file, *cgroup;
};

/* The whole small file at `path` into buf (NUL-terminated); its length, or -errno. */
static long read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf[0] = '\0';
		return -errno;
	}
	size_t got = 0;
	ssize_t n;
	while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

static const char *in(const char *state, const char *name)
{
	static char paths[4][512];
	static int next;
	char *path = paths[next++ % 4];
	snprintf(path, 512, "%s/%s", state, name);
	return path;
}

/* The state directory <run>/<name>, created unless it exists. */
static const char *state_dir(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", run, name);
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		perror(buf);
	return buf;
}

/*
 * Runs the launcher as a caller would, and returns its exit status (-1 when it did not exit). Its environment
 * holds only GV_MONITOR_ENV=leaked, which the workload must not see; fd 50 is left open without close-on-exec,
 * which neither may inherit; stderr goes to <run>/launcher.err.
 */
static int launch(const char *state, const struct launch *l, const char *const *command)
{
	const char *argv[64] = {monitor_path, "--state-dir", state, "--cgroup", l->cgroup ? l->cgroup : cg_work,
				"--monitor-cgroup", cg_mon, "--netns", netns, "--userns", userns, "--cwd",
				l->cwd ? l->cwd : "/", "--log-max-bytes", l->max ? l->max : "1048576", "--log-files",
				l->files ? l->files : "2"};
	int n = 17;
	if (l->env_file) {
		argv[n++] = "--env-file";
		argv[n++] = l->env_file;
	}
	argv[n++] = "--";
	for (int i = 0; command[i] && n < 63; i++)
		argv[n++] = command[i];
	argv[n] = NULL;
	pid_t child = fork();
	if (child == 0) {
		int err = open(in(run, "launcher.err"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (err < 0 || dup2(err, 2) < 0 || dup2(err, 50) < 0)
			_exit(126);
		char *const envp[] = {"GV_MONITOR_ENV=leaked", NULL};
		execve(monitor_path, (char *const *)argv, envp);
		_exit(127);
	}
	int status;
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int wait_for(const char *path, long ms)
{
	struct stat st;
	for (long waited = 0; waited < ms; waited += 10, sleep_ms(10))
		if (stat(path, &st) == 0)
			return 1;
	return stat(path, &st) == 0;
}

static int monitor_pid(const char *state)
{
	char buf[32];
	return read_text(in(state, "monitor.pid"), buf, sizeof buf) > 0 ? atoi(buf) : -1;
}

/* Waits for DIR/status and for the monitor to exit (it is this subreaper's child); returns the status. */
static const char *finish(const char *state)
{
	static char status[1024];
	int pid = monitor_pid(state), wstatus = -1;
	if (!wait_for(in(state, "status"), 10000)) {
		tally(0, "the monitor writes a status within 10 s");
		status[0] = '\0';
		return status;
	}
	read_text(in(state, "status"), status, sizeof status);
	pid_t reaped = 0;
	for (int i = 0; i < 1000 && pid > 0 && (reaped = waitpid(pid, &wstatus, WNOHANG)) == 0; i++)
		sleep_ms(10);
	if (!tally(reaped == pid && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "... and the monitor then exits 0"))
		printf("     monitor %d: waitpid %d, status 0x%x\n", pid, reaped, wstatus);
	return status;
}

/* Runs `command` to its end in a new state dir; returns the status; *out gets stdout.log. */
static const char *run_to_end(const char *name, const struct launch *l, const char *const *command, char *out,
			      size_t cap)
{
	char state[320];
	state_dir(state, sizeof state, name);
	int code = launch(state, l, command);
	if (!tally(code == 0, "the launcher exits 0"))
		printf("     %s: exit %d\n", name, code);
	const char *status = finish(state);
	if (out)
		read_text(in(state, "stdout.log"), out, cap);
	return status;
}

/* Squeezes runs of blanks into one space and drops blanks at the start and end of lines. */
static char *squeeze(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == ' ' || *r == '\t') {
			if (w != s && w[-1] != ' ' && w[-1] != '\n' && r[1] != '\n' && r[1] != '\0' && r[1] != ' ' && r[1] != '\t')
				*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_ids_and_network(void)
{
	char out[8192];
	const struct launch def = {0};
	const char *const uid_map[] = {"/bin/cat", "/proc/self/uid_map", NULL};
	EXPECT_STR("cat /proc/self/uid_map exits 0", run_to_end("uid-map", &def, uid_map, out, sizeof out),
		   "state=exited\ncode=0\n");
	EXPECT_STR("... and shows 0 mapped to 1879048192, 65536 ids", squeeze(out), "0 1879048192 65536\n");
	const char *const id[] = {"/usr/bin/id", "-u", NULL};
	run_to_end("id", &def, id, out, sizeof out);
	EXPECT_STR("id -u prints 0", out, "0\n");
	const char *const ids[] = {"/bin/sh", "-c",
				   "cat /proc/self/gid_map /proc/self/setgroups; id -g; grep -E '^(Groups|CapEff)' /proc/self/status",
				   NULL};
	/* Joining a user namespace resets the bounding set to every capability (set_cred_user_ns), whatever the
	 * host's: root inside holds them all, over what that namespace owns. */
	char want[256], last[16];
	int cap_last = read_text("/proc/sys/kernel/cap_last_cap", last, sizeof last) > 0 ? atoi(last) : 40;
	snprintf(want, sizeof want, "0 1879048192 65536\nallow\n0\nGroups:\nCapEff: %016llx\n", (2ULL << cap_last) - 1);
	run_to_end("ids", &def, ids, out, sizeof out);
	EXPECT_STR("gid 0 is 1879048192, setgroups is allowed, no host group follows, all caps in the user ns",
		   squeeze(out), want);

	const char *const dev[] = {"/bin/cat", "/proc/net/dev", NULL};
	run_to_end("net-dev", &def, dev, out, sizeof out);
	int lines = 0;
	for (const char *c = squeeze(out); *c; c++)
		lines += *c == '\n';
	char *third = strchr(out, '\n') ? strchr(strchr(out, '\n') + 1, '\n') : NULL;
	EXPECT_TRUE("/proc/net/dev in the netns lists lo, and no other device", lines == 3 && third && strncmp(third + 1, "lo: ", 4) == 0);
	const char *const link[] = {"/usr/sbin/ip", "-o", "link", NULL};
	run_to_end("ip-link", &def, link, out, sizeof out);
	EXPECT_TRUE("ip -o link shows one line, lo, up", strncmp(out, "1: lo: <LOOPBACK,UP,", 20) == 0 &&
								  strchr(out, '\n') == out + strlen(out) - 1);
	char state[320];
	const char *const down[] = {"/usr/sbin/ip", "link", "set", "lo", "down", NULL};
	EXPECT_STR("ip link set lo down fails: the tenant's root has no CAP_NET_ADMIN there",
		   run_to_end("ip-down", &def, down, NULL, 0), "state=exited\ncode=2\n");
	read_text(in(state_dir(state, sizeof state, "ip-down"), "stderr.log"), out, sizeof out);
	EXPECT_STR("... with EPERM", out, "RTNETLINK answers: Operation not permitted\n");
}

static void test_exits(void)
{
	char out[8192], state[320], text[256];
	const struct launch def = {0};
	state_dir(state, sizeof state, "exit-3");
	const char *const exit3[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	EXPECT("the launcher of sh -c 'exit 3' exits 0", launch(state, &def, exit3), 0);
	int mpid = monitor_pid(state);
	EXPECT_STR("the status records exit code 3", finish(state), "state=exited\ncode=3\n");
	EXPECT_TRUE("monitor.pid held the monitor's pid", mpid > 1 && mpid != getpid());
	EXPECT_TRUE("pid holds the workload's pid", read_text(in(state, "pid"), text, sizeof text) > 0 && atoi(text) > 1 &&
						       atoi(text) != mpid);
	char boot[64];
	read_text("/proc/sys/kernel/random/boot_id", boot, sizeof boot);
	EXPECT_STR("boot_id holds this boot's id", read_text(in(state, "boot_id"), text, sizeof text) > 0 ? text : "", boot);
	EXPECT_STR("stdout.log holds stdout", read_text(in(state, "stdout.log"), out, sizeof out) >= 0 ? out : "", "out\n");
	EXPECT_STR("stderr.log holds stderr", read_text(in(state, "stderr.log"), out, sizeof out) >= 0 ? out : "", "err\n");
	EXPECT_TRUE("no temporary file is left", file_size(in(state, ".status.tmp")) < 0 && file_size(in(state, ".pid.tmp")) < 0);
	EXPECT("... and the room set aside for the status became the status", file_size(in(state, ".status.reserved")), -1);

	const char *const exit4[] = {"/bin/sh", "-c", "echo again; exit 4", NULL};
	EXPECT("a second run in the same state dir starts", launch(state, &def, exit4), 0);
	EXPECT_STR("... replaces the status", finish(state), "state=exited\ncode=4\n");
	EXPECT_STR("... and appends to the logs", read_text(in(state, "stdout.log"), out, sizeof out) >= 0 ? out : "",
		   "out\nagain\n");

	const char *const kill9[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
	EXPECT_STR("a workload killed by SIGKILL is recorded", run_to_end("kill-9", &def, kill9, NULL, 0),
		   "state=killed\nsignal=9\n");
	const char *const missing[] = {"/nonexistent/cmd", "x", NULL};
	EXPECT_STR("a missing command fails with a message", run_to_end("missing", &def, missing, NULL, 0),
		   "state=failed\nmessage=command not found: /nonexistent/cmd\n");
	EXPECT("... and no pid file", file_size(in(state_dir(state, sizeof state, "missing"), "pid")), -1);
	const struct launch bad_cwd = {.cwd = "/nonexistent/cwd"};
	const char *const sh[] = {"/bin/true", NULL};
	EXPECT_STR("a missing cwd fails with a message", run_to_end("bad-cwd", &bad_cwd, sh, NULL, 0),
		   "state=failed\nmessage=cwd does not exist: /nonexistent/cwd\n");
	const struct launch root_only = {.cwd = "/root"};
	EXPECT_STR("a cwd the tenant may not enter fails", run_to_end("root-cwd", &root_only, sh, NULL, 0),
		   "state=failed\nmessage=Permission denied: /root\n");
	const struct launch bad_cgroup = {.cgroup = "/nonexistent/cgroup"};
	EXPECT_STR("a missing cgroup fails with a message", run_to_end("bad-cgroup", &bad_cgroup, sh, NULL, 0),
		   "state=failed\nmessage=cannot open /nonexistent/cgroup: No such file or directory\n");

	EXPECT("the launcher exits 1 when the state dir is missing",
	       launch("/nonexistent/state", &def, sh), 1);
	EXPECT_STR("... and says so on stderr", read_text(in(run, "launcher.err"), out, sizeof out) >= 0 ? out : "",
		   "governor-monitor: cannot open /nonexistent/state: No such file or directory\n");
	const struct launch bad_max = {.max = "0"};
	EXPECT("the launcher exits 2 for --log-max-bytes 0", launch(state, &bad_max, sh), 2);
	const char *const relative[] = {"true", NULL};
	EXPECT("the launcher exits 2 for a relative command", launch(state, &def, relative), 2);

	char env_file[320];
	snprintf(env_file, sizeof env_file, "%s/env-file", run);
	int fd = open(env_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static const char env[] = "GV_A=1\0GV_B=two words\nand a line\0\0PATH=/bin";
	EXPECT("fixture: the env file", fd >= 0 && write(fd, env, sizeof env - 1) == (ssize_t)sizeof env - 1 ? close(fd) : -1, 0);
	const struct launch with_env = {.env_file = env_file};
	const char *const printenv[] = {"/usr/bin/env", NULL};
	run_to_end("env", &with_env, printenv, out, sizeof out);
	EXPECT_STR("the workload gets exactly the env file, not the monitor's environment", out,
		   "GV_A=1\nGV_B=two words\nand a line\nPATH=/bin\n");
	EXPECT("... and the env file, which may hold secrets, is removed once read", file_size(env_file), -1);
	run_to_end("no-env", &def, printenv, out, sizeof out);
	EXPECT_STR("... and an empty environment without one", out, "");
	const char *const fds[] = {"/bin/ls", "/proc/self/fd", NULL};
	run_to_end("fds", &def, fds, out, sizeof out);
	EXPECT_STR("the workload inherits only 0, 1 and 2 (3 is ls's own)", out, "0\n1\n2\n3\n");
}

static void test_rotation(void)
{
	char state[320];
	const struct launch small = {.max = "1048576", .files = "2"};
	const char *const flood[] = {"/bin/sh", "-c", "head -c 5000000 /dev/zero; head -c 2500000 /dev/zero >&2", NULL};
	state_dir(state, sizeof state, "rotation");
	EXPECT("the launcher of a 5 MB writer exits 0", launch(state, &small, flood), 0);
	EXPECT_STR("... which exits 0", finish(state), "state=exited\ncode=0\n");
	long total = 0;
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "stderr.log" : "stdout.log";
		char rotated[64];
		long last = i ? 2500000 - 2 * MIB : 5000000 - 4 * MIB;
		EXPECT(i ? "stderr.log holds what came after the last rotation" : "stdout.log holds what came after the last rotation",
		       file_size(in(state, name)), last);
		for (int k = 1; k <= 3; k++) {
			snprintf(rotated, sizeof rotated, "%s.%d", name, k);
			long size = file_size(in(state, rotated));
			total += size > 0 ? size : 0;
			EXPECT(k == 3 ? "... no third rotated file is kept" : "... each rotated file holds 1 MiB", size, k == 3 ? -1 : MIB);
		}
		total += last;
	}
	EXPECT_TRUE("the logs hold at most 3 MiB per stream", total <= 6 * MIB && total > 4 * MIB);
}

static void test_lifecycle(void)
{
	char state[320], text[4096], path[700];
	const struct launch def = {0};
	const char *const cgroup[] = {"/bin/cat", "/proc/self/cgroup", NULL};
	char want[128];
	snprintf(want, sizeof want, "0::/%s/workload\n", cg_name);
	run_to_end("cgroup", &def, cgroup, text, sizeof text);
	EXPECT_TRUE("the workload's first instructions run in the workload cgroup", strstr(text, want) != NULL);

	const char *const sleeper[] = {"/bin/sleep", "30", NULL};
	state_dir(state, sizeof state, "sigterm");
	EXPECT("the launcher of sleep 30 exits 0", launch(state, &def, sleeper), 0);
	int mpid = monitor_pid(state);
	int pid = read_text(in(state, "pid"), text, sizeof text) > 0 ? atoi(text) : -1;
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d", pid);
	EXPECT_TRUE("the host sees the workload as uid 1879048192, gid 1879048192",
		    pid > 0 && stat(path, &st) == 0 && st.st_uid == UID_BASE && st.st_gid == UID_BASE);
	snprintf(path, sizeof path, "/proc/%d/cgroup", mpid);
	snprintf(want, sizeof want, "0::/%s/monitor\n", cg_name);
	EXPECT_TRUE("the monitor lives in the monitor cgroup", read_text(path, text, sizeof text) > 0 && strstr(text, want));
	int lock = open(in(state, "monitor.pid"), O_RDONLY | O_CLOEXEC);
	EXPECT("monitor.pid is locked while the monitor lives", flock(lock, LOCK_SH | LOCK_NB) < 0 ? errno : 0, EWOULDBLOCK);
	EXPECT("a second monitor on the same state dir is refused", launch(state, &def, sleeper), 1);
	read_text(in(run, "launcher.err"), text, sizeof text);
	EXPECT_TRUE("... because another monitor holds monitor.pid", strstr(text, "another monitor holds it") != NULL);
	EXPECT("gv_lock_held sees the monitor hold monitor.pid", gv_lock_held(in(state, "monitor.pid")), 1);
	EXPECT("SIGTERM to the monitor through gv_signal_lock_holder", gv_signal_lock_holder(in(state, "monitor.pid"), SIGTERM), 0);
	EXPECT_STR("... reaches the workload", finish(state), "state=killed\nsignal=15\n");
	EXPECT("monitor.pid is unlocked once it has gone", flock(lock, LOCK_SH | LOCK_NB), 0);
	flock(lock, LOCK_UN);
	EXPECT("gv_lock_held then says nobody holds it", gv_lock_held(in(state, "monitor.pid")), 0);
	snprintf(text, sizeof text, "%d\n", getpid()); /* a live process, as a recycled pid would be */
	int pidfile = open(in(state, "monitor.pid"), O_WRONLY | O_TRUNC | O_CLOEXEC);
	EXPECT("fixture: monitor.pid names a live process that holds no lock",
	       pidfile >= 0 && write(pidfile, text, strlen(text)) == (ssize_t)strlen(text) ? close(pidfile) : -1, 0);
	EXPECT("gv_signal_lock_holder signals no pid that does not hold the lock", gv_signal_lock_holder(in(state, "monitor.pid"), SIGTERM), -ESRCH);
	EXPECT("gv_lock_held of a missing file is -ENOENT", gv_lock_held(in(state, "no-such-lock")), -ENOENT);
	close(lock);

	/* The launching "governor" leads a process group, which is killed whole while the workload runs. */
	const char *const short_sleep[] = {"/bin/sleep", "1", NULL};
	state_dir(state, sizeof state, "orphan");
	pid_t governor = fork();
	if (governor > 0)
		setpgid(governor, governor);
	if (governor == 0) {
		setpgid(0, 0);
		_exit(launch(state, &def, short_sleep) == 0 ? (pause(), 0) : 1);
	}
	EXPECT_TRUE("the workload starts", wait_for(in(state, "pid"), 5000));
	mpid = monitor_pid(state);
	int wstatus;
	EXPECT("SIGKILL to the launching process group", kill(-governor, SIGKILL) == 0 && waitpid(governor, &wstatus, 0) == governor, 1);
	EXPECT_TRUE("... killed the launching process", WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
	EXPECT("the monitor survives it", kill(mpid, 0), 0);
	EXPECT_STR("... and records the workload's end", finish(state), "state=exited\ncode=0\n");

	state_dir(state, sizeof state, "cgroup-kill");
	EXPECT("the launcher of another sleep 30 exits 0", launch(state, &def, sleeper), 0);
	snprintf(path, sizeof path, "%s/cgroup.kill", cg_work);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	EXPECT("cgroup.kill of the workload cgroup", fd >= 0 && write(fd, "1", 1) == 1 ? close(fd) : -1, 0);
	EXPECT_STR("... kills the workload but not the monitor, which records it", finish(state), "state=killed\nsignal=9\n");
	/* Linux 6.18 kills whatever is cloned into a cgroup after a cgroup.kill there (see spawn in monitor.c). */
	const char *status = run_to_end("after-kill", &def, short_sleep, NULL, 0);
	snprintf(text, sizeof text, "state=failed\nmessage=killed as it was cloned into %s (after a cgroup.kill: use a fresh cgroup)\n", cg_work);
	EXPECT_TRUE("a workload cloned into a cgroup after its cgroup.kill runs, or fails with the kernel's reason",
		    strcmp(status, "state=exited\ncode=0\n") == 0 || strcmp(status, text) == 0);
	printf("     (this kernel: %s)\n", strncmp(status, "state=exited", 12) == 0 ? "it runs" : "it is killed at birth");
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	return ret;
}

static int remove_cgroup(const char *path)
{
	char kill_file[700];
	snprintf(kill_file, sizeof kill_file, "%s/cgroup.kill", path);
	write_file(kill_file, "1");
	int ret;
	for (int i = 0; (ret = rmdir(path)) < 0 && errno == EBUSY && i < 500; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0) /* killed monitors are this subreaper's children */
			;
		sleep_ms(10);
	}
	return ret < 0 ? -errno : 0;
}

/* NUL-terminated arguments, end to end, as gv_monitor_start takes the monitor's options; their length. */
static size_t pack(char *buf, size_t cap, const char *const *args)
{
	size_t len = 0;
	for (int i = 0; args[i]; i++) {
		size_t n = strlen(args[i]) + 1;
		if (len + n > cap)
			break;
		memcpy(buf + len, args[i], n);
		len += n;
	}
	return len;
}

/* gv_monitor_start of the library with `command` in a new state dir `name`; its return, with its message. */
static int start_from_library(const char *name, const char *const *command, const char *env, size_t env_len,
			      char *msg, size_t cap, char *state, size_t state_cap, int spare_pid, int spare_sock)
{
	state_dir(state, state_cap, name);
	/* A fresh workload cgroup: the lifecycle tests have been through cgroup.kill on cg_work (see gv_spawn). */
	char cgroup[700];
	snprintf(cgroup, sizeof cgroup, "%s/%s", cg_root, name);
	if (mkdir(cgroup, 0755) < 0 && errno != EEXIST)
		perror(cgroup);
	const char *args[64] = {"--state-dir", state, "--cgroup", cgroup, "--monitor-cgroup", cg_mon, "--netns", netns,
				"--userns", userns, "--cwd", "/", "--log-max-bytes", "1048576", "--log-files", "2", "--"};
	int n = 17;
	for (int i = 0; command[i] && n < 63; i++)
		args[n++] = command[i];
	args[n] = NULL;
	char options[4096];
	size_t len = pack(options, sizeof options, args), msg_len = 0;
	int ret = gv_monitor_start(monitor_path, name, (const uint8_t *)options, len, (const uint8_t *)env, env_len, spare_pid,
				   spare_sock, 10000, (uint8_t *)msg, cap, &msg_len);
	msg[msg_len] = '\0';
	return ret;
}

/* gv_monitor_start: the launch from the governor's own process (a vfork and exec, the options and env in memfds). */
static void test_monitor_start(void)
{
	char state[320], msg[4096], out[8192], path[64];
	/* A descriptor this process leaks without close-on-exec must reach neither the monitor nor the workload. */
	int leak = dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), 51);
	static const char env[] = "GV_A=1\0GV_B=two words\0";
	const char *const show[] = {"/bin/sh", "-c", "env -u PWD; ls /proc/self/fd", NULL}; /* sh sets PWD */
	EXPECT("gv_monitor_start of env and ls returns 0", start_from_library("lib-env", show, env, sizeof env - 1, msg, sizeof msg, state, sizeof state, -1, -1), 0);
	EXPECT_STR("... and the workload exits 0", finish(state), "state=exited\ncode=0\n");
	read_text(in(state, "stdout.log"), out, sizeof out);
	EXPECT_STR("... with exactly the env given, and only fds 0, 1, 2 (3 is ls's own)", out,
		   "GV_A=1\nGV_B=two words\n0\n1\n2\n3\n");
	EXPECT("... and no env file in the state dir", file_size(in(state, "env")), -1);
	EXPECT("... and the room set aside for the status became the status", file_size(in(state, ".status.reserved")), -1);

	int spare_pid = -1, spare_sock = -1;
	EXPECT("gv_monitor_spare spawns a spare", gv_monitor_spare(monitor_path, &spare_pid, &spare_sock), 0);
	EXPECT("... which gv_monitor_start of env and ls uses, and returns 0",
	       start_from_library("lib-spare", show, env, sizeof env - 1, msg, sizeof msg, state, sizeof state, spare_pid, spare_sock), 0);
	EXPECT_STR("... and the workload exits 0", finish(state), "state=exited\ncode=0\n");
	read_text(in(state, "stdout.log"), out, sizeof out);
	EXPECT_STR("... with exactly the env given, and only fds 0, 1, 2", out, "GV_A=1\nGV_B=two words\n0\n1\n2\n3\n");
	EXPECT("... and the spare was reaped by it", waitpid(spare_pid, NULL, WNOHANG) < 0 && errno == ECHILD, 1);
	close(leak);

	EXPECT("a spare that is gone", gv_monitor_spare(monitor_path, &spare_pid, &spare_sock) | kill(spare_pid, SIGKILL), 0);
	sleep_ms(50);
	EXPECT("... is replaced by a program spawned for the launch",
	       start_from_library("lib-dead-spare", show, NULL, 0, msg, sizeof msg, state, sizeof state, spare_pid, spare_sock), 0);
	EXPECT_STR("... and the workload exits 0", finish(state), "state=exited\ncode=0\n");

	EXPECT("a spare whose socket is closed", gv_monitor_spare(monitor_path, &spare_pid, &spare_sock) | close(spare_sock), 0);
	int spare_status = -1;
	EXPECT("... exits 1", waitpid(spare_pid, &spare_status, 0) == spare_pid && WIFEXITED(spare_status) ? WEXITSTATUS(spare_status) : -1, 1);

	const char *const sleeper[] = {"/bin/sleep", "30", NULL};
	char want[PATH_MAX + 32];
	for (int spare = 0; spare < 2; spare++) {
		if (spare)
			gv_monitor_spare(monitor_path, &spare_pid, &spare_sock);
		const char *name = spare ? "lib-sleep-spare" : "lib-sleep";
		EXPECT(spare ? "gv_monitor_start of sleep 30 through a spare returns 0" : "gv_monitor_start of sleep 30 returns 0 (no env)",
		       start_from_library(name, sleeper, NULL, 0, msg, sizeof msg, state, sizeof state, spare ? spare_pid : -1, spare ? spare_sock : -1), 0);
		int mpid = monitor_pid(state);
		snprintf(path, sizeof path, "/proc/%d/cmdline", mpid);
		long len = read_text(path, out, sizeof out);
		/* A spare's command line keeps its length: the id, then NULs. */
		int want_len = snprintf(want, sizeof want, "%s%c%s", monitor_path, '\0', name);
		int rest_nul = 1;
		for (long i = want_len; i < len; i++)
			rest_nul &= out[i] == '\0';
		EXPECT_TRUE("... the monitor's command line is the program and the workload id",
			    len > want_len && memcmp(out, want, (size_t)want_len + 1) == 0 && rest_nul);
		if (spare) {
			snprintf(path, sizeof path, "/proc/%d/cgroup", mpid);
			read_text(path, out, sizeof out);
			snprintf(want, sizeof want, "0::/%s/monitor\n", cg_name);
			EXPECT_TRUE("... and was cloned into the monitor cgroup", strstr(out, want) != NULL);
			EXPECT("SIGTERM to it", kill(mpid, SIGTERM), 0);
			EXPECT_STR("... ends the workload with SIGTERM", finish(state), "state=killed\nsignal=15\n");
		}
	}
	int mpid = monitor_pid(state_dir(state, sizeof state, "lib-sleep"));
	snprintf(path, sizeof path, "/proc/%d/stat", mpid);
	read_text(path, out, sizeof out);
	const char *close_paren = strrchr(out, ')');
	int ppid = 0, pgrp = 0, session = 0;
	if (close_paren)
		sscanf(close_paren + 2, "%*c %d %d %d", &ppid, &pgrp, &session);
	EXPECT("... it was reparented to this subreaper (its launcher has exited)", ppid, getpid());
	EXPECT_TRUE("... and runs in a session of its own, not this process's", session != getsid(0) && session > 1);
	snprintf(path, sizeof path, "/proc/%d/cgroup", mpid);
	read_text(path, out, sizeof out);
	snprintf(want, sizeof want, "0::/%s/monitor\n", cg_name);
	EXPECT_TRUE("... and was cloned into the monitor cgroup", strstr(out, want) != NULL);
	EXPECT("SIGTERM to it", kill(mpid, SIGTERM), 0);
	EXPECT_STR("... ends the workload with SIGTERM", finish(state), "state=killed\nsignal=15\n");

	char missing_state[] = "/nonexistent/state";
	const char *args[] = {"--state-dir", missing_state, "--cgroup", cg_work, "--monitor-cgroup", cg_mon, "--netns", netns,
			      "--userns", userns, "--cwd", "/", "--log-max-bytes", "1048576", "--log-files", "2", "--", "/bin/true", NULL};
	char options[4096];
	size_t options_len = pack(options, sizeof options, args), msg_len = 0;
	EXPECT("gv_monitor_start for a missing state dir returns -EIO",
	       gv_monitor_start(monitor_path, "lib-missing", (const uint8_t *)options, options_len, NULL, 0, -1, -1, 10000, (uint8_t *)msg, sizeof msg, &msg_len), -EIO);
	msg[msg_len] = '\0';
	EXPECT_STR("... with the monitor's reason", msg, "cannot open /nonexistent/state: No such file or directory");
	EXPECT("gv_monitor_start of a missing program returns -ENOENT",
	       gv_monitor_start("/nonexistent/governor-monitor", "x", (const uint8_t *)options, options_len, NULL, 0, -1, -1, 10000, (uint8_t *)msg, sizeof msg, &msg_len), -ENOENT);
	const char *const bad[] = {"--state-dir", missing_state, "--", "relative", NULL};
	options_len = pack(options, sizeof options, bad);
	EXPECT("gv_monitor_start with bad options returns -EIO",
	       gv_monitor_start(monitor_path, "x", (const uint8_t *)options, options_len, NULL, 0, -1, -1, 10000, (uint8_t *)msg, sizeof msg, &msg_len), -EIO);
	msg[msg_len] = '\0';
	EXPECT_STR("... saying the program exited 2 (usage)", msg, "the monitor died while starting (its launcher exited with 2)");
}

void test_monitor(const char *run_dir, const char *tree)
{
	ssize_t n = readlink("/proc/self/exe", monitor_path, sizeof monitor_path - 32);
	char *slash = n > 0 ? memrchr(monitor_path, '/', (size_t)n) : NULL;
	if (!slash) {
		tally(0, "find build/ from /proc/self/exe");
		return;
	}
	strcpy(slash + 1, "governor-monitor");
	snprintf(run, sizeof run, "%s", run_dir);
	snprintf(ns_dir, sizeof ns_dir, "%s/tenant", run_dir);
	snprintf(netns, sizeof netns, "%s/net", ns_dir);
	snprintf(userns, sizeof userns, "%s/user", ns_dir);
	unsigned int random;
	if (getrandom(&random, sizeof random, 0) != sizeof random)
		random = (unsigned int)getpid();
	snprintf(cg_name, sizeof cg_name, "governor-native-test-%08x", random);
	snprintf(cg_root, sizeof cg_root, "%s/%s", tree, cg_name);
	snprintf(cg_work, sizeof cg_work, "%s/workload", cg_root);
	snprintf(cg_mon, sizeof cg_mon, "%s/monitor", cg_root);

	EXPECT("this test becomes a child subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	EXPECT("the tenant's namespaces", gv_ns_create(ns_dir, UID_BASE, 65536, UID_BASE, 65536), 0);
	EXPECT("the test cgroups", mkdir(cg_root, 0755) | mkdir(cg_work, 0755) | mkdir(cg_mon, 0755), 0);
	if (access(monitor_path, X_OK) < 0)
		tally(0, "build/governor-monitor exists (make all)");
	else {
		test_exits();
		test_ids_and_network();
		test_rotation();
		test_lifecycle();
		test_monitor_start();
	}
	char fresh[700];
	static const char *const fresh_names[] = {"lib-env", "lib-spare", "lib-dead-spare", "lib-sleep", "lib-sleep-spare"};
	for (int i = 0; i < 5; i++) {
		snprintf(fresh, sizeof fresh, "%s/%s", cg_root, fresh_names[i]);
		EXPECT("a cgroup of the gv_monitor_start tests is removed", remove_cgroup(fresh), 0);
	}

	EXPECT("the workload cgroup is removed", remove_cgroup(cg_work), 0);
	EXPECT("the monitor cgroup is removed", remove_cgroup(cg_mon), 0);
	EXPECT("the test cgroup is removed", rmdir(cg_root), 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	EXPECT("the tenant's namespaces are destroyed", gv_ns_destroy(ns_dir), 0);
	char cmd[320];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'/[a-z]*", run_dir); /* state dirs, env, launcher.err */
	if (system(cmd) != 0)
		fprintf(stderr, "could not empty %s\n", run_dir);
}
