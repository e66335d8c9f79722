/* gv_nft_generation (nft.c) in this process's network namespace. */
#include "nft.h"
#include "test/check.h"

#include <errno.h>
#include <stdint.h>

void test_nft(void)
{
	uint32_t generation = 0;
	EXPECT("reading the nftables generation succeeds", gv_nft_generation(&generation), 0);
	uint32_t again = 0;
	EXPECT("reading it again succeeds", gv_nft_generation(&again), 0);
	EXPECT_TRUE("the generation never goes back", again >= generation);
	EXPECT("no place for the answer is EINVAL", gv_nft_generation(NULL), -EINVAL);
}
