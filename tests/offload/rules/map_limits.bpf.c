// Breaks "map-limits": 3,000,000 entries, over the firmware's 2,048,000
// for all maps together.
#include "rule_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 3000000);
	__type(key, __u32);
	__type(value, __u32);
} huge SEC(".maps");

SEC("xdp")
int map_limits(struct xdp_md *ctx)
{
	__u32 key = first_byte(ctx);

	if (bpf_map_lookup_elem(&huge, &key))
		return XDP_DROP;
	return XDP_PASS;
}
