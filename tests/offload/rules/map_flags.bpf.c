// Breaks "map-flags": BPF_F_NO_PREALLOC.
#include "rule_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u32);
} sparse SEC(".maps");

SEC("xdp")
int map_flags(struct xdp_md *ctx)
{
	__u32 key = first_byte(ctx);

	if (bpf_map_lookup_elem(&sparse, &key))
		return XDP_DROP;
	return XDP_PASS;
}
