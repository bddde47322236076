// Breaks "verdict": XDP_REDIRECT, which the NFP turns into a drop.
#include "rule_test.h"

SEC("xdp")
int verdict(struct xdp_md *ctx)
{
	if (first_byte(ctx) == 7)
		return XDP_REDIRECT;
	return XDP_PASS;
}
