// Breaks "global-data": a const volatile (.rodata) setting.
#include "rule_test.h"

const volatile __u32 threshold = 100;

SEC("xdp")
int global_data(struct xdp_md *ctx)
{
	if (first_byte(ctx) > threshold)
		return XDP_DROP;
	return XDP_PASS;
}
