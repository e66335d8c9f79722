/*
 * libgovernor, batched cgroup I/O: a tenant's whole set of files read, or an ordered write plan applied, in
 * one call, so that a reconcile pass costs one trip to a worker thread per tenant instead of one per file.
 * See governor.h for the contract.
 */
#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GV_BATCH_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
/* openat2 asks callers to retry EAGAIN (a rename or mount raced with the walk); governor.c does the same. */
#define GV_BATCH_OPENAT2_ATTEMPTS 16

static int batch_open(int dirfd, const char *rel, int flags)
{
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (__u64)(unsigned int)(flags | O_CLOEXEC);
	how.resolve = GV_BATCH_RESOLVE;
	for (int attempt = 0;; attempt++) {
		long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		if (fd >= 0)
			return (int)fd;
		if (errno == EINTR || (errno == EAGAIN && attempt + 1 < GV_BATCH_OPENAT2_ATTEMPTS))
			continue;
		return -errno;
	}
}

/* The results are int64 little-endian slots in a byte buffer: koffi hands over a Buffer's own bytes. */
static void put_result(unsigned char *results, size_t i, int64_t value)
{
	memcpy(results + i * sizeof value, &value, sizeof value);
}

/* Points *next past the NUL of the string at *cursor, within [*cursor, end); -EINVAL if it has no NUL. */
static int next_string(const char **cursor, const char *end, const char **out)
{
	const char *nul = memchr(*cursor, '\0', (size_t)(end - *cursor));
	if (!nul)
		return -EINVAL;
	*out = *cursor;
	*cursor = nul + 1;
	return 0;
}

/* Reads what remains of fd into buf[*used, cap). 0, or -EFBIG when it does not fit, or -errno. */
static int slurp(int fd, unsigned char *buf, size_t cap, size_t *used)
{
	for (;;) {
		unsigned char probe;
		ssize_t n = *used < cap ? read(fd, buf + *used, cap - *used) : read(fd, &probe, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (*used == cap)
			return -EFBIG;
		*used += (size_t)n;
	}
}

/*
 * Reads the file `name` beneath `base` (a directory fd, or the -errno of opening it) into buf at *used, and puts
 * its length or its -errno in slot i. -EFBIG when it does not fit (nothing of it kept, its slot untouched), else 0.
 */
static int read_entry(int base, const char *name, unsigned char *buf, size_t cap, size_t *used, unsigned char *results,
		      size_t i)
{
	int fd = base < 0 ? base : batch_open(base, name, O_RDONLY);
	if (fd < 0) {
		put_result(results, i, fd);
		return 0;
	}
	size_t start = *used;
	int got = slurp(fd, buf, cap, used);
	close(fd);
	if (got < 0)
		*used = start;
	if (got == -EFBIG)
		return -EFBIG;
	put_result(results, i, got < 0 ? got : (int64_t)(*used - start));
	return 0;
}

int gv_read_files_beneath(int dirfd, const char *dir, const char *names, size_t names_len, size_t count,
			  unsigned char *buf, size_t cap, size_t *used, unsigned char *results)
{
	if (!dir || !names || !used || !results || (!buf && cap > 0))
		return -EINVAL;
	*used = 0;
	int base = batch_open(dirfd, *dir ? dir : ".", O_PATH | O_DIRECTORY);
	if (base < 0)
		return base;
	const char *cursor = names, *end = names + names_len;
	int ret = 0;
	for (size_t i = 0; i < count; i++) {
		const char *name;
		if ((ret = next_string(&cursor, end, &name)) < 0)
			break;
		/* On EFBIG the whole batch is retried with a larger buffer: the caller cannot tell a part from the file. */
		if ((ret = read_entry(base, name, buf, cap, used, results, i)) < 0)
			break;
	}
	close(base);
	return ret;
}

/* The dir of the entries being read: opened once for a run of entries that name it, or the errno of that open. */
struct tree_dir {
	const char *name;
	int fd;
};

static int tree_dir_enter(int dirfd, struct tree_dir *cur, const char *name)
{
	if (cur->name && strcmp(cur->name, name) == 0)
		return cur->fd;
	if (cur->fd >= 0)
		close(cur->fd);
	cur->name = name;
	cur->fd = batch_open(dirfd, *name ? name : ".", O_PATH | O_DIRECTORY);
	return cur->fd;
}

int gv_read_tree_beneath(int dirfd, const char *list, size_t list_len, size_t count, size_t skip, unsigned char *buf,
			 size_t cap, size_t *used, unsigned char *results, size_t *done)
{
	if (!list || !used || !results || !done || skip > count || (!buf && cap > 0))
		return -EINVAL;
	*used = 0;
	*done = skip;
	const char *cursor = list, *end = list + list_len;
	struct tree_dir cur = { NULL, -1 };
	int ret = 0;
	for (size_t i = 0; i < count; i++) {
		const char *dir, *name;
		if ((ret = next_string(&cursor, end, &dir)) < 0 || (ret = next_string(&cursor, end, &name)) < 0)
			break;
		if (i < skip)
			continue;
		if ((ret = read_entry(tree_dir_enter(dirfd, &cur, dir), name, buf, cap, used, results, i)) < 0)
			break;
		*done = i + 1;
	}
	if (cur.fd >= 0)
		close(cur.fd);
	return ret;
}

int gv_write_files_beneath(int dirfd, const char *dir, const char *plan, size_t plan_len, size_t count, int nonblock,
			   unsigned char *results)
{
	if (!dir || !plan || !results)
		return -EINVAL;
	/* Every write is "not attempted" (1) until it is tried: a refused write stops the plan, whose order matters. */
	for (size_t i = 0; i < count; i++)
		put_result(results, i, 1);
	int base = batch_open(dirfd, *dir ? dir : ".", O_PATH | O_DIRECTORY);
	if (base < 0)
		return base;
	const char *cursor = plan, *end = plan + plan_len;
	int ret = 0;
	for (size_t i = 0; i < count && ret == 0; i++) {
		const char *name, *value;
		if ((ret = next_string(&cursor, end, &name)) < 0 || (ret = next_string(&cursor, end, &value)) < 0)
			break;
		int fd = batch_open(base, name, O_WRONLY | (nonblock ? O_NONBLOCK : 0));
		if (fd < 0) {
			ret = fd;
			put_result(results, i, fd);
			break;
		}
		size_t len = strlen(value);
		ssize_t n;
		do
			n = write(fd, value, len);
		while (n < 0 && errno == EINTR);
		int status = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
		if (close(fd) < 0 && errno != EINTR && status == 0)
			status = -errno;
		put_result(results, i, status);
		ret = status;
	}
	close(base);
	return ret;
}

long gv_page_size(void)
{
	long size = sysconf(_SC_PAGESIZE);
	return size > 0 ? size : -EINVAL;
}
