/* See watch.h. */
#include "watch.h"
#include "netlink.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* What each epoll entry is: the top byte of its data; a pidfd also carries its fd and pid. */
enum { TAG_INOTIFY = 1, TAG_NETLINK = 2, TAG_MOUNTS = 3, TAG_PID = 4 };
#define TAG_SHIFT 56
#define FD_SHIFT 32

/* Room in the socket for the events of several minutes of a busy host: a lost event costs a full check. */
#define NETLINK_RCVBUF (32 * 1024 * 1024)

/*
 * Dropped in the kernel, before they take room in the socket: the TC-group echo of a qdisc get (a type
 * RTM_NEWQDISC of sequence 1, as other Governor builds and processes number them, or GV_NET_QDISC_GET_SEQ). A
 * host with other governors would otherwise queue thousands a pass. `tc` numbers its requests from time(NULL).
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ /* classic BPF loads big-endian; nlmsghdr is in host order */
#define AS_LOADED16(v) ((uint32_t)__builtin_bswap16((uint16_t)(v)))
#define AS_LOADED32(v) ((uint32_t)__builtin_bswap32((uint32_t)(v)))
#else
#define AS_LOADED16(v) ((uint32_t)(v))
#define AS_LOADED32(v) ((uint32_t)(v))
#endif
static struct sock_filter ECHO_FILTER[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AS_LOADED16(RTM_NEWQDISC), 0, 4),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_seq)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AS_LOADED32(1), 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AS_LOADED32(GV_NET_QDISC_GET_SEQ), 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0),
	BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
};

static const unsigned int GROUPS[] = { RTNLGRP_LINK,	     RTNLGRP_IPV4_IFADDR,  RTNLGRP_IPV6_IFADDR,
				       RTNLGRP_IPV4_ROUTE,   RTNLGRP_IPV6_ROUTE,   RTNLGRP_TC,
				       RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF };

static int add(int epfd, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int open_netlink(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	int size = NETLINK_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof GROUPS / sizeof GROUPS[0]; i++)
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &GROUPS[i], sizeof GROUPS[i]) < 0)
			goto fail;
	int on = 1;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &on, sizeof on) < 0)
		goto fail;
	struct sock_fprog filter = { .len = sizeof ECHO_FILTER / sizeof ECHO_FILTER[0], .filter = ECHO_FILTER };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) < 0)
		goto fail;
	return fd;
fail:;
	int err = errno;
	close(fd);
	return -err;
}

int gv_watch_open(int *fds)
{
	fds[0] = fds[1] = fds[2] = fds[3] = -1;
	int ret;
	if ((fds[0] = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail_errno;
	if ((fds[1] = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		goto fail_errno;
	if ((fds[2] = open_netlink()) < 0) {
		ret = fds[2];
		fds[2] = -1;
		goto fail;
	}
	if ((fds[3] = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0)
		goto fail_errno;
	if ((ret = add(fds[0], fds[1], EPOLLIN, (uint64_t)TAG_INOTIFY << TAG_SHIFT)) < 0 ||
	    (ret = add(fds[0], fds[2], EPOLLIN, (uint64_t)TAG_NETLINK << TAG_SHIFT)) < 0 ||
	    (ret = add(fds[0], fds[3], EPOLLPRI | EPOLLERR, (uint64_t)TAG_MOUNTS << TAG_SHIFT)) < 0)
		goto fail;
	return 0;
fail_errno:
	ret = -errno;
fail:
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = fds[2] = fds[3] = -1;
	return ret;
}

int gv_watch_dir(int inotify_fd, const char *path)
{
	int wd = inotify_add_watch(inotify_fd, path,
				   IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
					   IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
	return wd < 0 ? -errno : wd;
}

int gv_watch_pid(int epoll_fd, int pid)
{
	if (pid <= 0)
		return -EINVAL;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	uint64_t data = ((uint64_t)TAG_PID << TAG_SHIFT) | ((uint64_t)(uint32_t)fd << FD_SHIFT) | (uint32_t)pid;
	int ret = add(epoll_fd, fd, EPOLLIN, data);
	if (ret < 0)
		close(fd);
	return ret;
}

struct sink {
	int32_t *out;
	size_t cap;
	size_t used;
	int overflow;
};

static void put(struct sink *s, int32_t kind, int32_t value)
{
	if (kind == GV_WATCH_OVERFLOW) {
		s->overflow = 1;
		return;
	}
	/* The same pair as the last one is not repeated (a burst of events on one link). */
	if (s->used > 0 && s->out[2 * (s->used - 1)] == kind && s->out[2 * (s->used - 1) + 1] == value)
		return;
	if (s->used + 1 >= s->cap) { /* the last pair is kept for the overflow */
		s->overflow = 1;
		return;
	}
	s->out[2 * s->used] = kind;
	s->out[2 * s->used + 1] = value;
	s->used++;
}

static void drain_inotify(int fd, struct sink *s)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				put(s, GV_WATCH_OVERFLOW, 0);
			else
				put(s, GV_WATCH_DIR, ev->wd);
			p += sizeof *ev + ev->len;
		}
	}
}

/* The attribute after the fixed header of `fixed` bytes whose type is `type`, as an int32; 0 when absent. Sizes
 * kept unsigned (glibc's RTA_NEXT mixes int and unsigned, which -Wsign-conversion refuses). */
static int32_t int_attr(const struct nlmsghdr *h, size_t fixed, unsigned short type)
{
	size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(fixed);
	while (at + sizeof(struct rtattr) <= h->nlmsg_len) {
		const struct rtattr *a = (const struct rtattr *)(const void *)((const char *)h + at);
		if (a->rta_len < sizeof *a || at + a->rta_len > h->nlmsg_len)
			return 0;
		if (a->rta_type == type && a->rta_len >= RTA_LENGTH(sizeof(int32_t))) {
			int32_t v;
			memcpy(&v, RTA_DATA(a), sizeof v);
			return v;
		}
		at += RTA_ALIGN(a->rta_len);
	}
	return 0;
}

/* The ifindex a change names, or 0 when it names none. */
static int32_t ifindex_of(const struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))
			       ? ((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_index
			       : 0;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg))
			       ? (int32_t)((const struct ifaddrmsg *)NLMSG_DATA(h))->ifa_index
			       : 0;
	case RTM_NEWQDISC:
	case RTM_DELQDISC:
	case RTM_NEWTFILTER:
	case RTM_DELTFILTER:
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg)) ? ((const struct tcmsg *)NLMSG_DATA(h))->tcm_ifindex
									    : 0;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return int_attr(h, sizeof(struct rtmsg), RTA_OIF);
	case RTM_NEWNETCONF:
	case RTM_DELNETCONF:
		return int_attr(h, sizeof(struct netconfmsg), NETCONFA_IFINDEX);
	default:
		return 0;
	}
}

