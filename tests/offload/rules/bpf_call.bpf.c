// Breaks "bpf-call": a function the compiler must not inline.
#include "rule_test.h"

static __attribute__((noinline)) int odd(__u32 x)
{
	return x & 1;
}

SEC("xdp")
int bpf_call(struct xdp_md *ctx)
{
	if (odd(first_byte(ctx)))
		return XDP_DROP;
	return XDP_PASS;
}
