/*
 * libgovernor, writing a tenant's network without starting a process: the veth pair, addresses, links up,
 * default routes, links deleted, sysctls under /proc/sys/net, and plans of several of these, over rtnetlink
 * from the caller's network namespace or from a tenant's (by its bind-mounted file). The shaping is in
 * netlink_tc.c. See netlink.h for the contract of each call.
 */
#include "netlink.h"
#include "netlink_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- links --- */

struct veth_args {
	const char *ifname, *peer_name, *peer_netns_path;
};

static int veth_create(int sock, const void *arg)
{
	const struct veth_args *a = arg;
	int peer_ns = -1;
	if (a->peer_netns_path && *a->peer_netns_path) {
		peer_ns = open(a->peer_netns_path, O_RDONLY | O_CLOEXEC);
		if (peer_ns < 0)
			return -errno;
	}
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
	nl_begin(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &link, sizeof link);
	nl_attr_string(&r, IFLA_IFNAME, a->ifname);
	size_t info = nl_nest_begin(&r, IFLA_LINKINFO);
	nl_attr_string(&r, IFLA_INFO_KIND, "veth");
	size_t data = nl_nest_begin(&r, IFLA_INFO_DATA);
	/* VETH_INFO_PEER holds an ifinfomsg and then the peer's own attributes. */
	size_t peer = nl_nest_begin(&r, VETH_INFO_PEER);
	nl_put(&r, &link, sizeof link);
	nl_attr_string(&r, IFLA_IFNAME, a->peer_name);
	if (peer_ns >= 0)
		nl_attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	nl_nest_end(&r, peer);
	nl_nest_end(&r, data);
	nl_nest_end(&r, info);
	int ret = nl_transact(sock, &r);
	if (peer_ns >= 0)
		close(peer_ns);
	return ret;
}

int gv_net_veth_create(const char *netns_path, const char *ifname, const char *peer_name, const char *peer_netns_path)
{
	if (!nl_valid_ifname(ifname) || !nl_valid_ifname(peer_name))
		return -EINVAL;
	struct veth_args args = {.ifname = ifname, .peer_name = peer_name, .peer_netns_path = peer_netns_path};
	return nl_in_netns(netns_path, veth_create, &args);
}

static int link_delete(int sock, const void *arg)
{
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
	nl_begin(&r, RTM_DELLINK, 0, &link, sizeof link);
	nl_attr_string(&r, IFLA_IFNAME, arg);
	return nl_transact(sock, &r);
}

int gv_net_link_delete(const char *netns_path, const char *ifname)
{
	if (!nl_valid_ifname(ifname))
		return -EINVAL;
	return nl_in_netns(netns_path, link_delete, ifname);
}

struct links_args {
	const char *const *ifnames;
	size_t count;
	int *results;
};

/* Puts a link into interface group `group` (RTM_NEWLINK without NLM_F_CREATE changes an existing link). */
static int link_set_group(int sock, const char *ifname, uint32_t group)
{
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
	nl_begin(&r, RTM_NEWLINK, 0, &link, sizeof link);
	nl_attr_string(&r, IFLA_IFNAME, ifname);
	nl_attr_u32(&r, IFLA_GROUP, group);
	return nl_transact(sock, &r);
}

static int group_delete(int sock, uint32_t group)
{
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
	nl_begin(&r, RTM_DELLINK, 0, &link, sizeof link);
	nl_attr_u32(&r, IFLA_GROUP, group);
	return nl_transact(sock, &r);
}

/* A group no administrator picks by hand: the top bit set, the rest random; never 0, the default group. */
static uint32_t scratch_group(void)
{
	uint32_t group = 0;
	if (getrandom(&group, sizeof group, GRND_NONBLOCK) != (ssize_t)sizeof group) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		group = (uint32_t)now.tv_nsec ^ ((uint32_t)getpid() << 12);
	}
	return group | 0x80000000u;
}

/*
 * Each RTM_DELLINK unregisters its devices as one batch, and a batch costs RCU grace periods and an
 * rcu_barrier() however few devices it holds (about 18 ms a link one by one under rtnl here, 0.5 ms a link for
 * 100 in one batch). So the links are moved into a scratch group, cheap writes with no wait, and the group is
 * deleted in one request. A link already gone is -ENODEV in its result; if the group request is refused, the
 * links are deleted one by one.
 */
