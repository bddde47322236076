// Breaks "stack-consistency": one store reached with stack offsets that
// differ modulo 4.
#include "rule_test.h"

SEC("xdp")
int stack_consistency(struct xdp_md *ctx)
{
	volatile __u8 bytes[8] = {};
	volatile __u8 *p;

	if (first_byte(ctx) & 1)
		p = &bytes[1];
	else
		p = &bytes[2];
	*p = 1;
	if (bytes[1])
		return XDP_DROP;
	return XDP_PASS;
}
