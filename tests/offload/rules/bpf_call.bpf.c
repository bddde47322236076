// Breaks "bpf-call": a function the compiler must not inline.
#include "rule_test.h"

static __attribute__((noinline)) int odd(__u32 x)
{
	return x & 1;
}

SEC("xdp")
int bpf_call(struct xdp_md *ctx)
{
	if (odd(ctx->ingress_ifindex))
		return XDP_DROP;
	return XDP_PASS;
}
