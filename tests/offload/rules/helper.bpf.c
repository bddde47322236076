// Breaks "helper": bpf_ktime_get_ns() is not on the NFP's list.
#include "rule_test.h"

SEC("xdp")
int helper(struct xdp_md *ctx)
{
	(void)ctx;
	if (bpf_ktime_get_ns() & 1)
		return XDP_DROP;
	return XDP_PASS;
}
