/*
 * libgovernor, writing a tenant's network without starting a process: the veth pair, addresses, links up,
 * default routes, links deleted, sysctls under /proc/sys/net, and the host end's tbf shaping and matchall
 * policing, over rtnetlink from the caller's network namespace or from a tenant's (by its bind-mounted file).
 * See netlink.h for the contract of each call.
 */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* One request under construction; `overflow` turns into -EMSGSIZE when it is sent. */
struct request {
	uint64_t storage[1024];
	size_t len;
	int overflow;
};

static size_t align4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

static struct nlmsghdr *header_of(struct request *r)
{
	return (struct nlmsghdr *)(void *)r->storage;
}

static unsigned char *bytes_of(struct request *r)
{
	return (unsigned char *)r->storage;
}

/* Appends `len` bytes (aligned to 4) at the end of the message. */
static void *put(struct request *r, const void *data, size_t len)
{
	if (r->len + align4(len) > sizeof r->storage) {
		r->overflow = 1;
		return NULL;
	}
	unsigned char *at = bytes_of(r) + r->len;
	memset(at, 0, align4(len));
	if (data)
		memcpy(at, data, len);
	r->len += align4(len);
	return at;
}

static void begin(struct request *r, uint16_t type, uint16_t flags, const void *fixed, size_t fixed_len)
{
	memset(r->storage, 0, sizeof(struct nlmsghdr));
	r->len = NLMSG_HDRLEN;
	r->overflow = 0;
	header_of(r)->nlmsg_type = type;
	header_of(r)->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	header_of(r)->nlmsg_seq = 1;
	put(r, fixed, fixed_len);
}

static void attr(struct request *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr header = {.rta_len = (unsigned short)(sizeof header + len), .rta_type = type};
	unsigned char *at = put(r, &header, sizeof header);
	if (at && !put(r, data, len))
		r->len -= align4(sizeof header);
}

static void attr_string(struct request *r, uint16_t type, const char *value)
{
	attr(r, type, value, strlen(value) + 1);
}

static void attr_u32(struct request *r, uint16_t type, uint32_t value)
{
	attr(r, type, &value, sizeof value);
}

/* A nested attribute: its length is set by nest_end, from the offset nest_begin returns. */
static size_t nest_begin(struct request *r, uint16_t type)
{
	size_t at = r->len;
	struct rtattr header = {.rta_len = sizeof header, .rta_type = type};
	put(r, &header, sizeof header);
	return at;
}

static void nest_end(struct request *r, size_t at)
{
	if (r->overflow)
		return;
	struct rtattr *header = (struct rtattr *)(void *)(bytes_of(r) + at);
	header->rta_len = (unsigned short)(r->len - at);
}

/* Sends the request and waits for its ack: 0, or the kernel's -errno. */
static int transact(int sock, struct request *r)
{
	if (r->overflow)
		return -EMSGSIZE;
	header_of(r)->nlmsg_len = (uint32_t)r->len;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(sock, r->storage, r->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		return -errno;
	uint64_t reply[2048];
	for (;;) {
		ssize_t n = recv(sock, reply, sizeof reply, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		size_t left = (size_t)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)reply;
		     left >= sizeof *h && h->nlmsg_len >= sizeof *h && h->nlmsg_len <= left;) {
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr))
				return ((const struct nlmsgerr *)(const void *)((const char *)h + NLMSG_HDRLEN))->error;
			size_t step = align4(h->nlmsg_len);
			left = step >= left ? 0 : left - step;
			h = (const struct nlmsghdr *)(const void *)((const char *)h + step);
		}
	}
}

static int open_route_socket(void)
{
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (sock < 0)
		return -errno;
	struct timeval limit = {.tv_sec = 5, .tv_usec = 0};
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	return sock;
}

/* A name the kernel would take for an interface: 1 to 15 bytes, none of them '/', ':' or whitespace. */
static int valid_ifname(const char *name)
{
	size_t len = name ? strnlen(name, IFNAMSIZ) : 0;
	if (len == 0 || len >= IFNAMSIZ)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] <= ' ')
			return 0;
	return 1;
}

/* The index of `name` in the calling thread's network namespace, or -ENODEV. */
static int index_of(const char *name)
{
	unsigned int index = if_nametoindex(name);
	if (index == 0)
		return errno == ENXIO || errno == ENODEV ? -ENODEV : -errno;
	return (int)index;
}

