/*
 * The checks shared by the files of the native test program (build/governor_test): each case prints "ok" or
 * "FAIL" and a description; main prints "N passed, N failed" last.
 */
#ifndef GOVERNOR_TEST_CHECK_H
#define GOVERNOR_TEST_CHECK_H

int tally(int ok, const char *what);
void expect_eq(const char *what, long got, long want, int line);
void expect_str(const char *what, const char *got, const char *want, int line);
void sleep_ms(long ms);

#define EXPECT(what, got, want) expect_eq(what, (long)(got), (long)(want), __LINE__)
#define EXPECT_STR(what, got, want) expect_str(what, got, want, __LINE__)
#define EXPECT_TRUE(what, cond) expect_eq(what, (cond) ? 1 : 0, 1, __LINE__)

/* test/ns_test.c: gv_ns_* and gv_make_shared_mount, in a directory below /run/governor-test-<pid>. */
void test_ns(const char *run_dir);
/* test/monitor_test.c: build/governor-monitor, with test cgroups below the cgroup v2 tree `tree`. */
void test_monitor(const char *run_dir, const char *tree);

/* test/batch_test.c: batch.c, in a temporary directory. */
void test_batch(void);
/* test/netlink_test.c: netlink.c in this process's network namespace. */
void test_netlink(void);
/* test/netlink_test.c: netlink_write.c in two scratch network namespaces below run_dir. */
void test_netlink_write(const char *run_dir);
/* test/nft_test.c: nft.c in this process's network namespace. */
void test_nft(void);

#endif
