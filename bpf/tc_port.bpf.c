// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC ingress on the host side of each VM port: the VTEP's send side.
 *
 * Port -> segment; the VM may only send with its own MAC; the destination is
 * looked up per segment: a local port gets the frame directly, a MAC behind a
 * remote VTEP gets it VXLAN-encapsulated, and BUM frames are replicated to
 * every other local port and every remote VTEP of the segment.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_common.h"
#include "ovx_flood.h"
#include "ovx_vxlan.h"

static __always_inline int drop(__u32 segment, enum ovx_drop_reason reason)
{
	count_drop(segment, reason);
	return TC_ACT_SHOT;
}

/* One copy to each remote VTEP of the segment; the last takes the frame. */
static __always_inline int flood_vteps(struct __sk_buff *skb,
				       const struct ovx_config *cfg,
				       struct ovx_vxlan_encap *h, __u32 segment,
				       const struct ovx_segment *seg,
				       struct ovx_seg_stats *st, __u32 inner_len)
{
	struct ovx_flood_key key = { .segment = segment };
	__be32 pending = 0;
	struct ovx_addr *vtep;

	for (__u32 i = 0; i < OVX_MAX_FLOOD; i++) {
		if (i >= seg->n_vteps)
			break;
		key.index = i;
		vtep = bpf_map_lookup_elem(&ovx_flood_vteps, &key);
		if (!vtep)
			continue;
		if (pending) {
			vxlan_xmit(skb, cfg, h, pending, segment, st, inner_len, 1);
			st->flood_copies++;
		}
		pending = vtep->a[0];
	}
	if (!pending)
		return TC_ACT_SHOT;
	st->flood_copies++;
	return vxlan_xmit(skb, cfg, h, pending, segment, st, inner_len, 0);
}

SEC("tc")
int ovx_tc_port(struct __sk_buff *skb)
{
	const struct ovx_config *cfg = get_config();
	__u32 ifindex = skb->ifindex, segment, inner_len, pending;
	const struct ovx_fdb_entry *e;
	const struct ovx_segment *seg;
	const struct ovx_port *port;
	struct ovx_vxlan_encap h;
	struct ovx_seg_stats *st;
	__u8 dmac[ETH_ALEN];
	struct ovx_addr vtep;
	struct ethhdr *eth;

	port = bpf_map_lookup_elem(&ovx_ports, &ifindex);
	if (!port)
		return drop(0, OVX_DROP_NO_PORT);
	segment = port->segment;
	seg = bpf_map_lookup_elem(&ovx_segments, &segment);
	st = seg_stats(segment);
	if (!seg || !st || !(seg->flags & OVX_SEG_ACTIVE))
		return drop(segment, OVX_DROP_NO_PORT);

	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end) {
		if (bpf_skb_pull_data(skb, sizeof(*eth)))
			return drop(segment, OVX_DROP_MALFORMED);
		eth = (void *)(long)skb->data;
		if ((void *)(eth + 1) > (void *)(long)skb->data_end)
			return drop(segment, OVX_DROP_MALFORMED);
	}
	if (!mac_eq(eth->h_source, port->mac))
		return drop(segment, OVX_DROP_SPOOFED_SRC);
	mac_copy(dmac, eth->h_dest);

	inner_len = skb->len;
	if (!mac_is_multicast(dmac)) {
		e = fdb_lookup(segment, seg, dmac);
		if (e && e->kind == OVX_FDB_PORT) {
			if (e->ifindex == ifindex)
				return drop(segment, OVX_DROP_HAIRPIN);
			st->local_packets++;
			st->local_bytes += inner_len;
			return bpf_redirect(e->ifindex, 0);
		}
		if (e) {
			if (!cfg)
				return drop(segment, OVX_DROP_NOT_CONFIGURED);
			vtep = e->vtep;
			if (vxlan_encap(skb, cfg, seg->id, &h))
				return drop(segment, OVX_DROP_TX_ERROR);
			if (!vxlan_fits(skb, cfg))
				return drop(segment, OVX_DROP_MTU_EXCEEDED);
			return vxlan_xmit(skb, cfg, &h, vtep.a[0], segment, st,
					  inner_len, 0);
		}
	}

	/* Broadcast, multicast or unknown unicast: head-end replication. */
	pending = flood_ports(skb, segment, seg, ifindex, st);
	if (!cfg || !seg->n_vteps)
		return flood_ports_finish(pending, st);
	if (pending) {
		if (bpf_clone_redirect(skb, pending, 0))
			count_drop(segment, OVX_DROP_TX_ERROR);
		else
			st->flood_copies++;
	}
	if (vxlan_encap(skb, cfg, seg->id, &h))
		return drop(segment, OVX_DROP_TX_ERROR);
	if (!vxlan_fits(skb, cfg))
		return drop(segment, OVX_DROP_MTU_EXCEEDED);
	return flood_vteps(skb, cfg, &h, segment, seg, st, inner_len);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
