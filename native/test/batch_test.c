/* gv_read_files_beneath, gv_read_tree_beneath, gv_write_files_beneath and gv_page_size (batch.c), in a temporary directory. */
#include "batch.h"
#include "test/check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put_file(const char *dir, const char *rel, const char *content)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static int64_t result_at(const unsigned char *results, size_t i)
{
	int64_t value;
	memcpy(&value, results + i * sizeof value, sizeof value);
	return value;
}

static const char *content_of(const char *path)
{
	static char buf[64];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* NUL-separated names, as the TypeScript side builds them: the terminating NULs are part of the length. */
static const char NAMES[] = "memory.max\0missing\0sub/pids.max\0empty";

void test_batch(void)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "/tmp/governor-batch-test-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		exit(2);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/cg", tmp);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/cg/sub", tmp);
	mkdir(path, 0755);
	put_file(tmp, "cg/memory.max", "max\n");
	put_file(tmp, "cg/sub/pids.max", "64\n");
	put_file(tmp, "cg/empty", "");
	int dir = gv_open_dir(tmp);

	unsigned char buf[64], results[4 * 8];
	size_t used = 99;
	EXPECT("a batch read succeeds when some files are missing",
	       gv_read_files_beneath(dir, "cg", NAMES, sizeof NAMES, 4, buf, sizeof buf, &used, results), 0);
	EXPECT("the first file's length", result_at(results, 0), 4);
	EXPECT("a missing file is ENOENT in its own slot", result_at(results, 1), -ENOENT);
	EXPECT("a file below a subdirectory of dir is read", result_at(results, 2), 3);
	EXPECT("an empty file has length 0", result_at(results, 3), 0);
	EXPECT("used is the sum of the lengths", used, 7);
	EXPECT("contents lie one after another", memcmp(buf, "max\n64\n", 7), 0);
	EXPECT("a buffer too small for all is EFBIG",
	       gv_read_files_beneath(dir, "cg", NAMES, sizeof NAMES, 4, buf, 5, &used, results), -EFBIG);
	EXPECT("a missing dir is ENOENT", gv_read_files_beneath(dir, "nope", NAMES, sizeof NAMES, 4, buf, sizeof buf, &used, results),
	       -ENOENT);
	EXPECT("a dir outside dirfd is EXDEV", gv_read_files_beneath(dir, "..", NAMES, sizeof NAMES, 4, buf, sizeof buf, &used, results),
	       -EXDEV);
	EXPECT("a name that escapes dir is EXDEV in its slot",
	       gv_read_files_beneath(dir, "cg", "../../x", 8, 1, buf, sizeof buf, &used, results), 0);
	EXPECT("... its slot", result_at(results, 0), -EXDEV);
	EXPECT("more names than the list holds is EINVAL",
	       gv_read_files_beneath(dir, "cg", NAMES, sizeof NAMES, 5, buf, sizeof buf, &used, results), -EINVAL);

	/* Many cgroups in one call: cg twice in a row (one open), a removed cgroup, then cg/sub. */
	static const char TREE[] = "cg\0memory.max\0cg\0empty\0gone\0pids.max\0gone\0memory.max\0cg/sub\0pids.max\0cg\0../../x";
	unsigned char tree_results[6 * 8];
	size_t done = 0;
	EXPECT("a tree read settles every entry",
	       gv_read_tree_beneath(dir, TREE, sizeof TREE, 6, 0, buf, sizeof buf, &used, tree_results, &done), 0);
	EXPECT("all six are done", done, 6);
	EXPECT("cg/memory.max", result_at(tree_results, 0), 4);
	EXPECT("cg/empty", result_at(tree_results, 1), 0);
	EXPECT("every file of a removed cgroup is ENOENT", result_at(tree_results, 2), -ENOENT);
	EXPECT("... the second one too", result_at(tree_results, 3), -ENOENT);
	EXPECT("cg/sub/pids.max", result_at(tree_results, 4), 3);
	EXPECT("a name that escapes its dir is EXDEV in its slot", result_at(tree_results, 5), -EXDEV);
	EXPECT("the contents lie one after another", memcmp(buf, "max\n64\n", 7), 0);
	EXPECT("a buffer that fills up is EFBIG",
	       gv_read_tree_beneath(dir, TREE, sizeof TREE, 6, 0, buf, 5, &used, tree_results, &done), -EFBIG);
	EXPECT("... after the entries that fit", done, 4);
	EXPECT("... which are all it used", used, 4);
	EXPECT("reading on from there", gv_read_tree_beneath(dir, TREE, sizeof TREE, 6, done, buf, 5, &used, tree_results, &done), 0);
	EXPECT("... settles the rest", done, 6);
	EXPECT("... into the new buffer", memcmp(buf, "64\n", 3), 0);
	EXPECT("a file larger than the whole buffer does not move done",
	       gv_read_tree_beneath(dir, TREE, sizeof TREE, 6, 0, buf, 2, &used, tree_results, &done), -EFBIG);
	EXPECT("... done", done, 0);
	EXPECT("more entries than the list holds is EINVAL",
	       gv_read_tree_beneath(dir, TREE, sizeof TREE, 7, 0, buf, sizeof buf, &used, tree_results, &done), -EINVAL);
	EXPECT("skip beyond count is EINVAL", gv_read_tree_beneath(dir, TREE, sizeof TREE, 6, 7, buf, sizeof buf, &used, tree_results, &done),
	       -EINVAL);

	static const char PLAN[] = "memory.max\0" "1048576\0" "sub/pids.max\0" "32\0" "missing\0" "1\0" "empty\0" "x";
	EXPECT("a plan stops at its refused write with that write's errno",
	       gv_write_files_beneath(dir, "cg", PLAN, sizeof PLAN, 4, 1, results), -ENOENT);
	EXPECT("first write done", result_at(results, 0), 0);
	EXPECT("second write done", result_at(results, 1), 0);
	EXPECT("the refused write carries its errno", result_at(results, 2), -ENOENT);
	EXPECT("a write after the refused one is not attempted", result_at(results, 3), 1);
	snprintf(path, sizeof path, "%s/cg/memory.max", tmp);
	EXPECT_STR("the first value was written in place", content_of(path), "1048576");
	snprintf(path, sizeof path, "%s/cg/sub/pids.max", tmp);
	EXPECT_STR("the second value was written in place (no O_TRUNC)", content_of(path), "32\n");
	EXPECT("a whole plan succeeds", gv_write_files_beneath(dir, "cg", PLAN, sizeof PLAN - 14, 2, 0, results), 0);
	EXPECT("a plan value without its NUL is EINVAL", gv_write_files_beneath(dir, "cg", "empty\0x", 7, 1, 0, results), -EINVAL);
	EXPECT("a plan's write outside dir is EXDEV", gv_write_files_beneath(dir, "cg", "../../x\0" "1", 10, 1, 0, results), -EXDEV);

	long page = gv_page_size();
	EXPECT_TRUE("the page size is a power of two of at least 4096", page >= 4096 && (page & (page - 1)) == 0);

	gv_close(dir);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}
