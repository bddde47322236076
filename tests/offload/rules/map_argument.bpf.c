// Breaks "map-argument": the lookup key points into the packet.
#include "rule_test.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} blocked SEC(".maps");

SEC("xdp")
int map_argument(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + 4 > end)
		return XDP_PASS;
	if (bpf_map_lookup_elem(&blocked, data))
		return XDP_DROP;
	return XDP_PASS;
}