/*
 * What each call does, run by in_netns on the calling thread (the caller's namespace) or on a short-lived
 * thread that has entered the tenant's: setns(2) moves only that thread, which ends right after.
 */
struct job {
	int (*work)(int sock, const void *arg);
	const void *arg;
	const char *netns_path;
	int ret;
};

static int run_job(struct job *job)
{
	int sock = open_route_socket();
	if (sock < 0)
		return sock;
	int ret = job->work(sock, job->arg);
	close(sock);
	return ret;
}

static void *job_thread(void *arg)
{
	struct job *job = arg;
	int ns = open(job->netns_path, O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		job->ret = -errno;
		return NULL;
	}
	job->ret = setns(ns, CLONE_NEWNET) < 0 ? -errno : 0;
	close(ns);
	if (job->ret == 0)
		job->ret = run_job(job);
	return NULL;
}

static int in_netns(const char *netns_path, int (*work)(int, const void *), const void *arg)
{
	struct job job = {.work = work, .arg = arg, .netns_path = netns_path, .ret = 0};
	if (!netns_path || !*netns_path)
		return run_job(&job);
	pthread_t thread;
	int err = pthread_create(&thread, NULL, job_thread, &job);
	if (err != 0)
		return -err;
	pthread_join(thread, NULL);
	return job.ret;
}

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
	begin(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &link, sizeof link);
	attr_string(&r, IFLA_IFNAME, a->ifname);
	size_t info = nest_begin(&r, IFLA_LINKINFO);
	attr_string(&r, IFLA_INFO_KIND, "veth");
	size_t data = nest_begin(&r, IFLA_INFO_DATA);
	/* VETH_INFO_PEER holds an ifinfomsg and then the peer's own attributes. */
	size_t peer = nest_begin(&r, VETH_INFO_PEER);
	put(&r, &link, sizeof link);
	attr_string(&r, IFLA_IFNAME, a->peer_name);
	if (peer_ns >= 0)
		attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)peer_ns);
	nest_end(&r, peer);
	nest_end(&r, data);
	nest_end(&r, info);
	int ret = transact(sock, &r);
	if (peer_ns >= 0)
		close(peer_ns);
	return ret;
}

int gv_net_veth_create(const char *netns_path, const char *ifname, const char *peer_name, const char *peer_netns_path)
{
	if (!valid_ifname(ifname) || !valid_ifname(peer_name))
		return -EINVAL;
	struct veth_args args = {.ifname = ifname, .peer_name = peer_name, .peer_netns_path = peer_netns_path};
	return in_netns(netns_path, veth_create, &args);
}

static int link_delete(int sock, const void *arg)
{
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
	begin(&r, RTM_DELLINK, 0, &link, sizeof link);
	attr_string(&r, IFLA_IFNAME, arg);
	return transact(sock, &r);
}

int gv_net_link_delete(const char *netns_path, const char *ifname)
{
	if (!valid_ifname(ifname))
		return -EINVAL;
	return in_netns(netns_path, link_delete, ifname);
}

static int link_up(int sock, const void *arg)
{
	struct request r;
	struct ifinfomsg link = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	begin(&r, RTM_NEWLINK, 0, &link, sizeof link);
	attr_string(&r, IFLA_IFNAME, arg);
	return transact(sock, &r);
}

int gv_net_link_up(const char *netns_path, const char *ifname)
{
	if (!valid_ifname(ifname))
		return -EINVAL;
	return in_netns(netns_path, link_up, ifname);
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
	int index = index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct ifaddrmsg addr = {.ifa_family = (unsigned char)a->family,
				 .ifa_prefixlen = (unsigned char)a->prefix,
				 .ifa_flags = (unsigned char)(a->nodad ? IFA_F_NODAD : 0),
				 .ifa_scope = RT_SCOPE_UNIVERSE,
				 .ifa_index = (unsigned int)index};
	begin(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &addr, sizeof addr);
	/* As ip(8) without a peer: the local address is also the address of the prefix. */
	attr(&r, IFA_LOCAL, a->address, address_size(a->family));
	attr(&r, IFA_ADDRESS, a->address, address_size(a->family));
	return transact(sock, &r);
}

