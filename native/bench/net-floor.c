/*
 * The whole-reconcile floor's steps that iproute2 makes grow with the number of tenants, done as the bare calls:
 *  - a named network namespace: `ip netns add` remounts /run/netns shared with MS_REC at every call, which walks
 *    every namespace mount already there; here unshare(CLONE_NEWNET) and one bind mount onto FILE;
 *  - a tbf qdisc, and a link's read-back: tc(8) of iproute2 6.1 dumps every link of the host (ll_init_map)
 *    before it adds or shows one device's qdisc; here one netlink request with the link looked up by name
 *    (if_nametoindex), through libgovernor's netlink code.
 * With both, 5,000 tenants' floor grew with the square of the tenants.
 * Usage:
 *   net-floor netns FILE                          (ip netns add, FILE a new file on a private mount)
 *   net-floor tbf IFNAME RATE BURST LATENCY_US    (tc qdisc replace dev IFNAME root tbf rate RATE burst BURST latency ...)
 *   net-floor show IFNAME                         (the link, its addresses and its qdiscs, to /dev/null)
 * RATE is in bytes/s, BURST in bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include "../netlink.h"

static unsigned long long number(const char *text, const char *what) {
	char *end;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0') {
		fprintf(stderr, "net-floor: %s must be a whole number, not %s\n", what, text);
		exit(2);
	}
	return value;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "netns") == 0) {
		int fd = open(argv[2], O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
		if (fd < 0 || close(fd) < 0 || unshare(CLONE_NEWNET) < 0 || mount("/proc/self/ns/net", argv[2], NULL, MS_BIND, NULL) < 0) {
			fprintf(stderr, "net-floor: netns %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "tbf") == 0) {
		int ret = gv_net_tbf_replace(NULL, argv[2], number(argv[3], "RATE"), (uint32_t)number(argv[4], "BURST"),
					     (uint32_t)number(argv[5], "LATENCY_US"));
		if (ret < 0) {
			fprintf(stderr, "net-floor: tbf on %s: %s\n", argv[2], strerror(-ret));
			return 1;
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "show") == 0) {
		static unsigned char buf[65536];
		size_t used = 0;
		const char *names[] = {argv[2]};
		int ret = gv_net_observe(NULL, names, 1, buf, sizeof buf, &used);
		if (ret < 0) {
			fprintf(stderr, "net-floor: show %s: %s\n", argv[2], strerror(-ret));
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "usage: net-floor netns FILE | net-floor tbf IFNAME RATE BURST LATENCY_US | net-floor show IFNAME\n");
	return 2;
}
