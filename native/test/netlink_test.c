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

/* Whether `want` is a line of what gv_net_observe says of netns_path's links `names`. */
static int observed(const char *netns_path, const char *const *names, size_t count, const char *want)
{
	static unsigned char seen[65536];
	size_t used = 0;
	if (gv_net_observe(netns_path, names, count, seen, sizeof seen - 1, &used) != 0)
		return 0;
	seen[used] = '\0';
	return strstr((const char *)seen, want) != NULL;
}

/*
 * The writes of netlink_write.c, in two scratch network namespaces of gv_ns_create below run_dir, so that
 * nothing of the host's own namespace is touched: a veth pair between them, its addresses, routes, sysctls,
 * shaping and policing, each read back through gv_net_observe.
 */
void test_netlink_write(const char *run_dir)
{
	char dir_a[128], dir_b[128], a[160], b[160];
	snprintf(dir_a, sizeof dir_a, "%s/nl-a", run_dir);
	snprintf(dir_b, sizeof dir_b, "%s/nl-b", run_dir);
	snprintf(a, sizeof a, "%s/net", dir_a);
	snprintf(b, sizeof b, "%s/net", dir_b);
	if (gv_ns_create(dir_a, 3000000000u, 65536, 3000000000u, 65536) != 0 ||
	    gv_ns_create(dir_b, 3000065536u, 65536, 3000065536u, 65536) != 0) {
		tally(0, "two scratch namespaces for the netlink writes");
		gv_ns_destroy(dir_a);
		return;
	}
	const char *host[] = {"gvtest0"}, *tenant[] = {"lo", "eth0"};
	EXPECT("a veth pair is made with its peer in the other namespace", gv_net_veth_create(a, "gvtest0", "eth0", b), 0);
	EXPECT("making it again is EEXIST", gv_net_veth_create(a, "gvtest0", "eth0", b), -EEXIST);
	EXPECT_TRUE("the host end is there, down", observed(a, host, 1, " gvtest0 down\n"));
	EXPECT_TRUE("the peer is eth0 in the other namespace, down", observed(b, tenant, 2, " eth0 down\n"));
	EXPECT("a bad interface name is EINVAL", gv_net_veth_create(a, "a/b", "eth0", b), -EINVAL);
	EXPECT("a name of 16 bytes is EINVAL", gv_net_link_up(a, "0123456789abcdef"), -EINVAL);

	EXPECT("an IPv4 address is set", gv_net_address_replace(a, "gvtest0", "10.227.255.0", 31, 0), 0);
	EXPECT("setting it again is no error", gv_net_address_replace(a, "gvtest0", "10.227.255.0", 31, 0), 0);
	EXPECT("the peer's IPv4 address is set", gv_net_address_replace(b, "eth0", "10.227.255.1", 31, 0), 0);
	EXPECT("an IPv6 address is set without DAD", gv_net_address_replace(b, "eth0", "fd00:6776::1", 127, 1), 0);
	EXPECT("a prefix past 32 for IPv4 is EINVAL", gv_net_address_replace(b, "eth0", "10.227.255.1", 33, 0), -EINVAL);
	EXPECT("an address that is none is EINVAL", gv_net_address_replace(b, "eth0", "10.227.255", 31, 0), -EINVAL);
	EXPECT("an address on a missing link is ENODEV", gv_net_address_replace(b, "eth9", "10.227.255.1", 31, 0), -ENODEV);
	EXPECT_TRUE("the IPv4 address reads back", observed(a, host, 1, " inet 10.227.255.0/31\n"));
	EXPECT_TRUE("the IPv6 address reads back", observed(b, tenant, 2, " inet6 fd00:6776::1/127\n"));

	EXPECT("the host end goes up", gv_net_link_up(a, "gvtest0"), 0);
	EXPECT("eth0 goes up", gv_net_link_up(b, "eth0"), 0);
	EXPECT_TRUE("eth0 reads back up", observed(b, tenant, 2, " eth0 up\n"));
	EXPECT("the default route is set", gv_net_route_replace_default(b, "eth0", "10.227.255.0"), 0);
	EXPECT("replacing it is no error", gv_net_route_replace_default(b, "eth0", "10.227.255.0"), 0);
	EXPECT_TRUE("the default route reads back", observed(b, tenant, 2, "route inet default 10.227.255.0\n"));

	int changed = -1;
	EXPECT("a sysctl that differs is written", gv_net_sysctl_ensure(b, "ipv6/conf/eth0/disable_ipv6", "1", &changed), 0);
	EXPECT("and says so", changed, 1);
	EXPECT("the same value again", gv_net_sysctl_ensure(b, "ipv6/conf/eth0/disable_ipv6", "1", &changed), 0);
	EXPECT("is not written", changed, 0);
	EXPECT_TRUE("the switch reads back", observed(b, tenant, 2, "disable_ipv6 eth0 1\n"));
	EXPECT("the other namespace's switch is its own", gv_net_sysctl_ensure(a, "ipv6/conf/gvtest0/disable_ipv6", "0", &changed), 0);
	EXPECT("and was left alone", changed, 0);
	EXPECT("a key with .. is EINVAL", gv_net_sysctl_ensure(b, "ipv6/../../kernel/hostname", "x", &changed), -EINVAL);
	EXPECT("a missing key is ENOENT", gv_net_sysctl_ensure(b, "ipv6/conf/eth9/disable_ipv6", "1", &changed), -ENOENT);

	EXPECT("tbf shaping is set", gv_net_tbf_replace(a, "gvtest0", 1250000, 32768, 50000), 0);
	EXPECT_TRUE("at its rate in bytes per second", observed(a, host, 1, " tbf root 1250000\n"));
	EXPECT("and replaced", gv_net_tbf_replace(a, "gvtest0", 2500000, 32768, 50000), 0);
	EXPECT_TRUE("by the new rate", observed(a, host, 1, " tbf root 2500000\n"));
	EXPECT("a rate past 32 bits is set", gv_net_tbf_replace(a, "gvtest0", 12500000000ull, 125000000, 50000), 0);
	EXPECT_TRUE("and reads back whole", observed(a, host, 1, " tbf root 12500000000\n"));
	/* This host's kernel is built without cls_matchall and act_police; the kernel guest (6.1) has both. */
	int police = gv_net_police_replace(a, "gvtest0", 625000, 32768);
	if (police == -ENOENT) {
		puts("     (this kernel has no matchall classifier or police action: the kernel guest runs the policing cases)");
		int left = gv_net_qdisc_delete(a, "gvtest0", 1);
		EXPECT_TRUE("policing refused leaves no ingress qdisc behind", left == -ENOENT || left == -EINVAL);
	} else {
		EXPECT("policing is set", police, 0);
		EXPECT_TRUE("on an ingress qdisc", observed(a, host, 1, " ingress ingress 0\n"));
		EXPECT_TRUE("with its rate", observed(a, host, 1, "police "));
		EXPECT_TRUE("of 625000 bytes per second", observed(a, host, 1, " 625000\n"));
		EXPECT("and replaced", gv_net_police_replace(a, "gvtest0", 1250000, 32768), 0);
		EXPECT_TRUE("by the new rate", observed(a, host, 1, " 1250000\n") && !observed(a, host, 1, " 625000\n"));
		EXPECT("a rate past 32 bits is policed", gv_net_police_replace(a, "gvtest0", 12500000000ull, 125000000), 0);
		EXPECT_TRUE("and reads back whole", observed(a, host, 1, " 12500000000\n"));
		EXPECT("the policing is removed", gv_net_qdisc_delete(a, "gvtest0", 1), 0);
	}
	EXPECT("the shaping is removed", gv_net_qdisc_delete(a, "gvtest0", 0), 0);
	EXPECT_TRUE("and gone", !observed(a, host, 1, " tbf root"));
	EXPECT_TRUE("policing is gone", !observed(a, host, 1, "police ") && !observed(a, host, 1, " ingress ingress"));
	int again = gv_net_qdisc_delete(a, "gvtest0", 1);
	EXPECT_TRUE("removing it again is ENOENT or EINVAL", again == -ENOENT || again == -EINVAL);

	const char *plan[] = {"sysctl ipv6/conf/eth0/disable_ipv6 0", "addr eth0 10.227.254.1/31", "addr eth0 fd00:6776::3/127 nodad",
			      "up eth0", "route eth0 10.227.255.0"};
	size_t failed_at = 99;
	EXPECT("a plan of five steps is applied in the other namespace", gv_net_apply(b, plan, 5, &failed_at), 0);
	EXPECT("and says all were done", failed_at, 5);
	EXPECT_TRUE("its address reads back", observed(b, tenant, 2, " inet 10.227.254.1/31\n"));
	EXPECT_TRUE("its IPv6 address too", observed(b, tenant, 2, " inet6 fd00:6776::3/127\n"));
	EXPECT_TRUE("and its switch", observed(b, tenant, 2, "disable_ipv6 eth0 0\n"));
	const char *missing[] = {"up eth0", "up eth9", "up eth0"};
	EXPECT("a plan stops at a step the kernel refuses", gv_net_apply(b, missing, 3, &failed_at), -ENODEV);
	EXPECT("and names it", failed_at, 1);
	const char *bad[] = {"up eth0", "addr eth0 10.227.254.1"};
	EXPECT("an address without its prefix is EINVAL", gv_net_apply(b, bad, 2, &failed_at), -EINVAL);
	EXPECT("at that step", failed_at, 1);
	const char *unknown[] = {"frob eth0"};
	EXPECT("a step that is none is EINVAL", gv_net_apply(b, unknown, 1, &failed_at), -EINVAL);
	const char *escape[] = {"sysctl ../../kernel/hostname x"};
	EXPECT("a sysctl key with .. is EINVAL in a plan too", gv_net_apply(b, escape, 1, &failed_at), -EINVAL);
	EXPECT("an empty plan does nothing", gv_net_apply(b, plan, 0, &failed_at), 0);

	EXPECT("deleting the host end deletes the pair", gv_net_link_delete(a, "gvtest0"), 0);
	EXPECT_TRUE("eth0 went with it", !observed(b, tenant, 2, " eth0 "));
	EXPECT("deleting it again is ENODEV", gv_net_link_delete(a, "gvtest0"), -ENODEV);
	EXPECT("a namespace file that is missing is ENOENT", gv_net_link_up("/nonexistent/net", "eth0"), -ENOENT);

	const char *pairs[][2] = {{"gvtest1", "p1"}, {"gvtest2", "p2"}, {"gvtest3", "p3"}, {"gvtest4", "p4"}};
	for (size_t i = 0; i < 4; i++)
		EXPECT("a veth pair for the batch deletion", gv_net_veth_create(a, pairs[i][0], pairs[i][1], b), 0);
	const char *doomed[] = {"gvtest1", "gvtest2", "gvnone", "gvtest3"};
	int results[4] = {1, 1, 1, 1};
	EXPECT("three links and a missing one are deleted in one batch", gv_net_links_delete(a, doomed, 4, results), 0);
	EXPECT_TRUE("each named link is deleted, the missing one is ENODEV",
		    results[0] == 0 && results[1] == 0 && results[2] == -ENODEV && results[3] == 0);
	const char *host_ends[] = {"gvtest1", "gvtest2", "gvtest3"}, *peers[] = {"p1", "p2", "p3", "p4"};
	EXPECT_TRUE("the deleted links are gone", !observed(a, host_ends, 3, " gvtest"));
	EXPECT_TRUE("their other ends went with them", !observed(b, peers, 3, " p"));
	const char *kept[] = {"gvtest4"};
	EXPECT_TRUE("a link not named stays", observed(a, kept, 1, " gvtest4 down\n") && observed(b, peers + 3, 1, " p4 down\n"));
	EXPECT("deleting them again is no error", gv_net_links_delete(a, doomed, 4, results), 0);
	EXPECT_TRUE("and each says ENODEV", results[0] == -ENODEV && results[1] == -ENODEV && results[3] == -ENODEV);
	EXPECT("no names is EINVAL", gv_net_links_delete(a, doomed, 0, results), -EINVAL);
	const char *bad_name[] = {"gvtest4", "a/b"};
	EXPECT("a bad name is EINVAL, before anything is deleted", gv_net_links_delete(a, bad_name, 2, results), -EINVAL);
	EXPECT_TRUE("so the good one stays", observed(a, kept, 1, " gvtest4 "));
	EXPECT("a batch of one deletes it", gv_net_links_delete(a, kept, 1, results), 0);
	EXPECT_TRUE("and it is gone", results[0] == 0 && !observed(a, kept, 1, " gvtest4 "));
	EXPECT("ns_destroy of the scratch namespaces", gv_ns_destroy(dir_a) | gv_ns_destroy(dir_b), 0);
}
