/*
 * libgovernor, reading a tenant's network without starting a process: links, addresses, default routes and
 * root qdiscs over rtnetlink, and per-interface IPv6 switches from /proc/sys, in the host's network namespace
 * or in a tenant's (by its bind-mounted file). See netlink.h for the contract and the output format.
 */
#include "netlink.h"
#include "netlink_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* What the output is written into; a full buffer turns into -EFBIG at the end (the caller retries larger). */
struct out {
	char *buf;
	size_t cap, used;
	int full;
};

__attribute__((format(printf, 2, 3))) static void emit(struct out *out, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	size_t room = out->cap - out->used;
	int n = vsnprintf(out->buf + out->used, room, format, args);
	va_end(args);
	if (n < 0 || (size_t)n >= room)
		out->full = 1;
	else
		out->used += (size_t)n;
}

static int read_switch(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char c = 0;
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n == 1 && (c == '0' || c == '1') ? c - '0' : -EIO;
}

/*
 * The attribute walk of rtnetlink(7), with sizes kept unsigned: glibc's RTA_NEXT and NLMSG_NEXT mix int and
 * unsigned, which -Wsign-conversion refuses.
 */
static size_t align4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

static int attr_ok(const struct rtattr *a, size_t left)
{
	return left >= sizeof *a && a->rta_len >= sizeof *a && a->rta_len <= left;
}

static const struct rtattr *attr_next(const struct rtattr *a, size_t *left)
{
	size_t step = align4(a->rta_len);
	*left = step >= *left ? 0 : *left - step;
	return (const struct rtattr *)(const void *)((const char *)a + step);
}

/* The attributes after a message's fixed header of `fixed` bytes, and how many bytes they span. */
static const struct rtattr *attrs_of(const struct nlmsghdr *h, size_t fixed, size_t *left)
{
	size_t start = NLMSG_HDRLEN + align4(fixed);
	*left = h->nlmsg_len > start ? h->nlmsg_len - start : 0;
	return (const struct rtattr *)(const void *)((const char *)h + start);
}

static const void *attr_data(const struct rtattr *a)
{
	return (const char *)a + align4(sizeof *a);
}

static size_t attr_payload(const struct rtattr *a)
{
	return a->rta_len - align4(sizeof *a);
}

/* What talk hands nl_exchange: the answer callback of this file, with its output and context. */
struct talk_answers {
	void (*each)(const struct nlmsghdr *, struct out *, const void *);
	struct out *out;
	const void *ctx;
};

static void each_answer(const struct nlmsghdr *h, void *arg)
{
	const struct talk_answers *answers = arg;
	answers->each(h, answers->out, answers->ctx);
}

/*
 * Sends one request and calls `each` for every answer, until NLMSG_DONE for a dump or the ack (an NLMSG_ERROR
 * of 0) for a get. `ifname`, when given, goes along as IFLA_IFNAME (a link asked for by name).
 */
static int talk(int sock, uint16_t type, uint16_t flags, const void *body, size_t body_len, const char *ifname,
		struct out *out, void (*each)(const struct nlmsghdr *, struct out *, const void *), const void *ctx)
{
	struct {
		struct nlmsghdr header;
		unsigned char body[64 + IFNAMSIZ + 8];
	} request;
	memset(&request, 0, sizeof request);
	size_t len = align4(body_len);
	memcpy(request.body, body, body_len);
	if (ifname) {
		size_t name_len = strnlen(ifname, IFNAMSIZ - 1) + 1;
		struct rtattr attr = {.rta_len = (unsigned short)(sizeof attr + name_len), .rta_type = IFLA_IFNAME};
		memcpy(request.body + len, &attr, sizeof attr);
		memcpy(request.body + len + sizeof attr, ifname, name_len - 1);
		len += align4(attr.rta_len);
	}
	request.header.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len);
	request.header.nlmsg_type = type;
	/* A get is acked too: some gets (a builtin qdisc such as noqueue) answer nothing but the ack. */
	request.header.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags | ((flags & NLM_F_DUMP) ? 0 : NLM_F_ACK));
	request.header.nlmsg_seq = type == RTM_GETQDISC ? GV_NET_QDISC_GET_SEQ : 1;
	struct talk_answers answers = {.each = each, .out = out, .ctx = ctx};
	return nl_exchange(sock, &request, request.header.nlmsg_len, each_answer, &answers);
}

