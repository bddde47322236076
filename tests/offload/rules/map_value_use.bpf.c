// Breaks "map-value-use": a counter that is also read.
#include "rule_test.h"

SEC("xdp")
int map_value_use(struct xdp_md *ctx)
{
	__u32 slot = first_byte(ctx) & 3;
	struct counter *c = bpf_map_lookup_elem(&counters, &slot);

	if (!c)
		return XDP_PASS;
	__sync_fetch_and_add(&c->packets, 1);
	if (c->packets > 1000)
		return XDP_DROP;
	return XDP_PASS;
}
