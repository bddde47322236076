// Breaks "atomic-init": bpf_map_update_elem writes a counter that another
// instruction adds to with a value not known to be zero.
#include "rule_test.h"

SEC("xdp")
int atomic_init(struct xdp_md *ctx)
{
	struct counter start = {};
	__u32 slot = 0;
	struct counter *c;

	start.packets = first_byte(ctx);
	bpf_map_update_elem(&counters, &slot, &start, BPF_ANY);
	c = bpf_map_lookup_elem(&counters, &slot);
	if (c)
		__sync_fetch_and_add(&c->packets, 1);
	return XDP_PASS;
}
