/*
 * libgovernor, what changed on the host since the last look (watch.c): the reconciler's resync skips a tenant in
 * sync that nothing has touched since its last full check. The conventions of governor.h hold.
 */
#ifndef GOVERNOR_WATCH_H
#define GOVERNOR_WATCH_H

#include "governor.h"

#include <stddef.h>
#include <stdint.h>

/* The kinds of what gv_watch_drain reports, each as a pair of int32: kind, value. */
enum gv_watch_kind {
	GV_WATCH_DIR = 1,      /* an inotify watch (value: its wd) saw a change, or was removed (the directory went) */
	GV_WATCH_LINK = 2,     /* rtnetlink in the caller's namespace: a link, address, route, qdisc, filter or netconf
				  change of the link of ifindex value */
	GV_WATCH_NSID = 3,     /* rtnetlink in another namespace, of id value in the caller's (its links, addresses,
				  routes, qdiscs, netconf) */
	GV_WATCH_PID = 4,      /* the process of pid value exited (its pidfd is closed) */
	GV_WATCH_MOUNTS = 5,   /* the caller's mount table changed (value 0) */
	GV_WATCH_OVERFLOW = 6, /* events were lost (a queue overflowed, or out was full): treat everything as changed */
};

/*
 * Opens a watcher: fds[0] an epoll fd, fds[1] an inotify fd, fds[2] an rtnetlink socket joined to the link,
 * address, route, tc and netconf groups with NETLINK_LISTEN_ALL_NSID (so it also hears every namespace the
 * caller's has given an id: a tenant's, once a veth end's peer has been listed), fds[3] /proc/self/mountinfo.
 * All non-blocking and close-on-exec; close each with gv_close. Nothing is read until gv_watch_drain.
 */
GV_API int gv_watch_open(int *fds);

/* Watches the directory path (its own files' writes, its entries made and removed, itself removed); returns the
 * wd, the same one for a directory already watched, or -errno. */
GV_API int gv_watch_dir(int inotify_fd, const char *path);

/* Watches the process pid's exit (a pidfd in the epoll fd); returns 0 or -errno (-ESRCH when it is gone). */
GV_API int gv_watch_pid(int epoll_fd, int pid);

/*
 * Reads everything pending, without waiting, as pairs of int32 (kind, value) into out (cap pairs), *used
 * pairs; when out is full the rest is read and dropped and a GV_WATCH_OVERFLOW pair ends out.
 */
GV_API int gv_watch_drain(const int *fds, int32_t *out, size_t cap, size_t *used);

#endif
