/*
 * libgovernor, the rtnetlink requests of netlink_write.c and netlink_tc.c: building a message with nested
 * attributes, sending it and waiting for its ack, and running the work in a network namespace by file.
 */
#include "netlink_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* One request under construction; `overflow` turns into -EMSGSIZE when it is sent. */

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
void *nl_put(struct request *r, const void *data, size_t len)
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

void nl_begin(struct request *r, uint16_t type, uint16_t flags, const void *fixed, size_t fixed_len)
{
	memset(r->storage, 0, sizeof(struct nlmsghdr));
	r->len = NLMSG_HDRLEN;
	r->overflow = 0;
	header_of(r)->nlmsg_type = type;
	header_of(r)->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	header_of(r)->nlmsg_seq = 1;
	nl_put(r, fixed, fixed_len);
}

void nl_attr(struct request *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr header = {.rta_len = (unsigned short)(sizeof header + len), .rta_type = type};
	unsigned char *at = nl_put(r, &header, sizeof header);
	if (at && !nl_put(r, data, len))
		r->len -= align4(sizeof header);
}

void nl_attr_string(struct request *r, uint16_t type, const char *value)
{
	nl_attr(r, type, value, strlen(value) + 1);
}

void nl_attr_u32(struct request *r, uint16_t type, uint32_t value)
{
	nl_attr(r, type, &value, sizeof value);
}

/* A nested attribute: its length is set by nest_end, from the offset nest_begin returns. */
size_t nl_nest_begin(struct request *r, uint16_t type)
{
	size_t at = r->len;
	struct rtattr header = {.rta_len = sizeof header, .rta_type = type};
	nl_put(r, &header, sizeof header);
	return at;
}

void nl_nest_end(struct request *r, size_t at)
{
	if (r->overflow)
		return;
	struct rtattr *header = (struct rtattr *)(void *)(bytes_of(r) + at);
	header->rta_len = (unsigned short)(r->len - at);
}

int nl_exchange(int sock, const void *message, size_t len, void (*each)(const struct nlmsghdr *, void *), void *arg)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(sock, message, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		return -errno;
	/* Room for a dump's batch of messages; aligned for the nlmsghdr casts below. */
	uint64_t reply[32768 / sizeof(uint64_t)];
	for (;;) {
		ssize_t n = recv(sock, reply, sizeof reply, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		size_t left = (size_t)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)reply;
		     left >= sizeof *h && h->nlmsg_len >= sizeof *h && h->nlmsg_len <= left;) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr))
				return ((const struct nlmsgerr *)(const void *)((const char *)h + NLMSG_HDRLEN))->error;
			if (each)
				each(h, arg);
			size_t step = align4(h->nlmsg_len);
			left = step >= left ? 0 : left - step;
			h = (const struct nlmsghdr *)(const void *)((const char *)h + step);
		}
	}
}

/* Sends the request and waits for its ack: 0, or the kernel's -errno. */
int nl_transact(int sock, struct request *r)
{
	if (r->overflow)
		return -EMSGSIZE;
	header_of(r)->nlmsg_len = (uint32_t)r->len;
	return nl_exchange(sock, r->storage, r->len, NULL, NULL);
}

static int open_route_socket(void)
{
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (sock < 0)
		return -errno;
	/*
	 * The kernel always answers; should it not, a worker thread waits 5 s, not for ever. One limit for reads
	 * and writes: a read can wait behind the rtnl lock as long as a write, when many tenants are made or
	 * removed at once on a loaded host.
	 */
	struct timeval limit = {.tv_sec = 5, .tv_usec = 0};
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	return sock;
}

/* A name the kernel would take for an interface: 1 to 15 bytes, none of them '/', ':' or whitespace. */
int nl_valid_ifname(const char *name)
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
int nl_index_of(const char *name)
{
	unsigned int index = if_nametoindex(name);
	if (index == 0)
		return errno == ENXIO || errno == ENODEV ? -ENODEV : -errno;
	return (int)index;
}

/*
 * What each call does, run by nl_in_netns on the calling thread (the caller's namespace) or on a short-lived
 * thread that has entered the tenant's: setns(2) moves only that thread, which ends right after, so no thread
 * that runs JavaScript or serves another koffi call ever changes namespace. The socket and the /proc/sys files
 * keep the namespace they were opened in.
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

int nl_in_netns(const char *netns_path, int (*work)(int, const void *), const void *arg)
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

