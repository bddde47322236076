// Breaks "stack-offset": a stack array indexed by packet metadata.
#include "rule_test.h"

SEC("xdp")
int stack_offset(struct xdp_md *ctx)
{
	volatile __u32 seen[4] = {};

	seen[first_byte(ctx) & 3] = 1;
	if (seen[0])
		return XDP_DROP;
	return XDP_PASS;
}
