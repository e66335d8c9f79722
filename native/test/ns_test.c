/*
 * gv_ns_create, gv_ns_check, gv_ns_destroy and gv_make_shared_mount, below <run_dir>/ns (made a shared mount
 * first, as /run/governor/ns will be). Every mount is removed again and checked gone in /proc/self/mountinfo.
 */
#include "governor.h"
#include "test/check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define UID_BASE 1879048192u
#define ID_COUNT 65536u

/* Mount points at `path` or below it in /proc/self/mountinfo; *shared counts those with a shared:N tag. */
static int mounts_at(const char *path, int *shared)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	char line[4096], point[4096], rest[4096];
	size_t len = strlen(path);
	int count = 0;
	if (shared)
		*shared = 0;
	while (fgets(line, sizeof line, f)) {
		/* id parent major:minor root mountpoint options [optional fields...] - type source super */
		if (sscanf(line, "%*s %*s %*s %*s %4095s %*s %4095[^\n]", point, rest) != 2)
			continue;
		if (strncmp(point, path, len) != 0 || (point[len] != '\0' && point[len] != '/'))
			continue;
		count++;
		char *dash = strncmp(rest, "- ", 2) == 0 ? rest : strstr(rest, " - ");
		char *tag = strstr(rest, "shared:");
		if (shared && dash && tag && tag < dash)
			++*shared;
	}
	fclose(f);
	return count;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int touch(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : close(fd);
}

static void test_owners(const char *dir)
{
	char path[512];
	struct stat init_user, st;
	/* /proc/1/ns/user, or, where pid 1 is out of reach (a sandbox), this test's own: the initial one too when
	 * it has no parent (NS_GET_PARENT: EPERM). */
	int self = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	int self_is_init = self >= 0 && ioctl(self, NS_GET_PARENT) < 0 && errno == EPERM;
	EXPECT_TRUE("the initial user namespace is at hand (/proc/1/ns/user, or this test's own)",
		    stat("/proc/1/ns/user", &init_user) == 0 || (self_is_init && fstat(self, &init_user) == 0));
	if (self >= 0)
		close(self);

	snprintf(path, sizeof path, "%s/net", dir);
	int net = open(path, O_RDONLY | O_CLOEXEC);
	EXPECT_TRUE("the net namespace file opens", net >= 0);
	EXPECT("... as a network namespace (NS_GET_NSTYPE)", ioctl(net, NS_GET_NSTYPE), CLONE_NEWNET);
	int owner = ioctl(net, NS_GET_USERNS);
	EXPECT_TRUE("NS_GET_USERNS on the net namespace returns its owner", owner >= 0);
	EXPECT_TRUE("... which is the initial user namespace (same inode)",
		    owner >= 0 && fstat(owner, &st) == 0 && st.st_ino == init_user.st_ino && st.st_dev == init_user.st_dev);
	EXPECT("... which has no parent (NS_GET_PARENT is EPERM)", owner >= 0 && ioctl(owner, NS_GET_PARENT) < 0 ? errno : 0, EPERM);
	if (owner >= 0)
		close(owner);
	struct stat self_net;
	EXPECT_TRUE("the net namespace is not this process's", stat("/proc/self/ns/net", &self_net) == 0 &&
								   fstat(net, &st) == 0 && st.st_ino != self_net.st_ino);
	if (net >= 0)
		close(net);

	snprintf(path, sizeof path, "%s/user", dir);
	int user = open(path, O_RDONLY | O_CLOEXEC);
	EXPECT_TRUE("the user namespace file opens", user >= 0);
	EXPECT("... as a user namespace (NS_GET_NSTYPE)", ioctl(user, NS_GET_NSTYPE), CLONE_NEWUSER);
	EXPECT_TRUE("... which is not the initial one", fstat(user, &st) == 0 && st.st_ino != init_user.st_ino);
	int parent = ioctl(user, NS_GET_PARENT);
	EXPECT_TRUE("... and whose parent is the initial one (NS_GET_PARENT)",
		    parent >= 0 && fstat(parent, &st) == 0 && st.st_ino == init_user.st_ino);
	if (parent >= 0)
		close(parent);
	uid_t creator = 12345;
	EXPECT("... created by host root (NS_GET_OWNER_UID)", ioctl(user, NS_GET_OWNER_UID, &creator) == 0 ? (long)creator : -1, 0);
	if (user >= 0)
		close(user);
}

