/*
 * governor-tenant-init: PID 1 of one tenant's PID namespace, and the holder of its mount, UTS, IPC and cgroup
 * namespaces.
 *
 *   governor-tenant-init TENANT      with the options on stdin, NUL-separated ("--name\0value\0..."):
 *     --ns-dir DIR       holds user and net (gv_ns_create); receives pid, mnt, uts, ipc, cgroup bind mounts
 *     --cgroup DIR       the init's own leaf (ROOT/tenants/<name>/init)
 *     --hostname NAME    --uid BASE (root of the tenant outside)   --tmp-size BYTES
 *     [--home DIR]       mounted at /home/tenant, writable
 *     [--rootfs DIR]     the tenant's root instead of the host's (an unpacked image): it must hold /proc, /sys,
 *                        /dev, /tmp, /var/tmp, /run, /home (and /dev/shm is the host's /dev, bound); the host's
 *                        /sys and /dev are bound in, and the host's root is detached once pivot_root is done
 *     [--hide DIR]...    covered by an empty, read-only tmpfs (run dir, data dir, cgroup mounts)
 *     [--mount-template FILE]  the mount namespace to copy instead of the host's (see below)
 * The options travel on stdin, not argv, so that /proc/<pid>/cmdline on the host names the tenant only.
 *
 *   governor-tenant-init --mount-template   with --mount-template FILE and --hide DIR... on stdin
 *     makes the mount template (make_template): the host's mount namespace without any namespace file, any mount
 *     at or below the hidden directories or any mount below /run, /tmp, /var/tmp, /dev/shm and /home (which
 *     every view covers), with one empty read-only tmpfs on the first hidden directory that every view clones
 *     for its own hidden directories (template_hidden), bound onto FILE; once per governor start, before any init.
 *
 * The launcher forks a middle process that setsids (the init never belongs to the caller's session or is its
 * child) and, still root in the initial user namespace:
 *   0. takes detached, private clones of the home and the rootfs from the host's mount namespace (open_tree),
 *      then joins the mount template if given: the copy in 1 is then of a namespace that holds a few dozen
 *      mounts, not of the host's, which holds about six for every tenant (their namespace files and homes), so
 *      an init start does not grow with the tenants on the host. Without one (or when it cannot be joined: a
 *      warning on stderr) the copy is of the host's namespace, and the init detaches what it must not hold;
 *   1. unshares a mount namespace (A, owned by the initial user namespace, private propagation) and a UTS
 *      namespace, joins the tenant's network namespace and sets the hostname. UTS stays owned by the initial user
 *      namespace, like the network namespace: the hostname is the governor's to set, and the tenant's root gets
 *      EPERM from sethostname;
 *   2. unshares a PID namespace and clone3s the init into --cgroup (CLONE_INTO_CGROUP), as its PID 1.
 * The init, still privileged in A, builds the tenant's view there (build_view), then joins the tenant's user
 * namespace, becomes root there, and unshares mount (B), IPC and cgroup namespaces, all three owned by the
 * tenant's user namespace. B is a copy of A made for a less privileged user namespace, so the kernel locks every
 * mount in it (MNT_LOCKED): the tenant's root cannot unmount what hides the host. The cgroup namespace is rooted
 * at the init's leaf; each workload gets its own, rooted at its leaf (native/monitor.c).
 * Once the init reports success the launcher bind-mounts /proc/<init>/ns/{pid,mnt,uts,ipc,cgroup} into --ns-dir,
 * writes --ns-dir/init.pid and prints the init's host pid. Exit 0 then; 1 with a message on stderr when anything
 * failed (the init, if any, is killed); 2 for bad usage.
 *
 * The init reaps every orphan of its namespace, forwards SIGTERM, SIGINT and SIGHUP to every other process in
 * it (kill(-1)), and never exits on its own. Signals it has no use for keep their default disposition, which for
 * a PID 1 means ignored when they come from inside its namespace: `kill -9 1` in a workload does nothing.
 */
#include "fd_write.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPTIONS_MAX (64 << 10)
#define HIDE_MAX 16
#define MSG_MAX (PATH_MAX + 128)

struct options {
	const char *ns_dir, *cgroup, *hostname, *home, *uid, *tmp_size, *rootfs, *template;
	const char *hide[HIDE_MAX];
	size_t hides;
	unsigned long long base, tmp_bytes;
};

