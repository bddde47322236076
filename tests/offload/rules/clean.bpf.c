// Keeps every rule: a hash lookup with a stack key, counting by atomic add
// into a counter created zero, and a receive queue chosen.
#include "rule_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} blocked SEC(".maps");

SEC("xdp")
int clean(struct xdp_md *ctx)
{
	__u32 key = first_byte(ctx), slot = first_byte(ctx) & 3;
	struct counter zero = {};
	struct counter *c;

	bpf_map_update_elem(&counters, &slot, &zero, BPF_NOEXIST);
	ctx->rx_queue_index = slot;
	if (!bpf_map_lookup_elem(&blocked, &key))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&counters, &slot);
	if (c)
		__sync_fetch_and_add(&c->packets, 1);
	return XDP_DROP;
}
