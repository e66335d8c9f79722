/*
 * libgovernor: the nftables ruleset generation over nfnetlink, one request and one answer, so that a
 * firewall in sync is known to be so without listing it. See nft.h.
 */
#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int gv_nft_generation(uint32_t *generation)
{
	if (!generation)
		return -EINVAL;
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (sock < 0)
		return -errno;
	struct timeval limit = {.tv_sec = 1, .tv_usec = 0};
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	struct {
		struct nlmsghdr header;
		struct nfgenmsg gen;
	} request;
	memset(&request, 0, sizeof request);
	request.header.nlmsg_len = sizeof request;
	request.header.nlmsg_type = (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN);
	request.header.nlmsg_flags = NLM_F_REQUEST;
	request.header.nlmsg_seq = 1;
	request.gen.nfgen_family = AF_UNSPEC;
	request.gen.version = NFNETLINK_V0;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int ret = -EPROTO;
	if (sendto(sock, &request, sizeof request, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
		ret = -errno;
		goto out;
	}
	uint64_t storage[1024 / sizeof(uint64_t)];
	ssize_t n;
	do
		n = recv(sock, storage, sizeof storage, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	size_t left = (size_t)n;
	for (const struct nlmsghdr *h = (const void *)storage; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
			const struct nlmsgerr *err = NLMSG_DATA(h);
			ret = err->error < 0 ? err->error : -EPROTO;
			break;
		}
		if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN))
			continue;
		size_t at = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
		while (at + sizeof(struct nlattr) <= h->nlmsg_len) {
			struct nlattr a;
			memcpy(&a, (const char *)h + at, sizeof a);
			if (a.nla_len < sizeof a || at + a.nla_len > h->nlmsg_len)
				break;
			if ((a.nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && a.nla_len >= sizeof a + sizeof(uint32_t)) {
				uint32_t id;
				memcpy(&id, (const char *)h + at + sizeof a, sizeof id);
				*generation = ntohl(id);
				ret = 0;
			}
			at += ((size_t)a.nla_len + 3) & ~(size_t)3;
		}
		break;
	}
out:
	close(sock);
	return ret;
}
