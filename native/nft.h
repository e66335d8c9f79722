#ifndef GOVERNOR_NFT_H
#define GOVERNOR_NFT_H

#include <stdint.h>

#include "governor.h"

/*
 * The nftables ruleset generation of this network namespace (NFT_MSG_GETGEN): the kernel bumps it with every
 * committed nftables transaction, of any table. A generation unchanged since a listing means every table is
 * as that listing saw it. 0 and *generation set, or -errno.
 */
GV_API int gv_nft_generation(uint32_t *generation);

#endif