static void each_link(const struct nlmsghdr *h, struct out *out, const void *ctx)
{
	if (h->nlmsg_type != RTM_NEWLINK)
		return;
	const struct ifinfomsg *ifi = (const void *)((const char *)h + NLMSG_HDRLEN);
	*(int *)(uintptr_t)ctx = ifi->ifi_index;
	size_t len;
	int peer = 0, peer_nsid = -1;
	for (const struct rtattr *a = attrs_of(h, sizeof *ifi, &len); attr_ok(a, len); a = attr_next(a, &len)) {
		if (a->rta_type == IFLA_IFNAME)
			emit(out, "link %d %.*s %s\n", ifi->ifi_index, (int)strnlen(attr_data(a), attr_payload(a)),
			     (const char *)attr_data(a), (ifi->ifi_flags & IFF_UP) ? "up" : "down");
		else if (a->rta_type == IFLA_LINK && attr_payload(a) >= sizeof(int))
			memcpy(&peer, attr_data(a), sizeof peer);
		else if (a->rta_type == IFLA_LINK_NETNSID && attr_payload(a) >= sizeof(int))
			memcpy(&peer_nsid, attr_data(a), sizeof peer_nsid);
	}
	/* A veth's other end: its index, in the namespace the id names (-1: this one). */
	if (peer != 0)
		emit(out, "peer %d %d %d\n", ifi->ifi_index, peer, peer_nsid);
}

static void each_nsid(const struct nlmsghdr *h, struct out *out, const void *ctx)
{
	(void)out;
	if (h->nlmsg_type != RTM_NEWNSID)
		return;
	size_t len;
	for (const struct rtattr *a = attrs_of(h, sizeof(struct rtgenmsg), &len); attr_ok(a, len); a = attr_next(a, &len)) {
		if (a->rta_type == NETNSA_NSID && attr_payload(a) >= sizeof(int))
			memcpy((int *)(uintptr_t)ctx, attr_data(a), sizeof(int));
	}
}

struct nsid_args {
	int ns;
	int *found;
};

static int nsid_of(int sock, const void *arg)
{
	const struct nsid_args *a = arg;
	struct {
		struct rtgenmsg gen;
		unsigned char pad[3];
		struct rtattr attr;
		uint32_t fd;
	} body;
	memset(&body, 0, sizeof body);
	body.gen.rtgen_family = AF_UNSPEC;
	body.attr.rta_len = (unsigned short)(sizeof body.attr + sizeof body.fd);
	body.attr.rta_type = NETNSA_FD;
	body.fd = (uint32_t)a->ns;
	struct out none = {.buf = NULL, .cap = 0, .used = 0, .full = 0};
	return talk(sock, RTM_GETNSID, 0, &body, sizeof body, NULL, &none, each_nsid, a->found);
}

int gv_net_nsid(const char *netns_path, int *nsid)
{
	if (!netns_path || !*netns_path || !nsid)
		return -EINVAL;
	*nsid = -1;
	int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	int found = -1;
	struct nsid_args args = {.ns = ns, .found = &found};
	/* Asked in the caller's own namespace: the id is the one this namespace gives the other. */
	int ret = nl_in_netns(NULL, nsid_of, &args);
	close(ns);
	if (ret < 0)
		return ret;
	*nsid = found;
	return 0;
}

static void each_address(const struct nlmsghdr *h, struct out *out, const void *ctx)
{
	if (h->nlmsg_type != RTM_NEWADDR)
		return;
	const struct ifaddrmsg *ifa = (const void *)((const char *)h + NLMSG_HDRLEN);
	/* Kernels without strict dump filtering send every address; only the asked link's count. */
	if ((int)ifa->ifa_index != *(const int *)ctx)
		return;
	size_t len;
	const void *local = NULL, *address = NULL;
	for (const struct rtattr *a = attrs_of(h, sizeof *ifa, &len); attr_ok(a, len); a = attr_next(a, &len)) {
		if (a->rta_type == IFA_LOCAL)
			local = attr_data(a);
		else if (a->rta_type == IFA_ADDRESS)
			address = attr_data(a);
	}
	/* On a point-to-point link IFA_ADDRESS is the peer; IFA_LOCAL is this end. IPv6 has only IFA_ADDRESS. */
	const void *mine = local ? local : address;
	char text[INET6_ADDRSTRLEN];
	if (mine && inet_ntop(ifa->ifa_family, mine, text, sizeof text))
		emit(out, "addr %u %s %s/%u\n", ifa->ifa_index, ifa->ifa_family == AF_INET6 ? "inet6" : "inet", text,
		     ifa->ifa_prefixlen);
}