void test_ns(const char *run_dir)
{
	char root[256], t1[320], t2[320], t3[320], path[512];
	snprintf(root, sizeof root, "%s/ns", run_dir);
	snprintf(t1, sizeof t1, "%s/tenant-1", root);
	snprintf(t2, sizeof t2, "%s/tenant-2", root);
	snprintf(t3, sizeof t3, "%s/tenant-3", root);
	EXPECT("mkdir of the ns root", mkdir(root, 0755), 0);

	EXPECT("make_shared_mount of a missing directory is ENOENT", gv_make_shared_mount(t1), -ENOENT);
	EXPECT("fixture: a file", touch(root, "file"), 0);
	snprintf(path, sizeof path, "%s/file", root);
	EXPECT("make_shared_mount of a file is ENOTDIR", gv_make_shared_mount(path), -ENOTDIR);
	unlink(path);
	int shared;
	EXPECT("the ns root is no mount point yet", mounts_at(root, &shared), 0);
	EXPECT("make_shared_mount bind-mounts the directory onto itself", gv_make_shared_mount(root), 0);
	EXPECT("... so that it is one mount point", mounts_at(root, &shared), 1);
	EXPECT("... with shared propagation", shared, 1);
	EXPECT("make_shared_mount again succeeds", gv_make_shared_mount(root), 0);
	EXPECT("... without stacking a second mount", mounts_at(root, &shared), 1);

	EXPECT("ns_create with a uid count of 0 is EINVAL", gv_ns_create(t1, UID_BASE, 0, UID_BASE, ID_COUNT), -EINVAL);
	EXPECT("ns_create with a gid range past 2^32 - 1 is EINVAL",
	       gv_ns_create(t1, UID_BASE, ID_COUNT, 4294967295u, 2), -EINVAL);
	EXPECT("ns_create of NULL is EINVAL", gv_ns_create(NULL, UID_BASE, ID_COUNT, UID_BASE, ID_COUNT), -EINVAL);
	EXPECT_TRUE("... which created nothing", !exists(t1));

	EXPECT("ns_create succeeds", gv_ns_create(t1, UID_BASE, ID_COUNT, UID_BASE, ID_COUNT), 0);
	EXPECT("... and leaves no child behind", waitpid(-1, NULL, WNOHANG) == -1 ? errno : 0, ECHILD);
	EXPECT("... with two namespace mounts below the directory", mounts_at(t1, NULL), 2);
	EXPECT("... which propagate as the ns root does", mounts_at(t1, &shared) == 2 ? shared : -1, 2);
	EXPECT("ns_check of the new namespaces is 0", gv_ns_check(t1), 0);
	test_owners(t1);
	EXPECT("ns_create again is EEXIST", gv_ns_create(t1, UID_BASE, ID_COUNT, UID_BASE, ID_COUNT), -EEXIST);
	EXPECT("... and stacks nothing", mounts_at(t1, NULL), 2);

	snprintf(path, sizeof path, "%s/net", t1);
	EXPECT("fixture: lose the net bind mount", umount2(path, MNT_DETACH), 0);
	EXPECT("ns_check of a lost bind mount is EINVAL", gv_ns_check(t1), -EINVAL);
	EXPECT("ns_destroy succeeds", gv_ns_destroy(t1), 0);
	EXPECT("... and leaves no mount", mounts_at(t1, NULL), 0);
	EXPECT_TRUE("... and no file or directory", !exists(t1));
	EXPECT("ns_destroy again succeeds (ENOENT counts as done)", gv_ns_destroy(t1), 0);
	EXPECT("ns_check of a missing directory is ENOENT", gv_ns_check(t1), -ENOENT);

	EXPECT("fixture: a directory where net goes", mkdir(t2, 0755) == 0 && snprintf(path, sizeof path, "%s/net", t2) > 0 ? mkdir(path, 0755) : -1, 0);
	EXPECT("ns_create over a directory named net is EEXIST", gv_ns_create(t2, UID_BASE, ID_COUNT, UID_BASE, ID_COUNT),
	       -EEXIST);
	snprintf(path, sizeof path, "%s/user", t2);
	EXPECT_TRUE("... and removes the user file it had created", !exists(path));
	EXPECT_TRUE("... but not the directory that was there before", exists(t2));
	EXPECT("ns_check with a file missing is ENOENT", gv_ns_check(t2), -ENOENT);
	snprintf(path, sizeof path, "%s/net", t2);
	rmdir(path);
	rmdir(t2);

	EXPECT("fixture: empty files left by a crash", mkdir(t3, 0755) == 0 ? touch(t3, "user") | touch(t3, "net") : -1, 0);
	EXPECT("ns_check of bare files is EINVAL", gv_ns_check(t3), -EINVAL);
	EXPECT("ns_create accepts existing empty files", gv_ns_create(t3, UID_BASE, ID_COUNT, UID_BASE, ID_COUNT), 0);
	EXPECT("... and mounts on them", gv_ns_check(t3), 0);
	EXPECT("fixture: a stranger's file", touch(t3, "other"), 0);
	EXPECT("ns_destroy of a directory with another file is ENOTEMPTY", gv_ns_destroy(t3), -ENOTEMPTY);
	EXPECT("... after removing both mounts", mounts_at(t3, NULL), 0);
	snprintf(path, sizeof path, "%s/other", t3);
	unlink(path);
	EXPECT("ns_destroy then succeeds", gv_ns_destroy(t3), 0);
	EXPECT_TRUE("... and leaves nothing", !exists(t3));

	EXPECT("fixture: unmount the ns root", umount2(root, MNT_DETACH), 0);
	EXPECT("no mount is left below the run directory", mounts_at(run_dir, NULL), 0);
	EXPECT("the ns root is empty and removed", rmdir(root), 0);
}
