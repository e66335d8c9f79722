/*
 * libgovernor, a tenant's network read over rtnetlink (netlink.c). The conventions of governor.h hold.
 */
#ifndef GOVERNOR_NETLINK_H
#define GOVERNOR_NETLINK_H

#include "governor.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The sequence number of gv_net_observe's qdisc gets. The kernel sends a qdisc get's answer to every listener of
 * the TC group too (qdisc_notify), as if the qdisc had changed: the host watch (watch.h) knows it by this number
 * and does not take it for a change. 0xF7765100 is no time(NULL) of this century, which is what tc numbers from.
 */
#define GV_NET_QDISC_GET_SEQ 0xF7765100u

/*
 * Describes the links `ifnames` (`count`, at most 8) of a network namespace as text, one fact a line, into buf
 * (*used bytes, not NUL-terminated); a link that does not exist has no lines:
 *   disable_ipv6 <ifname> <0|1>
 *   link <ifindex> <ifname> <up|down>
 *   peer <ifindex> <the other end's ifindex> <nsid of the other end's namespace, -1 for this one>   (veth)
 *   addr <ifindex> <inet|inet6> <address>/<prefix>
 *   qdisc <ifindex> <kind> <root|ingress|other> <tbf rate in bytes/s, else 0>
 *   police <ifindex> <rate in bytes/s>   (the first police action of a matchall filter on the ingress qdisc)
 *   route <inet|inet6> default <gateway>   (main table; only for a tenant's namespace, not the caller's)
 * Each link is asked for by name, so the cost does not grow with the number of links on the host.
 * netns_path is a namespace file (a bind mount of /proc/<pid>/ns/net), or NULL or "" for the caller's own.
 * A tenant's namespace is entered by a short-lived thread of its own, which opens the netlink socket and the
 * /proc/sys files there and ends: no process is started and no other thread changes namespace. -EFBIG when
 * buf is too small (retry with a larger one).
 */
GV_API int gv_net_observe(const char *netns_path, const char *const *ifnames, size_t count, unsigned char *buf,
			  size_t cap, size_t *used);

/*
 * The id this network namespace (the caller's) gives the namespace of the file netns_path, as a veth end's
 * peer line names it: *nsid is -1 when it has given that namespace none, so no link here leads into it. A
 * link whose peer nsid differs leads into another namespace (an old one that a process keeps alive).
 */
GV_API int gv_net_nsid(const char *netns_path, int *nsid);

/*
 * Writes, over rtnetlink, in the network namespace of the file netns_path (a bind mount of /proc/<pid>/ns/net),
 * or in the caller's own for NULL or "". As gv_net_observe, a tenant's namespace is entered by a short-lived
 * thread of its own that ends after the call: no process is started and no other thread changes namespace.
 * Interface names are 1 to 15 bytes without '/', ':' or whitespace (else -EINVAL). The kernel's -errno is
 * returned as is: -EEXIST for a link that exists, -ENODEV for a link that does not.
 */

/* Creates the veth pair `ifname` (in netns_path's namespace) and `peer_name`, made directly in the namespace of
 * the file peer_netns_path (IFLA_NET_NS_FD), or beside it for NULL or "". Both ends start down. */
GV_API int gv_net_veth_create(const char *netns_path, const char *ifname, const char *peer_name,
			      const char *peer_netns_path);

/* Deletes a link (a veth's other end goes with it); -ENODEV when there is none. */
GV_API int gv_net_link_delete(const char *netns_path, const char *ifname);

/*
 * Deletes the links `ifnames` (`count`, 1 to GV_NET_LINKS_DELETE_MAX) in one kernel batch: each is moved into a
 * scratch interface group, and the group is deleted with one RTM_DELLINK, so that the kernel's wait for RCU is
 * paid once for all of them instead of once a link. results[i] is 0 when link i was deleted, -ENODEV when there
 * was none, or the kernel's -errno for it. The call itself fails only for a bad argument or a socket it cannot
 * open.
 */
#define GV_NET_LINKS_DELETE_MAX 1024
GV_API int gv_net_links_delete(const char *netns_path, const char *const *ifnames, size_t count, int *results);

/* Sets a link up. */
GV_API int gv_net_link_up(const char *netns_path, const char *ifname);

/* Adds `address`/`prefix` (IPv4 or IPv6 text) to a link, or replaces it; `nodad` skips IPv6 duplicate address
 * detection (IFA_F_NODAD). */
GV_API int gv_net_address_replace(const char *netns_path, const char *ifname, const char *address, unsigned int prefix,
				  int nodad);

/* Adds or replaces the main table's default route of the gateway's family: via `gateway`, out of `ifname`. */
GV_API int gv_net_route_replace_default(const char *netns_path, const char *ifname, const char *gateway);

/* Reads /proc/sys/net/<key> (say "ipv6/conf/eth0/disable_ipv6") in that namespace and writes `value` only
 * when the file holds something else; *changed tells whether it wrote. A key with ".." is -EINVAL. */
GV_API int gv_net_sysctl_ensure(const char *netns_path, const char *key, const char *value, int *changed);

/*
 * Applies `count` (at most 64) steps in order in one namespace, on one socket and, for a tenant's namespace, one
 * entering thread, stopping at the first that fails: *failed_at is its index (count when all succeeded). Steps:
 *   up <ifname>                               as gv_net_link_up
 *   addr <ifname> <address>/<prefix> [nodad]  as gv_net_address_replace
 *   route <ifname> <gateway>                  as gv_net_route_replace_default
 *   sysctl <key under /proc/sys/net> <value>  as gv_net_sysctl_ensure (written only when it differs)
 * A step that does not parse is -EINVAL.
 */
GV_API int gv_net_apply(const char *netns_path, const char *const *steps, size_t count, size_t *failed_at);

/* Makes (or replaces) the root qdisc of `ifname` a tbf of `rate` bytes/s with a bucket of `burst` bytes and a
 * queue of `latency_us` worth of the rate, as tc's "tbf rate R burst B latency L". */
GV_API int gv_net_tbf_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst,
			      uint32_t latency_us);

/* Deletes the root qdisc (ingress 0) or the ingress qdisc (ingress 1) and so its filters; the kernel answers
 * -ENOENT (or -EINVAL for a builtin root) when there is none. */
GV_API int gv_net_qdisc_delete(const char *netns_path, const char *ifname, int ingress);

/* Replaces the ingress qdisc of `ifname` by a fresh one with one matchall filter (priority 1, every protocol)
 * whose police action drops what exceeds `rate` bytes/s with a bucket of `burst` bytes, as tc's "police rate R
 * burst B drop". */
GV_API int gv_net_police_replace(const char *netns_path, const char *ifname, uint64_t rate, uint32_t burst);

#endif
