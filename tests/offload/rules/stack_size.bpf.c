// Breaks "stack-size": 320 bytes of stack, over the test table's 256
// (tests/offload/caps/test.caps; the NFP firmware's is 512, the kernel's too).
#include "rule_test.h"

SEC("xdp")
int stack_size(struct xdp_md *ctx)
{
	volatile __u64 words[40] = {};

	words[0] = first_byte(ctx);
	if (words[0] == words[39])
		return XDP_DROP;
	return XDP_PASS;
}
