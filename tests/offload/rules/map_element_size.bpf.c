// Breaks "map-element-size": 16-byte key + 56-byte value = 72 > 64 bytes
// (each within the firmware's 56).
#include "rule_test.h"

struct wide_key {
	__u64 a, b;
};

struct wide {
	__u32 words[14];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct wide_key);
	__type(value, struct wide);
} wide_map SEC(".maps");

SEC("xdp")
int map_element_size(struct xdp_md *ctx)
{
	struct wide_key key = {};
	struct wide *w;

	key.a = first_byte(ctx);
	w = bpf_map_lookup_elem(&wide_map, &key);

	if (w && w->words[3] == 1)
		return XDP_DROP;
	return XDP_PASS;
}
