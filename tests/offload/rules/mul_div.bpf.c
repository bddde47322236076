// Breaks "mul-div": division by a value known only at run time.
#include "rule_test.h"

SEC("xdp")
int mul_div(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	__u64 parts = first_byte(ctx) + 1;

	if (len / parts > 100)
		return XDP_DROP;
	return XDP_PASS;
}