/* What the init reports through the report pipe: the step that failed and its errno (0, 0: ready). */
enum step {
	STEP_READY = 0,
	STEP_PRIVATE,
	STEP_ROOTFS,
	STEP_DETACH,
	STEP_READONLY,
	STEP_SCRATCH,
	STEP_HOME,
	STEP_HIDE,
	STEP_PROC,
	STEP_MASK,
	STEP_USERNS,
	STEP_IDS,
	STEP_UNSHARE,
};

static const char *const step_names[] = {
	"ready",	 "private mount propagation", "entering the rootfs", "detaching namespace and hidden mounts", "read-only root",
	"/tmp, /var/tmp, /dev/shm and /run", "the home",	"hiding governor state", "mounting /proc",
	"masking /proc and /sys", "joining the tenant's user namespace", "becoming root in it",
	"unsharing mount, IPC and cgroup namespaces"};

/* The namespaces the launcher bind-mounts, as /proc/<pid>/ns/<name> names them. */
static const char *const ns_names[] = {"pid", "mnt", "uts", "ipc", "cgroup"};

/* runc's defaults (libcontainer/specconv): masked (dirs get an empty read-only tmpfs, files /dev/null) ... */
static const char *const masked[] = {"/proc/acpi",	  "/proc/asound",	"/proc/kcore",	   "/proc/keys",
				     "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
				     "/proc/scsi",	  "/sys/firmware",	"/sys/devices/virtual/powercap"};
/* ... and read-only (a read-only bind of the path onto itself). */
static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

static int number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	*out = s ? strtoull(s, &end, 10) : 0;
	return s && *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 && *out <= max ? 0 : -1;
}

/* Reads fd 0 to EOF into *buf (malloc'ed) and parses "--name\0value\0" pairs into o. A template run
 * (`template_mode`) takes --mount-template and --hide only. */
static int parse(char **buf, struct options *o, int template_mode)
{
	memset(o, 0, sizeof *o);
	size_t len = 0;
	*buf = malloc(OPTIONS_MAX + 1);
	if (!*buf)
		return -1;
	for (ssize_t n; len < OPTIONS_MAX && ((n = read(0, *buf + len, OPTIONS_MAX - len)) != 0);)
		if (n < 0 && errno != EINTR)
			return -1;
		else
			len += n > 0 ? (size_t)n : 0;
	(*buf)[len] = '\0';
	static const char *const names[] = {"--ns-dir", "--cgroup", "--hostname", "--home",
					    "--uid",	 "--tmp-size", "--rootfs",	   "--mount-template"};
	const char **values[] = {&o->ns_dir, &o->cgroup, &o->hostname, &o->home, &o->uid, &o->tmp_size, &o->rootfs, &o->template};
	for (size_t at = 0; at < len;) {
		const char *name = *buf + at;
		at += strlen(name) + 1;
		if (at >= len)
			return -1; /* a name without a value */
		const char *value = *buf + at;
		at += strlen(value) + 1;
		if (at > len + 1)
			return -1;
		if (strcmp(name, "--hide") == 0) {
			if (o->hides == HIDE_MAX || value[0] != '/')
				return -1;
			o->hide[o->hides++] = value;
			continue;
		}
		size_t k = 0;
		while (k < sizeof names / sizeof *names && strcmp(name, names[k]) != 0)
			k++;
		if (k == sizeof names / sizeof *names)
			return -1;
		*values[k] = value;
	}
	if (o->template && o->template[0] != '/')
		return -1;
	if (template_mode)
		return o->template && !o->ns_dir && !o->cgroup && !o->hostname && !o->home && !o->uid && !o->tmp_size && !o->rootfs
			       ? 0
			       : -1;
	if (number(o->uid, UINT32_MAX - 65536, &o->base) < 0 || number(o->tmp_size, ~0ULL >> 1, &o->tmp_bytes) < 0 ||
	    o->tmp_bytes == 0)
		return -1;
	if ((o->home && o->home[0] != '/') || (o->rootfs && o->rootfs[0] != '/'))
		return -1;
	return o->ns_dir && o->cgroup && o->hostname && o->ns_dir[0] == '/' && o->cgroup[0] == '/' ? 0 : -1;
}

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t cap, const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	vsnprintf(msg, cap, format, ap);
	va_end(ap);
	return -1;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
		got += n > 0 ? (size_t)n : 0;
	}
	return (ssize_t)got;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;
	for (; *s; s++, out++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out = *s;
		}
	}
	*out = '\0';
}

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' || n == 1);
}

/* Directories every view covers with a tmpfs of its own (scratch, home_view): what is mounted below them on the
 * host is out of the tenant's reach, only held. */
static const char *const covered[] = {"/run", "/tmp", "/var/tmp", "/dev/shm", "/home"};