static int links_delete(int sock, const void *arg)
{
	const struct links_args *a = arg;
	uint32_t group = scratch_group();
	size_t grouped = 0;
	for (size_t i = 0; i < a->count; i++) {
		a->results[i] = link_set_group(sock, a->ifnames[i], group);
		grouped += a->results[i] == 0;
	}
	if (grouped == 0)
		return 0;
	int ret = group_delete(sock, group);
	/* -ENODEV: something else (the namespace's own teardown) removed every grouped link first. */
	if (ret == 0 || ret == -ENODEV)
		return 0;
	for (size_t i = 0; i < a->count; i++)
		if (a->results[i] == 0)
			a->results[i] = link_delete(sock, a->ifnames[i]);
	return 0;
}

int gv_net_links_delete(const char *netns_path, const char *const *ifnames, size_t count, int *results)
{
	if (!ifnames || !results || count == 0 || count > GV_NET_LINKS_DELETE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		if (!nl_valid_ifname(ifnames[i]))
			return -EINVAL;
	struct links_args args = {.ifnames = ifnames, .count = count, .results = results};
	return nl_in_netns(netns_path, links_delete, &args);
}

static int link_up(int sock, const void *arg)
{
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	nl_begin(&r, RTM_NEWLINK, 0, &link, sizeof link);
	nl_attr_string(&r, IFLA_IFNAME, arg);
	return nl_transact(sock, &r);
}

int gv_net_link_up(const char *netns_path, const char *ifname)
{
	if (!nl_valid_ifname(ifname))
		return -EINVAL;
	return nl_in_netns(netns_path, link_up, ifname);
}

/* --- addresses and routes --- */

struct address_args {
	const char *ifname;
	int family;
	unsigned char address[16];
	unsigned int prefix;
	int nodad;
};

static int parse_address(const char *text, int *family, unsigned char out[16])
{
	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, out) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, text, out) == 1)
		*family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

