// Breaks "map-type": an LRU hash.
#include "rule_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} recent SEC(".maps");

SEC("xdp")
int map_type(struct xdp_md *ctx)
{
	__u32 key = first_byte(ctx);

	if (bpf_map_lookup_elem(&recent, &key))
		return XDP_DROP;
	return XDP_PASS;
}