/*
 * Detaches, in this (private) mount namespace, every namespace file mount and every mount at or below one of the
 * hidden directories: hidden under a tmpfs they would still be held, and a held nsfs mount keeps another tenant's
 * namespace alive, a held loop mount another tenant's home. With `below_covered` (the mount template), also every
 * mount strictly below a covered directory: another governor's homes under its run dir, a user's /run/user/<uid>.
 * Repeats until a pass finds nothing, since a detach can uncover a mount that was stacked below.
 */
static int detach_held(const struct options *o, int below_covered)
{
	for (int pass = 0; pass < 16; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return -errno;
		char *line = NULL;
		size_t cap = 0;
		int detached = 0, ret = 0;
		while (ret == 0 && getline(&line, &cap, f) > 0) {
			char *fields[10] = {0};
			size_t k = 0;
			for (char *save = NULL, *t = strtok_r(line, " ", &save); t && k < 10; t = strtok_r(NULL, " ", &save))
				fields[k++] = t;
			/* id parent dev root point options [optional...] - fstype source superoptions */
			size_t dash = 6;
			while (dash < k && strcmp(fields[dash], "-") != 0)
				dash++;
			if (k < 5 || dash + 1 >= k)
				continue;
			char *point = fields[4];
			unescape(point);
			int held = strcmp(fields[dash + 1], "nsfs") == 0;
			for (size_t i = 0; !held && i < o->hides; i++)
				held = under(point, o->hide[i]) && strcmp(point, "/") != 0;
			for (size_t i = 0; !held && below_covered && i < sizeof covered / sizeof *covered; i++)
				held = under(point, covered[i]) && strcmp(point, covered[i]) != 0;
			if (!held)
				continue;
			if (umount2(point, MNT_DETACH) == 0)
				detached++;
			else if (errno != EINVAL && errno != ENOENT)
				ret = -errno;
		}
		free(line);
		fclose(f);
		if (ret < 0 || detached == 0)
			return ret;
	}
	return -EBUSY;
}

/* A new, detached tmpfs mount (fsopen + fsmount), owned by the tenant's root outside. */
static int new_tmpfs(unsigned long long size, const char *mode, unsigned long long base, unsigned int attrs)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	char size_text[32], uid_text[32];
	snprintf(size_text, sizeof size_text, "%llu", size);
	snprintf(uid_text, sizeof uid_text, "%llu", base);
	int ret = 0;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", size_text, 0) < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "uid", uid_text, 0) < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "gid", uid_text, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		ret = -errno;
	int mnt = ret < 0 ? -1 : fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | attrs);
	if (ret == 0 && mnt < 0)
		ret = -errno;
	close(fs);
	return ret < 0 ? ret : mnt;
}

