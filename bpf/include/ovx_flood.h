/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Head-end replication of broadcast, multicast and unknown unicast frames. */
#ifndef OVX_FLOOD_H
#define OVX_FLOOD_H

#include "ovx_common.h"

/*
 * Clone the frame to every local port of the segment but @except, except for
 * the last one, which is returned (ifindex 0 if none) so that the caller can
 * hand it the frame itself when nothing else needs it.
 */
static __always_inline struct ovx_flood_port flood_ports(struct __sk_buff *skb, __u32 segment,
							 const struct ovx_segment *seg,
							 __u32 except, struct ovx_seg_stats *st)
{
	struct ovx_flood_key key = { .segment = segment };
	struct ovx_flood_port pending = {};
	const struct ovx_flood_port *p;

	for (__u32 i = 0; i < OVX_MAX_FLOOD_PORTS; i++) {
		if (i >= seg->n_ports)
			break;
		key.index = i;
		p = bpf_map_lookup_elem(&ovx_flood_ports, &key);
		if (!p || p->ifindex == except)
			continue;
		if (pending.ifindex) {
			if (bpf_clone_redirect(skb, pending.ifindex, 0)) {
				count_drop(segment, OVX_DROP_TX_ERROR);
			} else {
				st->flood_copies++;
				count_port_tx(pending.ifindex, pending.index, skb->len);
			}
		}
		pending = *p;
	}
	return pending;
}

/* Send the last pending copy with the frame itself. */
static __always_inline int flood_ports_finish(struct __sk_buff *skb,
					      const struct ovx_flood_port *pending,
					      struct ovx_seg_stats *st)
{
	if (!pending->ifindex)
		return TC_ACT_SHOT;
	st->flood_copies++;
	count_port_tx(pending->ifindex, pending->index, skb->len);
	return bpf_redirect(pending->ifindex, 0);
}

#endif /* OVX_FLOOD_H */
