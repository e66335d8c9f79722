/*
 * libgovernor, a tenant link's bandwidth without `tc`: the host end's tbf qdisc (RTM_NEWQDISC) and its ingress
 * qdisc with a matchall police filter (RTM_NEWTFILTER), over rtnetlink. See netlink.h for the contract.
 */
#include "netlink.h"
#include "netlink_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>

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
	int index = nl_index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_handle = 0, .tcm_parent = TC_H_ROOT};
	nl_begin(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, &tc, sizeof tc);
	nl_attr_string(&r, TCA_KIND, "tbf");
	size_t options = nl_nest_begin(&r, TCA_OPTIONS);
	struct tc_tbf_qopt qopt;
	memset(&qopt, 0, sizeof qopt);
	ratespec(&qopt.rate, a->rate);
	/* As tc's "latency": the queue holds what the rate drains in that time, plus one burst. */
	uint64_t limit = a->rate * a->latency_us / 1000000u + a->burst;
	qopt.limit = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	qopt.buffer = ticks_for(a->burst, a->rate);
	nl_attr(&r, TCA_TBF_PARMS, &qopt, sizeof qopt);
	nl_attr_u32(&r, TCA_TBF_BURST, a->burst);
	if (a->rate >= (1ull << 32))
		nl_attr(&r, TCA_TBF_RATE64, &a->rate, sizeof a->rate);
	nl_nest_end(&r, options);
	return nl_transact(sock, &r);
}

int gv_net_tbf_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst, uint32_t latency_us)
{
	if (!nl_valid_ifname(ifname) || rate == 0 || burst == 0)
		return -EINVAL;
	struct shaping_args args = {.ifname = ifname, .rate = rate, .burst = burst, .latency_us = latency_us};
	return nl_in_netns(netns_path, tbf_replace, &args);
}

static int qdisc_delete(int sock, const void *arg)
{
	const struct shaping_args *a = arg;
	int index = nl_index_of(a->ifname);
	if (index < 0)
		return index;
	struct request r;
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_parent = a->parent};
	nl_begin(&r, RTM_DELQDISC, 0, &tc, sizeof tc);
	return nl_transact(sock, &r);
}

int gv_net_qdisc_delete(const char *netns_path, const char *ifname, int ingress)
{
	if (!nl_valid_ifname(ifname))
		return -EINVAL;
	struct shaping_args args = {.ifname = ifname, .parent = ingress ? TC_H_INGRESS : TC_H_ROOT};
	return nl_in_netns(netns_path, qdisc_delete, &args);
}

static int police_replace(int sock, const void *arg)
{
	const struct shaping_args *a = arg;
	int index = nl_index_of(a->ifname);
	if (index < 0)
		return index;
	/* A fresh ingress qdisc: deleting the old one drops its filters with it. */
	struct request r;
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_parent = TC_H_INGRESS};
	nl_begin(&r, RTM_DELQDISC, 0, &tc, sizeof tc);
	int ret = nl_transact(sock, &r);
	if (ret < 0 && ret != -ENOENT && ret != -EINVAL)
		return ret;
	tc.tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	nl_begin(&r, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &tc, sizeof tc);
	nl_attr_string(&r, TCA_KIND, "ingress");
	ret = nl_transact(sock, &r);
	if (ret < 0)
		return ret;

	/* matchall, priority 1, every protocol, with one police action that drops what exceeds the rate. */
	struct tcmsg filter = {.tcm_family = AF_UNSPEC,
			       .tcm_ifindex = index,
			       .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
			       .tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL))};
	nl_begin(&r, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &filter, sizeof filter);
	nl_attr_string(&r, TCA_KIND, "matchall");
	size_t options = nl_nest_begin(&r, TCA_OPTIONS);
	size_t actions = nl_nest_begin(&r, TCA_MATCHALL_ACT);
	size_t first = nl_nest_begin(&r, 1);
	nl_attr_string(&r, TCA_ACT_KIND, "police");
	size_t police = nl_nest_begin(&r, TCA_ACT_OPTIONS);
	struct tc_police parms;
	memset(&parms, 0, sizeof parms);
	parms.action = TC_ACT_SHOT;
	ratespec(&parms.rate, a->rate);
	parms.burst = ticks_for(a->burst, a->rate);
	nl_attr(&r, TCA_POLICE_TBF, &parms, sizeof parms);
	/* act_police insists on a rate table (TCA_POLICE_RATE): each cell's transmit time, as tc_calc_rtable. */
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++)
		table[i] = ticks_for((uint64_t)(i + 1) << parms.rate.cell_log, a->rate);
	nl_attr(&r, TCA_POLICE_RATE, table, sizeof table);
	if (a->rate >= (1ull << 32))
		nl_attr(&r, TCA_POLICE_RATE64, &a->rate, sizeof a->rate);
	nl_nest_end(&r, police);
	nl_nest_end(&r, first);
	nl_nest_end(&r, actions);
	nl_nest_end(&r, options);
	ret = nl_transact(sock, &r);
	if (ret < 0) {
		/* No ingress qdisc without its filter: a kernel without matchall or police leaves nothing behind. */
		nl_begin(&r, RTM_DELQDISC, 0, &tc, sizeof tc);
		(void)nl_transact(sock, &r);
	}
	return ret;
}

int gv_net_police_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst)
{
	if (!nl_valid_ifname(ifname) || rate == 0 || burst == 0)
		return -EINVAL;
	struct shaping_args args = {.ifname = ifname, .rate = rate, .burst = burst};
	return nl_in_netns(netns_path, police_replace, &args);
}