int gv_net_address_replace(const char *netns_path, const char *ifname, const char *address, unsigned int prefix, int nodad)
{
	struct address_args args = {.ifname = ifname, .prefix = prefix, .nodad = nodad != 0};
	if (!valid_ifname(ifname) || parse_address(address, &args.family, args.address) < 0 ||
	    prefix > (args.family == AF_INET ? 32u : 128u))
		return -EINVAL;
	return in_netns(netns_path, address_replace, &args);
}

struct route_args {
	const char *ifname;
	int family;
	unsigned char gateway[16];
};

static int route_replace_default(int sock, const void *arg)
{
	const struct route_args *a = arg;
	int index = index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct rtmsg route = {.rtm_family = (unsigned char)a->family,
			      .rtm_table = RT_TABLE_MAIN,
			      .rtm_protocol = RTPROT_BOOT,
			      .rtm_scope = RT_SCOPE_UNIVERSE,
			      .rtm_type = RTN_UNICAST};
	begin(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &route, sizeof route);
	attr(&r, RTA_GATEWAY, a->gateway, address_size(a->family));
	attr_u32(&r, RTA_OIF, (uint32_t)index);
	return transact(sock, &r);
}

int gv_net_route_replace_default(const char *netns_path, const char *ifname, const char *gateway)
{
	struct route_args args = {.ifname = ifname};
	if (!valid_ifname(ifname) || parse_address(gateway, &args.family, args.gateway) < 0)
		return -EINVAL;
	return in_netns(netns_path, route_replace_default, &args);
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
	return in_netns(netns_path, sysctl_ensure, &args);
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
		return valid_ifname(w[1]) ? link_up(sock, w[1]) : -EINVAL;
	if (n == 3 && strcmp(w[0], "route") == 0) {
		struct route_args route = {.ifname = w[1]};
		if (!valid_ifname(w[1]) || parse_address(w[2], &route.family, route.gateway) < 0)
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
		if (!valid_ifname(w[1]) || parse_address(w[2], &address.family, address.address) < 0 || *end != '\0' ||
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
	return in_netns(netns_path, plan_apply, &args);
}

/* --- shaping (tbf) and policing (ingress + matchall police) --- */

/*
 * The kernel's psched clock: PSCHED_TICKS2NS is a shift by 6, a tick is 64 ns (/proc/net/psched's second
 * field, 0x40). tc(8) computes the same ticks from that file.
 */
static uint32_t ticks_for(uint64_t bytes, uint64_t bytes_per_second)
{
	uint64_t ns = bytes * 1000000000ull / bytes_per_second;
	uint64_t ticks = ns / 64;
	return ticks > UINT32_MAX ? UINT32_MAX : (uint32_t)ticks;
}

static void ratespec(struct tc_ratespec *spec, uint64_t bytes_per_second)
{
	memset(spec, 0, sizeof *spec);
	spec->rate = bytes_per_second >= (1ull << 32) ? UINT32_MAX : (uint32_t)bytes_per_second;
	/* Ethernet framing: the kernel then computes transmit times itself and needs no rate table for tbf. */
	spec->linklayer = TC_LINKLAYER_ETHERNET;
	spec->cell_align = -1;
	/* 2047 >> 3 < 256: the cells of tc's default rate table (tc_calc_rtable with mtu 2047). */
	spec->cell_log = 3;
}

struct shaping_args {
	const char *ifname;
	uint64_t rate;
	uint32_t burst;
	uint32_t latency_us;
	uint32_t parent;
};

static int tbf_replace(int sock, const void *arg)
{
	const struct shaping_args *a = arg;
	int index = index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_handle = 0, .tcm_parent = TC_H_ROOT};
	begin(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, &tc, sizeof tc);
	attr_string(&r, TCA_KIND, "tbf");
	size_t options = nest_begin(&r, TCA_OPTIONS);
	struct tc_tbf_qopt qopt;
	memset(&qopt, 0, sizeof qopt);
	ratespec(&qopt.rate, a->rate);
	/* As tc's "latency": the queue holds what the rate drains in that time, plus one burst. */
	uint64_t limit = a->rate * a->latency_us / 1000000u + a->burst;
	qopt.limit = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	qopt.buffer = ticks_for(a->burst, a->rate);
	attr(&r, TCA_TBF_PARMS, &qopt, sizeof qopt);
	attr_u32(&r, TCA_TBF_BURST, a->burst);
	if (a->rate >= (1ull << 32))
		attr(&r, TCA_TBF_RATE64, &a->rate, sizeof a->rate);
	nest_end(&r, options);
	return transact(sock, &r);
}

int gv_net_tbf_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst, uint32_t latency_us)
{
	if (!valid_ifname(ifname) || rate == 0 || burst == 0)
		return -EINVAL;
	struct shaping_args args = {.ifname = ifname, .rate = rate, .burst = burst, .latency_us = latency_us};
	return in_netns(netns_path, tbf_replace, &args);
}

