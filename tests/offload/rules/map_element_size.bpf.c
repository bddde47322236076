// Breaks "map-element-size": 8-byte key + 64-byte value = 72 > 64 bytes.
#include "rule_test.h"

struct wide {
	__u32 words[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, struct wide);
} wide_map SEC(".maps");

SEC("xdp")
int map_element_size(struct xdp_md *ctx)
{
	__u64 key = ctx->ingress_ifindex;
	struct wide *w = bpf_map_lookup_elem(&wide_map, &key);

	if (w && w->words[3] == 1)
		return XDP_DROP;
	return XDP_PASS;
}
