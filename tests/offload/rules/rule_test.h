/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the checker's test programs: each breaks exactly one NFP rule
 * (its file name) and keeps all the others, so the checker must name that
 * rule and nothing else. counters is an NFP-friendly map they may use.
 */
#ifndef OVX_RULE_TEST_H
#define OVX_RULE_TEST_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct counter);
} counters SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Something to decide on that the NFP can read: the first byte of the
 * packet (its context holds only data and data_end). */
static __always_inline __u32 first_byte(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + 1 > end)
		return 0;
	return data[0];
}

#endif