static int qdisc_delete(int sock, const void *arg)
{
	const struct shaping_args *a = arg;
	int index = index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_parent = a->parent};
	begin(&r, RTM_DELQDISC, 0, &tc, sizeof tc);
	return transact(sock, &r);
}

int gv_net_qdisc_delete(const char *netns_path, const char *ifname, int ingress)
{
	if (!valid_ifname(ifname))
		return -EINVAL;
	struct shaping_args args = {.ifname = ifname, .parent = ingress ? TC_H_INGRESS : TC_H_ROOT};
	return in_netns(netns_path, qdisc_delete, &args);
}

static int police_replace(int sock, const void *arg)
{
	const struct shaping_args *a = arg;
	int index = index_of(a->ifname);
	if (index < 0)
		return index;
	/* A fresh ingress qdisc: deleting the old one drops its filters with it. */
	struct request r;
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_parent = TC_H_INGRESS};
	begin(&r, RTM_DELQDISC, 0, &tc, sizeof tc);
	int ret = transact(sock, &r);
	if (ret < 0 && ret != -ENOENT && ret != -EINVAL)
		return ret;
	tc.tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	begin(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &tc, sizeof tc);
	attr_string(&r, TCA_KIND, "ingress");
	ret = transact(sock, &r);
	if (ret < 0)
		return ret;

	/* matchall, priority 1, every protocol, with one police action that drops what exceeds the rate. */
	struct tcmsg filter = {.tcm_family = AF_UNSPEC,
			       .tcm_ifindex = index,
			       .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
			       .tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL))};
	begin(&r, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &filter, sizeof filter);
	attr_string(&r, TCA_KIND, "matchall");
	size_t options = nest_begin(&r, TCA_OPTIONS);
	size_t actions = nest_begin(&r, TCA_MATCHALL_ACT);
	size_t first = nest_begin(&r, 1);
	attr_string(&r, TCA_ACT_KIND, "police");
	size_t police = nest_begin(&r, TCA_ACT_OPTIONS);
	struct tc_police parms;
	memset(&parms, 0, sizeof parms);
	parms.action = TC_ACT_SHOT;
	ratespec(&parms.rate, a->rate);
	parms.burst = ticks_for(a->burst, a->rate);
	attr(&r, TCA_POLICE_TBF, &parms, sizeof parms);
	/* act_police insists on a rate table (TCA_POLICE_RATE): each cell's transmit time, as tc_calc_rtable. */
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++)
		table[i] = ticks_for((uint64_t)(i + 1) << parms.rate.cell_log, a->rate);
	attr(&r, TCA_POLICE_RATE, table, sizeof table);
	if (a->rate >= (1ull << 32))
		attr(&r, TCA_POLICE_RATE64, &a->rate, sizeof a->rate);
	nest_end(&r, police);
	nest_end(&r, first);
	nest_end(&r, actions);
	nest_end(&r, options);
	ret = transact(sock, &r);
	if (ret < 0) {
		/* No ingress qdisc without its filter: a kernel without matchall or police leaves nothing behind. */
		begin(&r, RTM_DELQDISC, 0, &tc, sizeof tc);
		(void)transact(sock, &r);
	}
	return ret;
}

int gv_net_police_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst)
{
	if (!valid_ifname(ifname) || rate == 0 || burst == 0)
		return -EINVAL;
	struct shaping_args args = {.ifname = ifname, .rate = rate, .burst = burst};
	return in_netns(netns_path, police_replace, &args);
}
