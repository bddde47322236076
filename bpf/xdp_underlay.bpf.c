// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the underlay interface: the VTEP's receive side.
 *
 * Frames to the overlay's UDP port are ovx's to judge: accepted only when
 * addressed to this VTEP, from a VTEP of the segment the VNI maps to, and
 * well formed; then the source MAC is learned, the outer headers stripped,
 * and the delivery decision (one local port, or flood) is left in XDP
 * metadata for tc_underlay, which owns skb-level delivery. Everything that
 * is not overlay traffic passes untouched to the host.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_common.h"
#include "ovx_vxlan.h"

static __always_inline int drop(__u32 segment, enum ovx_drop_reason reason)
{
	count_drop(segment, reason);
	return XDP_DROP;
}

SEC("xdp")
int ovx_xdp_underlay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct ovx_config *cfg = get_config();
	struct ovx_vni_key vkey = { .encap = OVX_ENCAP_VXLAN };
	struct ovx_vtep_key tkey = { .addr.family = AF_INET };
	const struct ovx_fdb_entry *dst;
	const struct ovx_segment *seg;
	struct ovx_seg_stats *st;
	struct ovx_vxlanhdr *vxh;
	struct ovx_xdp_meta *meta;
	struct ethhdr *eth = data, *inner;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 *segment_id, segment, ihl, outer_len, ifindex = 0;

	if (!cfg)
		return XDP_PASS;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return XDP_PASS;
	udp = (void *)ip + ihl;
	if ((void *)(udp + 1) > end || udp->dest != cfg->vxlan_port)
		return XDP_PASS;

	/* Overlay traffic from here on: deliver it or drop it, never pass. */
	if (ip->daddr != cfg->vtep4.a[0])
		return drop(0, OVX_DROP_NOT_OUR_VTEP);
	if (ip->frag_off & bpf_htons(0x3fff))	/* MF or an offset */
		return drop(0, OVX_DROP_FRAGMENT);
	vxh = (void *)(udp + 1);
	inner = (void *)(vxh + 1);
	if ((void *)(inner + 1) > end)
		return drop(0, OVX_DROP_MALFORMED);
	if (!(vxh->flags & bpf_htonl(VXLAN_FLAG_I)))
		return drop(0, OVX_DROP_UNSUPPORTED_FLAGS);

	vkey.id = bpf_ntohl(vxh->vni) >> 8;
	segment_id = bpf_map_lookup_elem(&ovx_vni, &vkey);
	if (!segment_id)
		return drop(0, OVX_DROP_UNKNOWN_VNI);
	segment = *segment_id;
	seg = bpf_map_lookup_elem(&ovx_segments, &segment);
	if (!seg || !(seg->flags & OVX_SEG_ACTIVE))
		return drop(0, OVX_DROP_UNKNOWN_VNI);

	st = seg_stats(segment);
	if (!st)
		return drop(0, OVX_DROP_UNKNOWN_VNI);
	tkey.segment = segment;
	tkey.addr.a[0] = ip->saddr;
	if (!bpf_map_lookup_elem(&ovx_vteps, &tkey))
		return drop(segment, OVX_DROP_UNKNOWN_VTEP);

	if ((seg->flags & OVX_SEG_LEARNING) && !mac_is_multicast(inner->h_source))
		fdb_learn(segment, inner->h_source, &tkey.addr, st);

	if (!mac_is_multicast(inner->h_dest)) {
		dst = fdb_lookup(segment, seg, inner->h_dest);
		if (dst && dst->kind != OVX_FDB_PORT)
			return drop(segment, OVX_DROP_SPLIT_HORIZON);
		if (dst)
			ifindex = dst->ifindex;
	}
	st->rx_packets++;
	st->rx_bytes += end - (void *)inner;

	outer_len = (void *)inner - data;
	if (bpf_xdp_adjust_head(ctx, outer_len) ||
	    bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return drop(segment, OVX_DROP_TX_ERROR);
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return drop(segment, OVX_DROP_TX_ERROR);
	meta->magic = OVX_META_MAGIC;
	meta->segment = segment;
	meta->ifindex = ifindex;
	meta->pad = 0;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
