// Breaks "map-write": a plain store into a map value.
#include "rule_test.h"

SEC("xdp")
int map_write(struct xdp_md *ctx)
{
	__u32 slot = first_byte(ctx) & 3;
	struct counter *c = bpf_map_lookup_elem(&counters, &slot);

	if (c)
		c->bytes = ctx->data_end - ctx->data;
	return XDP_PASS;
}
