/*
 * Unit test of libgovernor. Filesystem cases run in a temporary directory; spawn cases need root and a
 * cgroup v2 tree, in which the test creates governor-native-test-<pid> and removes it again
 * (GOVERNOR_TEST_CGROUP2 overrides the tree, default /sys/fs/cgroup/unified). The namespace and monitor cases
 * (test/ns_test.c, test/monitor_test.c) work below /run/governor-test-<pid>, removed at the end.
 * Last line: "N passed, N failed".
 */
#include "governor.h"
#include "test/check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

static const char *describe(long v)
{
	const char *name = v < 0 ? strerrorname_np((int)-v) : NULL;
	return name ? name : "";
}

int tally(int ok, const char *what)
{
	ok ? passed++ : failed++;
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	return ok;
}

void expect_eq(const char *what, long got, long want, int line)
{
	if (!tally(got == want, what))
		printf("     got %ld %s, want %ld %s (line %d)\n", got, describe(got), want, describe(want), line);
}

void expect_str(const char *what, const char *got, const char *want, int line)
{
	if (!tally(strcmp(got, want) == 0, what))
		printf("     got \"%s\", want \"%s\" (line %d)\n", got, want, line);
}

static char tmp[64], cg_name[64], cg_path[512];

static void put(const char *rel, const char *content)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	FILE *f = fopen(path, "w");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* A file's content through the library, or "" when it cannot be read. */
static const char *slurp(int dir, const char *rel)
{
	static unsigned char buf[8192];
	size_t len = 0;
	if (gv_read_beneath(dir, rel, buf, sizeof buf - 1, &len) < 0)
		len = 0;
	buf[len] = '\0';
	return (const char *)buf;
}

void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Polls gv_pidfd_wait for up to 5 s; returns its last result. */
static int wait_exit(int pidfd, int *code, int *sig)
{
	int ret = 0;
	for (int i = 0; i < 500 && (ret = gv_pidfd_wait(pidfd, code, sig)) == 0; i++)
		sleep_ms(10);
	return ret;
}

/* Root writes through mode 0444, so this write runs as nobody, in a child. Returns its result. */
static int write_as_nobody(int dir, const char *rel)
{
	pid_t child = fork();
	if (child == 0) {
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
			_exit(255);
		int ret = gv_write_beneath(dir, rel, (const unsigned char *)"1", 1, 0);
		_exit(-ret);
	}
	int status;
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
		return -EIO;
	return -WEXITSTATUS(status);
}

