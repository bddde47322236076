// Breaks "program-size": 3,000 unrolled stores, past the NFP's ~2,800.
#include "rule_test.h"

SEC("xdp")
int program_size(struct xdp_md *ctx)
{
	volatile __u32 scratch = 0;

#pragma clang loop unroll(full)
	for (int i = 0; i < 3000; i++)
		scratch = i;
	if (scratch == first_byte(ctx))
		return XDP_DROP;
	return XDP_PASS;
}
