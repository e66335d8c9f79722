/*
 * libgovernor, a tenant's network read over rtnetlink (netlink.c). The conventions of governor.h hold.
 */
#ifndef GOVERNOR_NETLINK_H
#define GOVERNOR_NETLINK_H

#include "governor.h"

#include <stddef.h>

/*
 * Describes the links `ifnames` (`count`, at most 8) of a network namespace as text, one fact a line, into buf
 * (*used bytes, not NUL-terminated); a link that does not exist has no lines:
 *   disable_ipv6 <ifname> <0|1>
 *   link <ifindex> <ifname> <up|down>
 *   peer <ifindex> <the other end's ifindex> <nsid of the other end's namespace, -1 for this one>   (veth)
 *   addr <ifindex> <inet|inet6> <address>/<prefix>
 *   qdisc <ifindex> <kind> <root|ingress|other> <tbf rate in bytes/s, else 0>
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

#endif