static void drain_netlink(int fd, struct sink *s)
{
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	char control[CMSG_SPACE(sizeof(int))];
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
		struct sockaddr_nl from;
		struct msghdr msg = { .msg_name = &from,
				      .msg_namelen = sizeof from,
				      .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = control,
				      .msg_controllen = sizeof control };
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* the kernel dropped events: the socket stays usable */
				put(s, GV_WATCH_OVERFLOW, 0);
				continue;
			}
			return;
		}
		if (msg.msg_flags & MSG_TRUNC)
			put(s, GV_WATCH_OVERFLOW, 0);
		int nsid = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
			    c->cmsg_len >= CMSG_LEN(sizeof(int)))
				memcpy(&nsid, CMSG_DATA(c), sizeof nsid);
		size_t left = (size_t)n;
		for (const char *p = buf; left >= NLMSG_HDRLEN;) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)p;
			if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left)
				break;
			/* A qdisc get's answer, sent to the TC group too (netlink.h), is not a change. */
			int echo = h->nlmsg_type == RTM_NEWQDISC && h->nlmsg_seq == GV_NET_QDISC_GET_SEQ;
			if (!echo && nsid >= 0)
				put(s, GV_WATCH_NSID, nsid);
			else if (!echo && ifindex_of(h) > 0)
				put(s, GV_WATCH_LINK, ifindex_of(h));
			size_t step = NLMSG_ALIGN(h->nlmsg_len);
			if (step >= left)
				break;
			p += step;
			left -= step;
		}
	}
}

int gv_watch_drain(const int *fds, int32_t *out, size_t cap, size_t *used)
{
	struct sink s = { .out = out, .cap = cap, .used = 0, .overflow = 0 };
	struct epoll_event events[64];
	*used = 0;
	if (cap < 1)
		return -EINVAL;
	for (;;) {
		int n = epoll_wait(fds[0], events, 64, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		int pending = 0;
		for (int i = 0; i < n; i++) {
			uint64_t data = events[i].data.u64;
			switch ((int)(data >> TAG_SHIFT)) {
			case TAG_INOTIFY:
				drain_inotify(fds[1], &s);
				break;
			case TAG_NETLINK:
				drain_netlink(fds[2], &s);
				break;
			case TAG_MOUNTS:
				/* The poll that reported it has taken it in; the table is read by the caller. */
				put(&s, GV_WATCH_MOUNTS, 0);
				break;
			case TAG_PID: {
				int fd = (int)((data >> FD_SHIFT) & 0xffffff);
				put(&s, GV_WATCH_PID, (int32_t)(uint32_t)data);
				(void)epoll_ctl(fds[0], EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				pending = 1; /* another round: more may be ready than one epoll_wait returned */
				break;
			}
			default:
				break;
			}
		}
		if (n < 64 && !pending)
			break;
	}
	if (s.overflow) {
		out[2 * s.used] = GV_WATCH_OVERFLOW;
		out[2 * s.used + 1] = 0;
		s.used++;
	}
	*used = s.used;
	return 0;
}
