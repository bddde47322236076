// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC ingress on the underlay interface: delivers the inner frames that
 * xdp_underlay decapsulated, to one local port or, for BUM frames, to every
 * local port of the segment. Never back to the underlay: split horizon.
 * Frames without ovx's XDP metadata are the host's own traffic and pass.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_flood.h"

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct ovx_xdp_meta *meta = (void *)(long)skb->data_meta;
	const struct ovx_segment *seg;
	struct ovx_seg_stats *st;
	__u32 segment, pending;

	if ((void *)(meta + 1) > data || meta->magic != OVX_META_MAGIC)
		return TC_ACT_OK;

	segment = meta->segment;
	if (meta->ifindex)
		return bpf_redirect(meta->ifindex, 0);

	seg = bpf_map_lookup_elem(&ovx_segments, &segment);
	if (!seg) {
		count_drop(segment, OVX_DROP_UNKNOWN_VNI);
		return TC_ACT_SHOT;
	}
	st = seg_stats(segment);
	if (!st)
		return TC_ACT_SHOT;
	pending = flood_ports(skb, segment, seg, 0, st);
	return flood_ports_finish(pending, st);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