static void test_fs(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/governor-native-test-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(2);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/sub", tmp);
	mkdir(path, 0755);
	put("sub/value", "42\n");
	put("big", "0123456789");
	put("readonly", "1\n");
	snprintf(path, sizeof path, "%s/readonly", tmp);
	chmod(path, 0444);
	chmod(tmp, 0711);
	snprintf(path, sizeof path, "%s/link", tmp);
	EXPECT("fixture: symlink to a directory", symlink("sub", path), 0);
	snprintf(path, sizeof path, "%s/sub/value-link", tmp);
	EXPECT("fixture: symlink to a file", symlink("value", path), 0);

	EXPECT("open_dir of a missing path is ENOENT", gv_open_dir("/nonexistent/governor"), -ENOENT);
	snprintf(path, sizeof path, "%s/big", tmp);
	EXPECT("open_dir of a file is ENOTDIR", gv_open_dir(path), -ENOTDIR);
	int dir = gv_open_dir(tmp);
	EXPECT_TRUE("open_dir returns an fd", dir >= 0);
	EXPECT("the fd is close-on-exec", fcntl(dir, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	unsigned char buf[16];
	size_t len = 99;
	EXPECT("read of a file succeeds", gv_read_beneath(dir, "sub/value", buf, sizeof buf, &len), 0);
	EXPECT("read stores the length", len, 3);
	EXPECT("read stores the bytes", memcmp(buf, "42\n", 3), 0);
	EXPECT("read through a '..' that stays beneath succeeds",
	       gv_read_beneath(dir, "sub/../sub/value", buf, sizeof buf, &len), 0);
	EXPECT("read of exactly cap bytes succeeds", gv_read_beneath(dir, "big", buf, 10, &len), 0);
	EXPECT("read of exactly cap bytes stores the length", len, 10);
	EXPECT("read of more than cap bytes is EFBIG", gv_read_beneath(dir, "big", buf, 9, &len), -EFBIG);
	EXPECT("read of '../x' is EXDEV", gv_read_beneath(dir, "../x", buf, sizeof buf, &len), -EXDEV);
	EXPECT("read of an absolute path is EXDEV", gv_read_beneath(dir, "/etc/hostname", buf, sizeof buf, &len),
	       -EXDEV);
	EXPECT("read through a symlinked directory is ELOOP", gv_read_beneath(dir, "link/value", buf, sizeof buf, &len),
	       -ELOOP);
	EXPECT("read of a symlink is ELOOP", gv_read_beneath(dir, "sub/value-link", buf, sizeof buf, &len), -ELOOP);
	EXPECT("read of a missing file is ENOENT", gv_read_beneath(dir, "sub/missing", buf, sizeof buf, &len), -ENOENT);

	EXPECT("write to a file succeeds", gv_write_beneath(dir, "sub/value", (const unsigned char *)"99", 2, 0), 0);
	EXPECT_STR("write replaced the bytes in place (no O_TRUNC)", slurp(dir, "sub/value"), "99\n");
	EXPECT("write with nonblock succeeds", gv_write_beneath(dir, "big", (const unsigned char *)"x", 1, 1), 0);
	EXPECT("write to a missing file is ENOENT (no O_CREAT)",
	       gv_write_beneath(dir, "sub/new", (const unsigned char *)"1", 1, 0), -ENOENT);
	EXPECT("write to '../x' is EXDEV", gv_write_beneath(dir, "../x", (const unsigned char *)"1", 1, 0), -EXDEV);
	EXPECT("write through a symlink is ELOOP", gv_write_beneath(dir, "link/value", (const unsigned char *)"1", 1, 0),
	       -ELOOP);
	EXPECT("write to a read-only file is EACCES", write_as_nobody(dir, "readonly"), -EACCES);
	EXPECT("write to a directory is EISDIR", gv_write_beneath(dir, "sub", (const unsigned char *)"1", 1, 0), -EISDIR);

	EXPECT("mkdir creates a directory", gv_mkdir_beneath(dir, "sub/new", 0750), 0);
	struct stat st;
	snprintf(path, sizeof path, "%s/sub/new", tmp);
	EXPECT_TRUE("mkdir made a directory", stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	EXPECT("mkdir in the top directory succeeds", gv_mkdir_beneath(dir, "top", 0755), 0);
	EXPECT("mkdir of an existing directory is EEXIST", gv_mkdir_beneath(dir, "sub/new", 0755), -EEXIST);
	EXPECT("mkdir of '../x' is EXDEV", gv_mkdir_beneath(dir, "../governor-escape", 0755), -EXDEV);
	EXPECT("mkdir of an absolute path is EXDEV", gv_mkdir_beneath(dir, "/tmp/governor-escape", 0755), -EXDEV);
	EXPECT("mkdir of '/x' is EXDEV", gv_mkdir_beneath(dir, "/governor-escape", 0755), -EXDEV);
	EXPECT("mkdir through a symlink is ELOOP", gv_mkdir_beneath(dir, "link/x", 0755), -ELOOP);
	EXPECT("mkdir in a missing parent is ENOENT", gv_mkdir_beneath(dir, "missing/x", 0755), -ENOENT);
	EXPECT("mkdir of 'sub/.' is EINVAL", gv_mkdir_beneath(dir, "sub/.", 0755), -EINVAL);
	EXPECT("mkdir of 'sub/..' is EINVAL", gv_mkdir_beneath(dir, "sub/..", 0755), -EINVAL);
	EXPECT("mkdir of 'sub/' is EINVAL", gv_mkdir_beneath(dir, "sub/", 0755), -EINVAL);
	EXPECT("mkdir of '' is EINVAL", gv_mkdir_beneath(dir, "", 0755), -EINVAL);

	EXPECT("rmdir of a non-empty directory is ENOTEMPTY", gv_rmdir_beneath(dir, "sub"), -ENOTEMPTY);
	EXPECT("rmdir of a symlink is ENOTDIR", gv_rmdir_beneath(dir, "link"), -ENOTDIR);
	EXPECT("rmdir of '../x' is EXDEV", gv_rmdir_beneath(dir, "../x"), -EXDEV);
	EXPECT("rmdir of '..' is EINVAL", gv_rmdir_beneath(dir, ".."), -EINVAL);
	EXPECT("rmdir removes an empty directory", gv_rmdir_beneath(dir, "sub/new"), 0);
	EXPECT("rmdir of a missing directory is ENOENT", gv_rmdir_beneath(dir, "sub/new"), -ENOENT);
	EXPECT("rmdir in the top directory succeeds", gv_rmdir_beneath(dir, "top"), 0);

	EXPECT("close of an open fd succeeds", gv_close(dir), 0);
	EXPECT("close of a closed fd is EBADF", gv_close(dir), -EBADF);
}

static void test_lock(void)
{
	char path[300];
	snprintf(path, sizeof path, "%s/held.lock", tmp);
	int first = gv_lock_file(path, 0600);
	EXPECT_TRUE("lock_file creates and locks a file", first >= 0);
	struct stat st;
	EXPECT_TRUE("the lock file gets the mode asked for", stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	EXPECT("a second open file description is refused with EWOULDBLOCK", gv_lock_file(path, 0600), -EWOULDBLOCK);
	pid_t child = fork();
	if (child == 0)
		_exit(gv_lock_file(path, 0600) == -EWOULDBLOCK ? 0 : 1);
	int status = 0;
	waitpid(child, &status, 0);
	EXPECT_TRUE("another process is refused too", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT("closing the descriptor releases the lock", gv_close(first), 0);
	int again = gv_lock_file(path, 0600);
	EXPECT_TRUE("the lock can be taken again once released", again >= 0);
	gv_close(again);
	EXPECT("a missing directory is ENOENT", gv_lock_file("/nonexistent-governor/x.lock", 0600), -ENOENT);
	EXPECT("a NULL path is EINVAL", gv_lock_file(NULL, 0600), -EINVAL);
	int dir = gv_lock_dir(tmp);
	EXPECT_TRUE("lock_dir locks a directory", dir >= 0);
	EXPECT("a second lock of the directory is refused", gv_lock_dir(tmp), -EWOULDBLOCK);
	gv_close(dir);
	EXPECT("lock_dir of a file is ENOTDIR", gv_lock_dir(path), -ENOTDIR);
}

static void test_pidfd(void)
{
	int self = gv_pidfd_open(getpid());
	EXPECT_TRUE("pidfd_open of this process returns an fd", self >= 0);
	EXPECT("the pidfd is close-on-exec", fcntl(self, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	EXPECT("pidfd_send_signal 0 to a live process succeeds", gv_pidfd_send_signal(self, 0), 0);
	int code, sig;
	EXPECT("pidfd_wait of a process that is not a child is ECHILD", gv_pidfd_wait(self, &code, &sig), -ECHILD);
	gv_close(self);
	EXPECT("pidfd_open of pid -1 is EINVAL", gv_pidfd_open(-1), -EINVAL);
	EXPECT("pidfd_send_signal on a closed fd is EBADF", gv_pidfd_send_signal(self, 0), -EBADF);
}

static int spawn(const char *command, const char *const *argv, const char *cwd, const char *cgroup, int *pid,
		 int *pidfd, int *step)
{
	static const char *const envp[] = {"GV_TEST=from-envp", NULL};
	char out[256], err[256];
	snprintf(out, sizeof out, "%s/out.log", tmp);
	snprintf(err, sizeof err, "%s/err.log", tmp);
	return gv_spawn(command, argv, envp, cwd, cgroup, out, err, pid, pidfd, step);
}

static void test_spawn_errors(void)
{
	int pid, pidfd, step;
	const char *const argv[] = {"x", NULL};
	char path[256];
	EXPECT("spawn of a missing command is ENOENT", spawn("/nonexistent/cmd", argv, "/", cg_path, &pid, &pidfd, &step),
	       -ENOENT);
	EXPECT("... at the execve step", step, GV_STEP_EXEC);
	EXPECT("... and returns no pidfd", pidfd, -1);
	snprintf(path, sizeof path, "%s/big", tmp);
	EXPECT("spawn of a non-executable file is EACCES", spawn(path, argv, "/", cg_path, &pid, &pidfd, &step), -EACCES);
	EXPECT("... at the execve step", step, GV_STEP_EXEC);
	EXPECT("spawn with a missing cwd is ENOENT", spawn("/bin/true", argv, "/nonexistent/cwd", cg_path, &pid, &pidfd, &step),
	       -ENOENT);
	EXPECT("... at the chdir step", step, GV_STEP_CWD);
	EXPECT("spawn with a file as cwd is ENOTDIR", spawn("/bin/true", argv, path, cg_path, &pid, &pidfd, &step), -ENOTDIR);
	EXPECT("... at the chdir step", step, GV_STEP_CWD);
	EXPECT("spawn into a missing cgroup is ENOENT",
	       spawn("/bin/true", argv, "/", "/nonexistent/cgroup", &pid, &pidfd, &step), -ENOENT);
	EXPECT("... at the cgroup step", step, GV_STEP_CGROUP);
	const char *const envp[] = {NULL};
	EXPECT("spawn with stdout in a missing directory is ENOENT",
	       gv_spawn("/bin/true", argv, envp, "/", cg_path, "/nonexistent/out", "/dev/null", &pid, &pidfd, &step),
	       -ENOENT);
	EXPECT("... at the stdout step", step, GV_STEP_STDOUT);
}

static void test_spawn_runs(int root)
{
	int pid, pidfd, step, code, sig;
	/* Like Node: SIGPIPE ignored and a signal blocked; the child must start with neither. */
	signal(SIGPIPE, SIG_IGN);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	const char *const sh[] = {"sh", "-c",
				  "echo \"$GV_TEST $(pwd)\"; grep -E '^Sig(Blk|Ign)' /proc/self/status; echo oops >&2; exit 3",
				  NULL};
	EXPECT("spawn of a shell succeeds", spawn("/bin/sh", sh, tmp, cg_path, &pid, &pidfd, &step), 0);
	EXPECT_TRUE("... with a pid and a pidfd", pid > 0 && pidfd >= 0);
	EXPECT("... that exits", wait_exit(pidfd, &code, &sig), 1);
	EXPECT("... with its exit code", code, 3);
	EXPECT("... and no signal", sig, -1);
	gv_close(pidfd);
	char want[256];
	/* Under GNU make, this test itself runs with signals 32 and 33 ignored: the child must not be. */
	snprintf(want, sizeof want, "from-envp %s\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", tmp);
	int tdir = gv_open_dir(tmp);
	EXPECT_STR("stdout has the environment, the cwd and a clean signal state", slurp(tdir, "out.log"), want);
	EXPECT_STR("stderr is captured in its file", slurp(tdir, "err.log"), "oops\n");
	gv_close(tdir);

	snprintf(want, sizeof want, "%s/out.log", tmp);
	unlink(want);
	int leaked = dup2(1, 40); /* not close-on-exec, like an fd Node inherited */
	const char *const ls[] = {"ls", "/proc/self/fd", NULL};
	EXPECT("spawn of ls succeeds", spawn("/bin/ls", ls, "/", cg_path, &pid, &pidfd, &step), 0);
	EXPECT("... that exits 0", wait_exit(pidfd, &code, &sig) == 1 ? code : -1, 0);
	gv_close(pidfd);
	close(leaked);
	tdir = gv_open_dir(tmp);
	EXPECT_STR("the child inherits only 0, 1 and 2 (3 is ls's own)", slurp(tdir, "out.log"), "0\n1\n2\n3\n");
	gv_close(tdir);

	const char *const sleeper[] = {"sleep", "5", NULL};
	EXPECT("spawn of sleep succeeds", spawn("/bin/sleep", sleeper, "/", cg_path, &pid, &pidfd, &step), 0);
	char rel[128], procs[32], proc[64];
	snprintf(rel, sizeof rel, "%s/cgroup.procs", cg_name);
	snprintf(procs, sizeof procs, "%d\n", pid);
	EXPECT_STR("the child is in the cgroup's cgroup.procs", slurp(root, rel), procs);
	int procdir = gv_open_dir("/proc");
	snprintf(proc, sizeof proc, "%d/cgroup", pid);
	EXPECT_TRUE("/proc/<pid>/cgroup names the cgroup", strstr(slurp(procdir, proc), cg_name) != NULL);
	snprintf(proc, sizeof proc, "%d/stat", pid);
	const char *stat = strrchr(slurp(procdir, proc), ')');
	int ppid = 0, pgrp = 0, sid = 0;
	if (stat)
		sscanf(stat, ") %*c %d %d %d", &ppid, &pgrp, &sid);
	EXPECT_TRUE("the child leads its own session", ppid == getpid() && pgrp == pid && sid == pid);
	gv_close(procdir);
	EXPECT("pidfd_wait of a running child is 0", gv_pidfd_wait(pidfd, &code, &sig), 0);
	EXPECT("pidfd_send_signal SIGKILL succeeds", gv_pidfd_send_signal(pidfd, SIGKILL), 0);
	EXPECT("the killed child is reaped", wait_exit(pidfd, &code, &sig), 1);
	EXPECT("... with SIGKILL", sig, SIGKILL);
	EXPECT("pidfd_send_signal after reaping is ESRCH", gv_pidfd_send_signal(pidfd, 0), -ESRCH);
	EXPECT("pidfd_wait after reaping is ECHILD", gv_pidfd_wait(pidfd, &code, &sig), -ECHILD);
	gv_close(pidfd);
}

static void test_cgroup(const char *tree)
{
	snprintf(cg_name, sizeof cg_name, "governor-native-test-%d", getpid());
	snprintf(cg_path, sizeof cg_path, "%s/%s", tree, cg_name);
	int root = gv_open_dir(tree);
	EXPECT_TRUE("the cgroup v2 tree opens", root >= 0);
	if (root < 0)
		return;
	EXPECT("mkdir of the test cgroup succeeds", gv_mkdir_beneath(root, cg_name, 0755), 0);
	char rel[128];
	snprintf(rel, sizeof rel, "%s/cgroup.controllers", cg_name);
	/* kernfs lets root open it for writing (6.x); write(2) then refuses with EINVAL. */
	int ro = gv_write_beneath(root, rel, (const unsigned char *)"+cpu", 4, 0);
	EXPECT_TRUE("write to a read-only cgroup file fails (EINVAL or EACCES)", ro == -EINVAL || ro == -EACCES);
	snprintf(rel, sizeof rel, "%s/cgroup.max.descendants", cg_name);
	EXPECT("write to a cgroup file succeeds", gv_write_beneath(root, rel, (const unsigned char *)"1", 1, 1), 0);
	EXPECT_STR("the cgroup file reads back", slurp(root, rel), "1\n");

	test_spawn_errors();
	test_spawn_runs(root);

	int ret;
	/* The cgroup counts as populated until the last task has been released, shortly after reaping. */
	for (int i = 0; (ret = gv_rmdir_beneath(root, cg_name)) == -EBUSY && i < 100; i++)
		sleep_ms(10);
	EXPECT("rmdir of the test cgroup succeeds", ret, 0);
	gv_close(root);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *tree = getenv("GOVERNOR_TEST_CGROUP2");
	tree = tree ? tree : "/sys/fs/cgroup/unified";
	test_fs();
	test_batch();
	test_netlink();
	test_nft();
	test_lock();
	test_pidfd();
	test_cgroup(tree);
	char run_dir[64];
	snprintf(run_dir, sizeof run_dir, "/run/governor-test-%d", getpid());
	if (mkdir(run_dir, 0700) < 0) {
		perror(run_dir);
		return 2;
	}
	test_ns(run_dir);
	test_netlink_write(run_dir);
	test_monitor(run_dir, tree);
	char cmd[192];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	/* Not rm -rf: a namespace mount left below it by a failed case must show, not be crossed. */
	if (rmdir(run_dir) < 0)
		fprintf(stderr, "could not remove %s: %s\n", run_dir, strerror(errno));
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