static size_t address_size(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int address_replace(int sock, const void *arg)
{
	const struct address_args *a = arg;
	int index = nl_index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct ifaddrmsg addr = {.ifa_family = (unsigned char)a->family,
				 .ifa_prefixlen = (unsigned char)a->prefix,
				 .ifa_flags = (unsigned char)(a->nodad ? IFA_F_NODAD : 0),
				 .ifa_scope = RT_SCOPE_UNIVERSE,
				 .ifa_index = (unsigned int)index};
	nl_begin(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &addr, sizeof addr);
	/* As ip(8) without a peer: the local address is also the address of the prefix. */
	nl_attr(&r, IFA_LOCAL, a->address, address_size(a->family));
	nl_attr(&r, IFA_ADDRESS, a->address, address_size(a->family));
	return nl_transact(sock, &r);
}

int gv_net_address_replace(const char *netns_path, const char *ifname, const char *address, unsigned int prefix, int nodad)
{
	struct address_args args = {.ifname = ifname, .prefix = prefix, .nodad = nodad != 0};
	if (!nl_valid_ifname(ifname) || parse_address(address, &args.family, args.address) < 0 ||
	    prefix > (args.family == AF_INET ? 32u : 128u))
		return -EINVAL;
	return nl_in_netns(netns_path, address_replace, &args);
}

struct route_args {
	const char *ifname;
	int family;
	unsigned char gateway[16];
};

static int route_replace_default(int sock, const void *arg)
{
	const struct route_args *a = arg;
	int index = nl_index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct rtmsg route = {.rtm_family = (unsigned char)a->family,
			      .rtm_table = RT_TABLE_MAIN,
			      .rtm_protocol = RTPROT_BOOT,
			      .rtm_scope = RT_SCOPE_UNIVERSE,
			      .rtm_type = RTN_UNICAST};
	nl_begin(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &route, sizeof route);
	nl_attr(&r, RTA_GATEWAY, a->gateway, address_size(a->family));
	nl_attr_u32(&r, RTA_OIF, (uint32_t)index);
	return nl_transact(sock, &r);
}

int gv_net_route_replace_default(const char *netns_path, const char *ifname, const char *gateway)
{
	struct route_args args = {.ifname = ifname};
	if (!nl_valid_ifname(ifname) || parse_address(gateway, &args.family, args.gateway) < 0)
		return -EINVAL;
	return nl_in_netns(netns_path, route_replace_default, &args);
}

/* --- sysctls --- */

struct sysctl_args {
	const char *key;
	const char *value;
	int *changed;
};

/* Compares without the trailing newline the kernel prints. */
static int same_value(const char *read_back, size_t len, const char *value)
{
	while (len > 0 && (read_back[len - 1] == '\n' || read_back[len - 1] == ' '))
		len--;
	return strlen(value) == len && memcmp(read_back, value, len) == 0;
}

static int sysctl_ensure(int sock, const void *arg)
{
	(void)sock;
	const struct sysctl_args *a = arg;
	char path[256];
	int n = snprintf(path, sizeof path, "/proc/sys/net/%s", a->key);
	if (n < 0 || (size_t)n >= sizeof path)
		return -ENAMETOOLONG;
	/* /proc/sys/net shows the namespace of the thread that opens the file, which is this one. */
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char current[128];
	ssize_t got = read(fd, current, sizeof current);
	int ret = 0;
	if (got < 0)
		ret = -errno;
	else if (!same_value(current, (size_t)got, a->value)) {
		size_t len = strlen(a->value);
		ssize_t wrote = pwrite(fd, a->value, len, 0);
		ret = wrote < 0 ? -errno : (size_t)wrote != len ? -EIO : 0;
		if (ret == 0)
			*a->changed = 1;
	}
	close(fd);
	return ret;
}

int gv_net_sysctl_ensure(const char *netns_path, const char *key, const char *value, int *changed)
{
	if (!key || !value || !changed || !*key || key[0] == '/' || strstr(key, "..") || strlen(value) > 64)
		return -EINVAL;
	*changed = 0;
	struct sysctl_args args = {.key = key, .value = value, .changed = changed};
	return nl_in_netns(netns_path, sysctl_ensure, &args);
}

/* --- a plan of several writes in one namespace --- */

struct plan_args {
	const char *const *steps;
	size_t count;
	size_t *failed_at;
};

/* Splits `text` (copied into buf) at spaces into at most `max` words; returns how many. */
static size_t split_words(const char *text, char *buf, size_t cap, char **words, size_t max)
{
	size_t len = strnlen(text, cap);
	if (len >= cap)
		return 0;
	memcpy(buf, text, len + 1);
	size_t n = 0;
	for (char *p = buf; *p && n < max;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		words[n++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

/* One step of a plan, on the plan's socket in the plan's namespace (the grammar is in netlink.h). */
static int plan_step(int sock, const char *step)
{
	char buf[256], *w[4];
	size_t n = split_words(step, buf, sizeof buf, w, 4);
	if (n == 2 && strcmp(w[0], "up") == 0)
		return nl_valid_ifname(w[1]) ? link_up(sock, w[1]) : -EINVAL;
	if (n == 3 && strcmp(w[0], "route") == 0) {
		struct route_args route = {.ifname = w[1]};
		if (!nl_valid_ifname(w[1]) || parse_address(w[2], &route.family, route.gateway) < 0)
			return -EINVAL;
		return route_replace_default(sock, &route);
	}
	if (n == 3 && strcmp(w[0], "sysctl") == 0) {
		int changed = 0;
		struct sysctl_args sysctl = {.key = w[1], .value = w[2], .changed = &changed};
		if (w[1][0] == '/' || strstr(w[1], ".."))
			return -EINVAL;
		return sysctl_ensure(sock, &sysctl);
	}
	if ((n == 3 || n == 4) && strcmp(w[0], "addr") == 0) {
		struct address_args address = {.ifname = w[1], .nodad = n == 4};
		char *slash = strchr(w[2], '/');
		char *end = NULL;
		if (!slash || (n == 4 && strcmp(w[3], "nodad") != 0))
			return -EINVAL;
		*slash = '\0';
		unsigned long prefix = strtoul(slash + 1, &end, 10);
		if (!nl_valid_ifname(w[1]) || parse_address(w[2], &address.family, address.address) < 0 || *end != '\0' ||
		    end == slash + 1 || prefix > (address.family == AF_INET ? 32u : 128u))
			return -EINVAL;
		address.prefix = (unsigned int)prefix;
		return address_replace(sock, &address);
	}
	return -EINVAL;
}

static int plan_apply(int sock, const void *arg)
{
	const struct plan_args *a = arg;
	for (size_t i = 0; i < a->count; i++) {
		*a->failed_at = i;
		int ret = plan_step(sock, a->steps[i]);
		if (ret < 0)
			return ret;
	}
	*a->failed_at = a->count;
	return 0;
}

int gv_net_apply(const char *netns_path, const char *const *steps, size_t count, size_t *failed_at)
{
	if (!steps || !failed_at || count > 64)
		return -EINVAL;
	*failed_at = 0;
	struct plan_args args = {.steps = steps, .count = count, .failed_at = failed_at};
	return nl_in_netns(netns_path, plan_apply, &args);
}