static void each_route(const struct nlmsghdr *h, struct out *out, const void *ctx)
{
	(void)ctx;
	if (h->nlmsg_type != RTM_NEWROUTE)
		return;
	const struct rtmsg *rt = (const void *)((const char *)h + NLMSG_HDRLEN);
	if (rt->rtm_dst_len != 0 || rt->rtm_table != RT_TABLE_MAIN)
		return;
	size_t len;
	for (const struct rtattr *a = attrs_of(h, sizeof *rt, &len); attr_ok(a, len); a = attr_next(a, &len)) {
		char text[INET6_ADDRSTRLEN];
		if (a->rta_type == RTA_GATEWAY && inet_ntop(rt->rtm_family, attr_data(a), text, sizeof text))
			emit(out, "route %s default %s\n", rt->rtm_family == AF_INET6 ? "inet6" : "inet", text);
	}
}

static void each_qdisc(const struct nlmsghdr *h, struct out *out, const void *ctx)
{
	if (h->nlmsg_type != RTM_NEWQDISC)
		return;
	const struct tcmsg *tc = (const void *)((const char *)h + NLMSG_HDRLEN);
	if (tc->tcm_parent == TC_H_INGRESS)
		*(int *)(uintptr_t)ctx = 1;
	size_t len;
	char kind[IFNAMSIZ] = "";
	uint64_t rate = 0;
	for (const struct rtattr *a = attrs_of(h, sizeof *tc, &len); attr_ok(a, len); a = attr_next(a, &len)) {
		if (a->rta_type == TCA_KIND)
			snprintf(kind, sizeof kind, "%.*s", (int)strnlen(attr_data(a), attr_payload(a)), (const char *)attr_data(a));
		else if (a->rta_type == TCA_OPTIONS) {
			size_t inner = attr_payload(a);
			for (const struct rtattr *o = attr_data(a); attr_ok(o, inner); o = attr_next(o, &inner)) {
				/* tbf's rate in bytes per second: the 32-bit field, or TCA_TBF_RATE64 beyond it. */
				if (o->rta_type == TCA_TBF_PARMS && attr_payload(o) >= sizeof(struct tc_tbf_qopt) && rate == 0) {
					struct tc_tbf_qopt qopt;
					memcpy(&qopt, attr_data(o), sizeof qopt);
					rate = qopt.rate.rate;
				} else if (o->rta_type == TCA_TBF_RATE64 && attr_payload(o) >= sizeof(uint64_t))
					memcpy(&rate, attr_data(o), sizeof rate);
			}
		}
	}
	if (*kind)
		emit(out, "qdisc %d %s %s %llu\n", tc->tcm_ifindex, kind,
		     tc->tcm_parent == TC_H_ROOT ? "root" : tc->tcm_parent == TC_H_INGRESS ? "ingress" : "other",
		     (unsigned long long)rate);
}

/* The rate of a police action (TCA_ACT_OPTIONS of "police"): the 32-bit field, or TCA_POLICE_RATE64 beyond it. */
static uint64_t police_rate(const struct rtattr *options)
{
	uint64_t rate = 0, rate64 = 0;
	size_t len = attr_payload(options);
	for (const struct rtattr *a = attr_data(options); attr_ok(a, len); a = attr_next(a, &len)) {
		if (a->rta_type == TCA_POLICE_TBF && attr_payload(a) >= sizeof(struct tc_police)) {
			struct tc_police police;
			memcpy(&police, attr_data(a), sizeof police);
			rate = police.rate.rate;
		} else if (a->rta_type == TCA_POLICE_RATE64 && attr_payload(a) >= sizeof(uint64_t))
			memcpy(&rate64, attr_data(a), sizeof rate64);
	}
	return rate64 ? rate64 : rate;
}

/* A matchall filter on the ingress qdisc, and the rate of its first police action. */
static void each_filter(const struct nlmsghdr *h, struct out *out, const void *ctx)
{
	(void)ctx;
	if (h->nlmsg_type != RTM_NEWTFILTER)
		return;
	const struct tcmsg *tc = (const void *)((const char *)h + NLMSG_HDRLEN);
	size_t len;
	int matchall = 0;
	const struct rtattr *options = NULL;
	for (const struct rtattr *a = attrs_of(h, sizeof *tc, &len); attr_ok(a, len); a = attr_next(a, &len)) {
		if (a->rta_type == TCA_KIND)
			matchall = strncmp(attr_data(a), "matchall", attr_payload(a)) == 0;
		else if (a->rta_type == TCA_OPTIONS)
			options = a;
	}
	if (!matchall || !options)
		return;
	size_t left = attr_payload(options);
	for (const struct rtattr *o = attr_data(options); attr_ok(o, left); o = attr_next(o, &left)) {
		if (o->rta_type != TCA_MATCHALL_ACT)
			continue;
		size_t actions = attr_payload(o);
		for (const struct rtattr *act = attr_data(o); attr_ok(act, actions); act = attr_next(act, &actions)) {
			size_t inner = attr_payload(act);
			int police = 0;
			const struct rtattr *act_options = NULL;
			for (const struct rtattr *x = attr_data(act); attr_ok(x, inner); x = attr_next(x, &inner)) {
				if (x->rta_type == TCA_ACT_KIND)
					police = strncmp(attr_data(x), "police", attr_payload(x)) == 0;
				else if (x->rta_type == TCA_ACT_OPTIONS)
					act_options = x;
			}
			if (police && act_options) {
				emit(out, "police %d %llu\n", tc->tcm_ifindex, (unsigned long long)police_rate(act_options));
				return;
			}
		}
	}
}

