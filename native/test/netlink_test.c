/* gv_net_observe (netlink.c) in this process's own network namespace, and its refusals. */
#include "netlink.h"
#include "test/check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void test_netlink(void)
{
	static unsigned char buf[65536];
	size_t used = 0;
	const char *names[] = {"lo"};
	EXPECT("observing this namespace succeeds", gv_net_observe(NULL, names, 1, buf, sizeof buf - 1, &used), 0);
	buf[used] = '\0';
	const char *text = (const char *)buf;
	EXPECT_TRUE("loopback is listed as up", strstr(text, " lo up\n") != NULL);
	EXPECT_TRUE("loopback's address is listed with its prefix", strstr(text, " inet 127.0.0.1/8\n") != NULL);
	EXPECT_TRUE("lo's IPv6 switch is read from /proc/sys (or IPv6 is off in this kernel)",
		    strstr(text, "disable_ipv6 lo ") != NULL || strstr(text, "inet6") == NULL);
	EXPECT("a buffer too small is EFBIG", gv_net_observe(NULL, names, 1, buf, 8, &used), -EFBIG);
	EXPECT("a missing namespace file is ENOENT", gv_net_observe("/nonexistent/net", names, 1, buf, sizeof buf, &used), -ENOENT);
	EXPECT("a file that is not a namespace is EINVAL", gv_net_observe("/proc/self/status", names, 1, buf, sizeof buf, &used),
	       -EINVAL);
	EXPECT("more than 8 names is EINVAL", gv_net_observe(NULL, names, 9, buf, sizeof buf, &used), -EINVAL);
	EXPECT("observing through a namespace file (the entering thread) succeeds",
	       gv_net_observe("/proc/self/ns/net", names, 1, buf, sizeof buf, &used), 0);
}
