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

#endif