struct observe_args {
	const char *const *ifnames;
	size_t count;
	/* routes are listed only inside a tenant's namespace, which holds a handful; the host's table can be long */
	int routes;
	struct out *out;
};

/* Runs where nl_in_netns put it: the /proc/sys files and the socket show that thread's namespace. */
static int observe(int sock, const void *arg)
{
	const struct observe_args *a = arg;
	struct out *out = a->out;
	for (size_t i = 0; i < a->count; i++) {
		int disabled = read_switch(a->ifnames[i]);
		if (disabled >= 0)
			emit(out, "disable_ipv6 %s %d\n", a->ifnames[i], disabled);
	}
	/* Lets the kernel filter address dumps by link (4.20+), instead of sending every address of the host. */
	int strict = 1;
	(void)setsockopt(sock, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &strict, sizeof strict);
	int ret = 0;
	for (size_t i = 0; i < a->count && ret == 0; i++) {
		int index = 0;
		struct ifinfomsg link = {.ifi_family = AF_UNSPEC};
		ret = talk(sock, RTM_GETLINK, 0, &link, sizeof link, a->ifnames[i], out, each_link, &index);
		if (ret == -ENODEV) {
			ret = 0;
			continue;
		}
		if (ret < 0 || index == 0)
			break;
		struct ifaddrmsg addr = {.ifa_family = AF_UNSPEC, .ifa_index = (unsigned int)index};
		ret = talk(sock, RTM_GETADDR, NLM_F_DUMP, &addr, sizeof addr, NULL, out, each_address, &index);
		/* A link's root and ingress qdiscs asked for by parent; one it does not have is an error to skip. */
		const uint32_t parents[] = {TC_H_ROOT, TC_H_INGRESS};
		int ingress = 0;
		for (size_t p = 0; p < 2 && ret == 0; p++) {
			struct tcmsg qdisc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_parent = parents[p]};
			/* The kernel sends a qdisc get's answer to the TC group, and to the asker only with NLM_F_ECHO. */
			int got = talk(sock, RTM_GETQDISC, NLM_F_ECHO, &qdisc, sizeof qdisc, NULL, out, each_qdisc, &ingress);
			if (got < 0 && got != -ENOENT && got != -EINVAL)
				ret = got;
		}
		/* The policing filter's rate, only on a link that has an ingress qdisc to hold it. */
		if (ret == 0 && ingress) {
			struct tcmsg filter = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0)};
			ret = talk(sock, RTM_GETTFILTER, NLM_F_DUMP, &filter, sizeof filter, NULL, out, each_filter, NULL);
		}
	}
	if (ret == 0 && a->routes) {
		struct rtmsg route4 = {.rtm_family = AF_INET};
		struct rtmsg route6 = {.rtm_family = AF_INET6};
		ret = talk(sock, RTM_GETROUTE, NLM_F_DUMP, &route4, sizeof route4, NULL, out, each_route, NULL);
		if (ret == 0)
			ret = talk(sock, RTM_GETROUTE, NLM_F_DUMP, &route6, sizeof route6, NULL, out, each_route, NULL);
	}
	return ret;
}

int gv_net_observe(const char *netns_path, const char *const *ifnames, size_t count, unsigned char *buf, size_t cap,
		   size_t *used)
{
	if (!ifnames || !used || (!buf && cap > 0) || count > 8)
		return -EINVAL;
	*used = 0;
	struct out out = {.buf = (char *)buf, .cap = cap, .used = 0, .full = 0};
	struct observe_args args = {.ifnames = ifnames, .count = count, .routes = netns_path && *netns_path, .out = &out};
	int ret = nl_in_netns(netns_path, observe, &args);
	if (ret < 0)
		return ret;
	*used = out.used;
	return out.full ? -EFBIG : 0;
}
