/*
 * libgovernor, private to netlink.c, netlink_write.c and netlink_tc.c (nothing here is exported from the
 * library): the rtnetlink request builder and the runner that enters a network namespace by file on a thread of
 * its own, which both the reads and the writes use.
 */
#ifndef GOVERNOR_NETLINK_REQUEST_H
#define GOVERNOR_NETLINK_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* One request under construction; `overflow` turns into -EMSGSIZE when it is sent. */
struct request {
	uint64_t storage[1024];
	size_t len;
	int overflow;
};

/* Starts a request of `type` (NLM_F_REQUEST | NLM_F_ACK | flags) with its fixed header. */
void nl_begin(struct request *r, uint16_t type, uint16_t flags, const void *fixed, size_t fixed_len);
/* Appends `len` bytes (aligned to 4), zeros for NULL; NULL when the request is full. */
void *nl_put(struct request *r, const void *data, size_t len);
void nl_attr(struct request *r, uint16_t type, const void *data, size_t len);
void nl_attr_string(struct request *r, uint16_t type, const char *value);
void nl_attr_u32(struct request *r, uint16_t type, uint32_t value);
/* A nested attribute: its length is set by nl_nest_end, from the offset nl_nest_begin returns. */
size_t nl_nest_begin(struct request *r, uint16_t type);
void nl_nest_end(struct request *r, size_t at);
/* Sends the request and waits for its ack: 0, or the kernel's -errno. */
int nl_transact(int sock, struct request *r);
struct nlmsghdr;
/*
 * Sends `len` bytes of message and reads the answers until NLMSG_DONE (0) or NLMSG_ERROR (its error: 0 for an
 * ack, else the kernel's -errno), passing every other message to each(message, arg) when each is not NULL.
 */
int nl_exchange(int sock, const void *message, size_t len, void (*each)(const struct nlmsghdr *, void *), void *arg);
/* A name the kernel would take for an interface: 1 to 15 bytes, none of them '/', ':' or whitespace. */
int nl_valid_ifname(const char *name);
/* The index of `name` in the calling thread's network namespace, or -ENODEV. */
int nl_index_of(const char *name);
/*
 * Runs work(sock, arg) with a fresh rtnetlink socket: on the calling thread for NULL or "" (the caller's
 * namespace), else on a short-lived thread that has entered the namespace of the file netns_path, where work
 * also opens any /proc/sys/net file it reads. The socket gives up waiting for an answer after 5 s.
 */
int nl_in_netns(const char *netns_path, int (*work)(int sock, const void *arg), const void *arg);

#endif