/* Moves a clone of `sub` beneath the detached mount `mnt` (or the mount itself for "") onto `target`. */
static int place(int mnt, const char *sub, const char *target)
{
	int tree = *sub ? open_tree(mnt, sub, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : mnt;
	if (tree < 0)
		return -errno;
	int ret = move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
	if (tree != mnt)
		close(tree);
	return ret;
}

static int make_dir(int mnt, const char *name, mode_t mode, unsigned long long base)
{
	if (mkdirat(mnt, name, mode) < 0 && errno != EEXIST)
		return -errno;
	if (fchmodat(mnt, name, mode, 0) < 0 || fchownat(mnt, name, (uid_t)base, (gid_t)base, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

/*
 * One tmpfs of --tmp-size for everything a tenant may write outside its home: /tmp, /var/tmp, /dev/shm and /run
 * (with /run/lock) are directories of it, so that one limit covers them all and the pages are charged to the
 * memory cgroup of whoever writes them, a tenant process. Kernels before 6.15 refuse to clone part of a
 * detached mount (open_tree on an fsmount fd: EINVAL), so the whole tmpfs is first attached on /tmp, its
 * directories are bound from there, and /tmp/tmp is bound last on top of /tmp itself, covering the rest.
 */
static int scratch(const struct options *o)
{
	int mnt = new_tmpfs(o->tmp_bytes, "0755", o->base, 0);
	if (mnt < 0)
		return mnt;
	static const struct {
		const char *dir, *target;
		mode_t mode;
	} parts[] = {{"vartmp", "/var/tmp", 01777}, {"shm", "/dev/shm", 01777}, {"run", "/run", 0755}, {"tmp", "/tmp", 01777}};
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < sizeof parts / sizeof *parts; i++)
		ret = make_dir(mnt, parts[i].dir, parts[i].mode, o->base);
	if (ret == 0)
		ret = make_dir(mnt, "run/lock", 01777, o->base);
	/* /home too (see home_view), read-only: one superblock less a view (see hidden_fs). */
	if (ret == 0)
		ret = make_dir(mnt, "home", 0755, o->base);
	if (ret == 0)
		ret = make_dir(mnt, "home/tenant", 0755, o->base);
	if (ret == 0)
		ret = place(mnt, "", "/tmp");
	close(mnt);
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if (ret == 0 && (mount("/tmp/home", "/home", NULL, MS_BIND, NULL) < 0 || mount_setattr(AT_FDCWD, "/home", 0, &ro, sizeof ro) < 0))
		ret = -errno;
	for (size_t i = 0; ret == 0 && i < sizeof parts / sizeof *parts; i++) {
		struct stat st;
		if (lstat(parts[i].target, &st) < 0 || !S_ISDIR(st.st_mode))
			continue; /* /var/run is usually a symlink to /run */
		char source[32];
		snprintf(source, sizeof source, "/tmp/%s", parts[i].dir);
		if (mount(source, parts[i].target, NULL, MS_BIND, NULL) < 0)
			ret = -errno;
		/* /run is bound by now; a /var/run that is a directory of its own gets the same. */
		if (ret == 0 && strcmp(parts[i].target, "/run") == 0 && lstat("/var/run", &st) == 0 && S_ISDIR(st.st_mode) &&
		    mount(source, "/var/run", NULL, MS_BIND, NULL) < 0)
			ret = -errno;
	}
	return ret;
}

/* /home is a read-only directory of the scratch tmpfs (scratch) holding only tenant/, onto which `home` (a
 * detached clone, or -1) is bound. */
static int home_view(int home)
{
	return home >= 0 ? place(home, "", "/home/tenant") : 0;
}

/*
 * The empty tmpfs (mode 0, read-only) that covers every hidden and masked directory of this view, once placed: the
 * others are clones of its mount, one superblock for them all. Every superblock is a shrinker for the kernel, and
 * where memory cgroups exist each new shrinker id can grow a map in every memory cgroup of the host (6.1's
 * expand_shrinker_info, and each new memory cgroup's map is as large as there are shrinkers): with a tmpfs each,
 * a view's ten or so hidden directories made an init's start, and every tenant cgroup's mkdir, cost more with
 * every tenant on the host (a quarter of the guest's CPU at 1,200 tenants, in perf). Closed at the end of
 * build_view.
 */
static int hidden_fs = -1;
/* A detached clone of the mount template's own hidden tmpfs (shared_hidden), placed instead of a new one: then
 * every view of the host shares one superblock for its hidden directories. */
static int hidden_source = -1;

/* The first of the hidden directories that is a directory here: where the template puts its hidden tmpfs. */
static const char *first_hidden_dir(const struct options *o)
{
	for (size_t i = 0; i < o->hides; i++) {
		struct stat st;
		if (stat(o->hide[i], &st) == 0 && S_ISDIR(st.st_mode))
			return o->hide[i];
	}
	return NULL;
}

/*
 * In a copy of the mount template, before detach_held unmounts it: a detached clone of the template's hidden tmpfs
 * (make_template), once it is seen to be one (a mount of its own, tmpfs, read-only, mode 0, owned by root, empty),
 * or -1 (no template, or not that mount: the view then makes its own).
 */
static int shared_hidden(const struct options *o)
{
	const char *path = first_hidden_dir(o);
	if (!path)
		return -1;
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s/..", path);
	struct stat here, up;
	struct statfs fs;
	if (stat(path, &here) < 0 || stat(parent, &up) < 0 || here.st_dev == up.st_dev || (here.st_mode & 07777) != 0 ||
	    here.st_uid != 0 || statfs(path, &fs) < 0 || fs.f_type != TMPFS_MAGIC || !(fs.f_flags & ST_RDONLY))
		return -1;
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int entries = 0;
	for (struct dirent *e; (e = readdir(dir));)
		entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(dir);
	return entries == 0 ? open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : -1;
}

/* Hidden directories: the empty tmpfs above. A path that is not in the view any more is done. */
static int hide(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (hidden_fs >= 0) {
		/* A clone of an attached mount: kernels before 6.15 refuse one of a detached mount (see scratch). */
		int tree = open_tree(hidden_fs, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0)
			return -errno;
		int ret = move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
		close(tree);
		return ret;
	}
	int mnt = hidden_source >= 0 ? hidden_source : new_tmpfs(4096, "0000", 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
	hidden_source = -1;
	if (mnt < 0)
		return mnt;
	int ret = place(mnt, "", path);
	if (ret < 0)
		close(mnt);
	else
		hidden_fs = mnt;
	return ret;
}

static int mask(void)
{
	for (size_t i = 0; i < sizeof masked / sizeof *masked; i++) {
		struct stat st;
		if (stat(masked[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		int ret = S_ISDIR(st.st_mode) ? hide(masked[i])
					      : mount("/dev/null", masked[i], NULL, MS_BIND, NULL) < 0 ? -errno : 0;
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < sizeof readonly / sizeof *readonly; i++) {
		if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
		if (mount_setattr(AT_FDCWD, readonly[i], AT_RECURSIVE, &ro, sizeof ro) < 0)
			return -errno;
	}
	return 0;
}

/*
 * --rootfs: `tree` is a detached clone of it, taken in the host's mount namespace (clone_tree). It is attached on
 * top of this namespace's root (pivot_root needs a mount point in the namespace, and the rootfs path may not
 * be there: a namespace started from the mount template holds only the mounts the host had when it was made),
 * the host's /sys and /dev are bound into it and it becomes the root; then the host's root is detached: nothing
 * of it is left to hide or to hold. "/" still names the old root until pivot_root, as in switch_root.
 */
static int enter_rootfs(int tree)
{
	if (move_mount(tree, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0 || fchdir(tree) < 0)
		return -errno;
	static const char *const binds[] = {"sys", "dev"};
	for (size_t i = 0; i < sizeof binds / sizeof *binds; i++) {
		char source[16];
		snprintf(source, sizeof source, "/%s", binds[i]);
		if (mount(source, binds[i], NULL, MS_BIND | MS_REC, NULL) < 0)
			return -errno;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -errno;
	return 0;
}

/* What the middle process took from the host's mount namespace for the init: detached clones, or -1. */
struct taken {
	int home, rootfs;
	/* the mount template was joined: its shared hidden tmpfs is there to clone (shared_hidden) */
	int templated;
};

/*
 * The tenant's view, built in mount namespace A while the init is still root in the initial user namespace, so
 * that every mount made here is locked once B is copied from A. Returns 0 or -errno, with *step set.
 */
static int build_view(const struct options *o, const struct taken *t, int *step)
{
	int ret;
	/* A copy of the mount template has nothing to detach; a copy of the host's namespace has every other
	 * tenant's namespace files and homes (the home to bind was cloned before, in the middle process). */
	*step = STEP_DETACH;
	if (t->templated)
		hidden_source = shared_hidden(o);
	if ((ret = detach_held(o, 0)) < 0)
		return ret;
	*step = STEP_ROOTFS;
	if (t->rootfs >= 0 && (ret = enter_rootfs(t->rootfs)) < 0)
		return ret;
	*step = STEP_READONLY;
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) < 0)
		return -errno;
	*step = STEP_SCRATCH;
	if ((ret = scratch(o)) < 0)
		return ret;
	*step = STEP_HOME;
	if ((ret = home_view(t->home)) < 0)
		return ret;
	*step = STEP_HIDE;
	for (size_t i = 0; i < o->hides; i++)
		if ((ret = hide(o->hide[i])) < 0)
			return ret;
	/* The host's POSIX message queues (its mqueue mount belongs to the host's IPC namespace). */
	if ((ret = hide("/dev/mqueue")) < 0)
		return ret;
	*step = STEP_PROC;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	*step = STEP_MASK;
	ret = mask();
	if (hidden_fs >= 0)
		close(hidden_fs);
	if (hidden_source >= 0)
		close(hidden_source);
	hidden_fs = hidden_source = -1;
	return ret;
}

static _Noreturn void init_fail(int report, int step, int err)
{
	int r[2] = {step, err};
	gv_write_all(report, r, sizeof r);
	_exit(127);
}

/* PID 1. Reaps, forwards the stopping signals, never returns. */
static _Noreturn void init_loop(void)
{
	sigset_t wait;
	sigemptyset(&wait);
	sigaddset(&wait, SIGCHLD);
	sigaddset(&wait, SIGTERM);
	sigaddset(&wait, SIGINT);
	sigaddset(&wait, SIGHUP);
	/* Only these stay blocked (so queued for sigwaitinfo); every other signal is default, so ignored from inside. */
	sigprocmask(SIG_SETMASK, &wait, NULL);
	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&wait, &info);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			kill(-1, SIGTERM);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

static _Noreturn void run_init(const struct options *o, const struct taken *t, int report, int user)
{
	int step = STEP_READY, ret;
	umask(0);
	if ((ret = build_view(o, t, &step)) < 0)
		init_fail(report, step, -ret);
	if (setns(user, CLONE_NEWUSER) < 0)
		init_fail(report, STEP_USERNS, errno);
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		init_fail(report, STEP_IDS, errno);
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWCGROUP) < 0 || chdir("/") < 0)
		init_fail(report, STEP_UNSHARE, errno);
	umask(022);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	int ok[2] = {STEP_READY, 0};
	gv_write_all(report, ok, sizeof ok);
	close_range(3, ~0U, 0);
	init_loop();
}

/*
 * A detached clone of the mount at `path` (with the mounts below it when `recursive` is AT_RECURSIVE), private:
 * a clone of a mount in a shared peer group (the homes directory is shared) joins that group, and a mount made
 * on the host below the home would then propagate into the tenant's view.
 */
static int clone_tree(const char *path, unsigned int recursive)
{
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursive);
	if (fd < 0)
		return -errno;
	struct mount_attr private = {.propagation = MS_PRIVATE};
	if (mount_setattr(fd, "", AT_EMPTY_PATH | recursive, &private, sizeof private) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Joins the mount template (--mount-template), so that the unshare that follows copies it rather than the host's
 * namespace. 0, or -errno when it is missing or no mount namespace: then the init starts from a copy of the
 * host's namespace, as without a template, and the launcher says so on stderr.
 */
static int join_template(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = setns(fd, CLONE_NEWNS) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* The middle process: namespaces up to the PID one, then the init. Returns the init's host pid, or -1 with msg. */
static pid_t start_init(const struct options *o, char *msg)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/user", o->ns_dir);
	int user = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/net", o->ns_dir);
	int net = user < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	int cg = net < 0 ? -1 : open(o->cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return fail(msg, MSG_MAX, "cannot open %s: %s", user < 0 || net < 0 ? path : o->cgroup, strerror(errno));
	/* What the init needs of the host's mounts is taken here, before the namespace is left or copied. */
	struct taken t = {-1, -1, 0};
	if (o->home && (t.home = clone_tree(o->home, 0)) < 0)
		return fail(msg, MSG_MAX, "%s: open_tree %s: %s", step_names[STEP_HOME], o->home, strerror(-t.home));
	if (o->rootfs && (t.rootfs = clone_tree(o->rootfs, AT_RECURSIVE)) < 0)
		return fail(msg, MSG_MAX, "%s: open_tree %s: %s", step_names[STEP_ROOTFS], o->rootfs, strerror(-t.rootfs));
	int joined = o->template ? join_template(o->template) : 0;
	t.templated = o->template && joined == 0;
	if (joined < 0)
		fprintf(stderr, "warning: the mount template %s: %s; this init starts from a copy of the host's mount namespace\n",
			o->template, strerror(-joined));
	/* Private, not slave: a later mount on the host (another tenant's namespace file or home) must not appear,
	 * held, in this tenant's namespaces. (A copy of the template is private already.) */
	if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(msg, MSG_MAX, "%s: %s", step_names[STEP_PRIVATE], strerror(errno));
	if (setns(net, CLONE_NEWNET) < 0)
		return fail(msg, MSG_MAX, "cannot join the network namespace: %s", strerror(errno));
	if (sethostname(o->hostname, strlen(o->hostname)) < 0)
		return fail(msg, MSG_MAX, "sethostname %s: %s", o->hostname, strerror(errno));
	if (unshare(CLONE_NEWPID) < 0)
		return fail(msg, MSG_MAX, "cannot unshare a PID namespace: %s", strerror(errno));
	int report[2];
	if (pipe2(report, O_CLOEXEC) < 0)
		return fail(msg, MSG_MAX, "pipe: %s", strerror(errno));
	/* Blocked before clone3, so that no signal reaches the init with a default action before its loop runs. */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = (__u64)SIGCHLD;
	args.cgroup = (__u64)(unsigned int)cg;
	long child = syscall(SYS_clone3, &args, sizeof args);
	if (child == 0) {
		close(report[0]);
		run_init(o, &t, report[1], user);
	}
	int clone_errno = errno;
	close(report[1]);
	if (child < 0) {
		close(report[0]);
		return fail(msg, MSG_MAX, "clone3 into %s: %s", o->cgroup, strerror(clone_errno));
	}
	int r[2];
	ssize_t n = read_full(report[0], r, sizeof r);
	close(report[0]);
	if (n == (ssize_t)sizeof r && r[0] == STEP_READY)
		return (pid_t)child;
	kill((pid_t)child, SIGKILL);
	waitpid((pid_t)child, NULL, 0);
	if (n != (ssize_t)sizeof r)
		return fail(msg, MSG_MAX, "the init died while starting");
	return fail(msg, MSG_MAX, "%s: %s", r[0] > 0 && r[0] <= STEP_UNSHARE ? step_names[r[0]] : "?", strerror(r[1]));
}


/* An existing empty file is accepted as the mount point, as gv_ns_create does. */
static int bind_ns(const struct options *o, pid_t pid, char *msg)
{
	for (size_t i = 0; i < sizeof ns_names / sizeof *ns_names; i++) {
		char source[64], target[PATH_MAX];
		snprintf(source, sizeof source, "/proc/%d/ns/%s", (int)pid, ns_names[i]);
		snprintf(target, sizeof target, "%s/%s", o->ns_dir, ns_names[i]);
		int fd = open(target, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (fd < 0)
			return fail(msg, MSG_MAX, "%s: %s", target, strerror(errno));
		close(fd);
		/* The kernel never propagates a mount-namespace file: binding one where the mount propagates (the run
		 * directory is shared, and under systemd or a container's rshared volume it has peers and slaves in
		 * other namespaces) fails with EINVAL. So mnt first becomes a private mount of its own, and the
		 * namespace is bound on top; removal unmounts every stacked mount (ns_file_remove). */
		if (strcmp(ns_names[i], "mnt") == 0 &&
		    (mount(target, target, NULL, MS_BIND, NULL) < 0 || mount(NULL, target, NULL, MS_PRIVATE, NULL) < 0))
			return fail(msg, MSG_MAX, "make %s a private mount: %s", target, strerror(errno));
		if (mount(source, target, NULL, MS_BIND, NULL) < 0)
			return fail(msg, MSG_MAX, "bind %s to %s: %s", source, target, strerror(errno));
	}
	char tmp[PATH_MAX], final[PATH_MAX], text[32];
	snprintf(tmp, sizeof tmp, "%s/.init.pid.tmp", o->ns_dir);
	snprintf(final, sizeof final, "%s/init.pid", o->ns_dir);
	snprintf(text, sizeof text, "%d\n", (int)pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || gv_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, final) < 0)
		return fail(msg, MSG_MAX, "%s: %s", final, strerror(errno));
	return 0;
}

/*
 * The template's hidden tmpfs, on the first hidden directory: every init that starts from the template clones it
 * (shared_hidden) for its own hidden directories, so that all views share its one superblock (see hidden_fs).
 */
static int template_hidden(const struct options *o)
{
	const char *path = first_hidden_dir(o);
	if (!path)
		return 0;
	int mnt = new_tmpfs(4096, "0000", 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return mnt;
	int ret = place(mnt, "", path);
	close(mnt);
	return ret;
}

/*
 * --mount-template: makes the namespace every init start copies, once per governor start. A child unshares a
 * mount namespace from the host's (private propagation), detaches in it everything detach_held would (namespace
 * files, mounts at or below the hidden directories) and every mount below a directory each view covers with
 * its own tmpfs (/run, /tmp, /var/tmp, /dev/shm, /home: out of the tenant's reach, so only held; on a host with
 * several governors, their homes are there), places the views' shared hidden tmpfs (template_hidden), and the
 * parent binds it onto --mount-template: a private
 * bind of the file onto itself first, as for a tenant's mnt file (bind_ns), since the kernel never propagates a
 * mount-namespace file. The host's namespace is older than the child's, so the bind is allowed (the kernel's
 * mnt_ns_loop rule), and the kernel skips such a bind when it copies a namespace, so neither the template nor
 * any copy of the host's namespace holds it. A template left by an earlier start is unmounted first. Returns 0,
 * or -1 with "<step>: <error>" in msg.
 */
static int make_template(const struct options *o, char *msg)
{
	int mounts = 0;
	while (umount2(o->template, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		if (++mounts == 64)
			return fail(msg, MSG_MAX, "unmounting the old template: %s", strerror(EBUSY));
	if (errno != EINVAL && errno != ENOENT)
		return fail(msg, MSG_MAX, "unmounting the old template: %s", strerror(errno));
	int fd = open(o->template, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd < 0)
		return fail(msg, MSG_MAX, "creating %s: %s", o->template, strerror(errno));
	close(fd);
	if (mount(o->template, o->template, NULL, MS_BIND, NULL) < 0 || mount(NULL, o->template, NULL, MS_PRIVATE, NULL) < 0)
		return fail(msg, MSG_MAX, "making %s a private mount: %s", o->template, strerror(errno));
	int report[2], go[2];
	if (pipe2(report, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		return fail(msg, MSG_MAX, "pipe: %s", strerror(errno));
	pid_t child = fork();
	if (child == 0) {
		close(report[0]);
		close(go[1]);
		int r[2] = {STEP_READY, 0};
		if (unshare(CLONE_NEWNS) < 0)
			r[0] = STEP_UNSHARE, r[1] = errno;
		else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			r[0] = STEP_PRIVATE, r[1] = errno;
		else if ((r[1] = -detach_held(o, 1)) != 0)
			r[0] = STEP_DETACH;
		else if ((r[1] = -template_hidden(o)) != 0)
			r[0] = STEP_HIDE;
		gv_write_all(report[1], r, sizeof r);
		char byte;
		while (read(go[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	int fork_errno = errno;
	close(report[1]);
	close(go[0]);
	int r[2] = {-1, fork_errno}, ret = 0;
	if (child < 0)
		ret = fail(msg, MSG_MAX, "fork: %s", strerror(fork_errno));
	else if (read_full(report[0], r, sizeof r) != (ssize_t)sizeof r)
		ret = fail(msg, MSG_MAX, "the template's process died while making it");
	else if (r[0] != STEP_READY)
		ret = fail(msg, MSG_MAX, "%s: %s", r[0] == STEP_UNSHARE ? "unsharing a mount namespace" : step_names[r[0]], strerror(r[1]));
	if (ret == 0) {
		char source[64];
		snprintf(source, sizeof source, "/proc/%d/ns/mnt", (int)child);
		if (mount(source, o->template, NULL, MS_BIND, NULL) < 0)
			ret = fail(msg, MSG_MAX, "binding the template onto %s: %s", o->template, strerror(errno));
	}
	close(go[1]); /* EOF lets the child go: its namespace lives on in the bind */
	close(report[0]);
	if (child > 0)
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	if (ret < 0)
		while (umount2(o->template, MNT_DETACH | UMOUNT_NOFOLLOW) == 0 && ++mounts < 128)
			;
	return ret;
}

int main(int argc, char **argv)
{
	struct options o;
	char *buf = NULL;
	int template_mode = argc == 2 && strcmp(argv[1], "--mount-template") == 0;
	if (argc != 2 || parse(&buf, &o, template_mode) < 0)
		return fputs("usage: governor-tenant-init TENANT|--mount-template < options (see native/tenant-init.c)\n", stderr), 2;
	close_range(3, ~0U, 0);
	if (template_mode) {
		char msg[MSG_MAX];
		int ret = make_template(&o, msg);
		free(buf);
		return ret < 0 ? fprintf(stderr, "governor-tenant-init --mount-template: %s\n", msg), 1 : 0;
	}
	int ready[2];
	pid_t middle = pipe2(ready, O_CLOEXEC) < 0 ? -1 : fork();
	if (middle < 0)
		return fprintf(stderr, "governor-tenant-init %s: %s\n", argv[1], strerror(errno)), 1;
	if (middle == 0) {
		close(ready[0]);
		char msg[MSG_MAX];
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || setsid() < 0 || chdir("/") < 0) {
			dprintf(ready[1], "setsid: %s", strerror(errno));
			_exit(1);
		}
		pid_t init = start_init(&o, msg);
		if (init < 0)
			dprintf(ready[1], "%s", msg);
		else
			dprintf(ready[1], "ok %d", (int)init);
		_exit(init < 0); /* the init, PID 1 of its own namespace, is adopted by the host's init */
	}
	close(ready[1]);
	while (waitpid(middle, NULL, 0) < 0 && errno == EINTR)
		;
	char msg[MSG_MAX];
	ssize_t n = read_full(ready[0], msg, sizeof msg - 1);
	close(ready[0]);
	msg[n > 0 ? n : 0] = '\0';
	int pid = 0;
	if (sscanf(msg, "ok %d", &pid) != 1 || pid <= 0)
		return fprintf(stderr, "governor-tenant-init %s: %s\n", argv[1], n > 0 ? msg : "the launcher died while starting"), 1;
	if (bind_ns(&o, pid, msg) < 0) {
		kill(pid, SIGKILL);
		return fprintf(stderr, "governor-tenant-init %s: %s\n", argv[1], msg), 1;
	}
	printf("%d\n", pid);
	free(buf);
	return 0;
}
