/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VXLAN (RFC 7348) on the wire: header layout, encapsulation, transmit. */
#ifndef OVX_VXLAN_H
#define OVX_VXLAN_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_common.h"

#define VXLAN_FLAG_I	0x08000000u	/* "VNI is valid", network order below */

struct ovx_vxlanhdr {
	__be32 flags;
	__be32 vni;		/* VNI in the upper 24 bits */
};

/* Everything put in front of the inner frame's payload, in wire order. */
struct ovx_vxlan_encap {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct ovx_vxlanhdr vxlan;
	struct ethhdr inner;
} __attribute__((packed));

_Static_assert(sizeof(struct ovx_vxlan_encap) == (OVX_OUTER_ETH + OVX_OUTER_IPV4 + OVX_VXLAN_HLEN) + ETH_HLEN,
	       "VXLAN encap header size");

/* Flow entropy for the underlay's ECMP: a port in 49152-65535 (RFC 7348). */
static __always_inline __be16 vxlan_src_port(__u32 hash)
{
	return bpf_htons(0xc000 | (hash & 0x3fff));
}

/* Takes a void pointer: in the packed encap header the IP header is only 2-aligned. */
static __always_inline __sum16 ipv4_csum(const void *ip)
{
	const __u16 *w = ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(struct iphdr) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/*
 * Make room for the outer headers and fill @h for this frame; the outer
 * destination and MACs are set per copy by vxlan_xmit().
 *
 * IP frames grow with bpf_skb_adjust_room() and the ENCAP flags, which keep
 * GSO and checksum offload of the inner flow working; the kernel refuses that
 * for other protocols (ARP), which are never GSO, so those get plain headroom.
 */
static __always_inline int vxlan_encap(struct __sk_buff *skb,
				       const struct ovx_config *cfg, __u32 vni,
				       struct ovx_vxlan_encap *h)
{
	const __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO |
			    BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 |
			    BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
			    BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
			    BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
	__u32 inner_len = skb->len;
	__be16 sport = vxlan_src_port(bpf_get_hash_recalc(skb));
	int ret;

	if (bpf_skb_load_bytes(skb, 0, &h->inner, sizeof(h->inner)))
		return -1;
	if (skb->protocol == bpf_htons(ETH_P_IP) ||
	    skb->protocol == bpf_htons(ETH_P_IPV6))
		ret = bpf_skb_adjust_room(skb, (OVX_OUTER_ETH + OVX_OUTER_IPV4 + OVX_VXLAN_HLEN),
					  BPF_ADJ_ROOM_MAC, flags);
	else
		ret = bpf_skb_change_head(skb, (OVX_OUTER_ETH + OVX_OUTER_IPV4 + OVX_VXLAN_HLEN), 0);
	if (ret)
		return ret;

	__builtin_memset(&h->eth, 0, sizeof(h->eth));
	h->eth.h_proto = bpf_htons(ETH_P_IP);
	h->ip.version = 4;
	h->ip.ihl = 5;
	h->ip.tos = 0;
	h->ip.tot_len = bpf_htons(sizeof(h->ip) + sizeof(h->udp) +
				  sizeof(h->vxlan) + inner_len);
	h->ip.id = 0;
	h->ip.frag_off = bpf_htons(0x4000);	/* DF: RFC 7348 forbids fragments */
	h->ip.ttl = 64;
	h->ip.protocol = IPPROTO_UDP;
	h->ip.saddr = cfg->vtep4.a[0];
	h->ip.daddr = 0;
	h->udp.source = sport;
	h->udp.dest = cfg->vxlan_port;
	h->udp.len = bpf_htons(sizeof(h->udp) + sizeof(h->vxlan) + inner_len);
	h->udp.check = 0;			/* allowed for IPv4 tunnels */
	h->vxlan.flags = bpf_htonl(VXLAN_FLAG_I);
	h->vxlan.vni = bpf_htonl(vni << 8);
	return 0;
}

/*
 * Address the encapsulated frame to @dst, fill in the underlay MACs from the
 * kernel's FIB and neighbour table, and send it: a clone when @clone (more
 * copies follow), else the frame itself. Returns a TC verdict, or
 * TC_ACT_UNSPEC when a clone was sent. An unresolved neighbour is left to
 * bpf_redirect_neigh() for the last copy of an IP frame; ovx keeps the
 * neighbours of its VTEPs resolved (managed neighbour entries) so that
 * replicated copies find them.
 */
static __always_inline int vxlan_xmit(struct __sk_buff *skb,
				      const struct ovx_config *cfg,
				      struct ovx_vxlan_encap *h, __be32 dst,
				      __u32 segment, struct ovx_seg_stats *st,
				      __u32 inner_len, int clone)
{
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.l4_protocol = IPPROTO_UDP,
		.ifindex = cfg->underlay_ifindex,
		.ipv4_src = cfg->vtep4.a[0],
		.ipv4_dst = dst,
	};
	int rc;

	h->ip.daddr = dst;
	h->ip.check = 0;
	h->ip.check = ipv4_csum((const __u8 *)h + offsetof(struct ovx_vxlan_encap, ip));

	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		mac_copy(h->eth.h_dest, fib.dmac);
		mac_copy(h->eth.h_source, fib.smac);
	} else if (rc != BPF_FIB_LKUP_RET_NO_NEIGH || clone ||
		   skb->protocol != bpf_htons(ETH_P_IP)) {
		count_drop(segment, OVX_DROP_NO_ROUTE);
		return clone ? TC_ACT_UNSPEC : TC_ACT_SHOT;
	}
	if (bpf_skb_store_bytes(skb, 0, h, sizeof(*h), 0)) {
		count_drop(segment, OVX_DROP_TX_ERROR);
		return clone ? TC_ACT_UNSPEC : TC_ACT_SHOT;
	}
	st->tx_packets++;
	st->tx_bytes += inner_len;
	if (clone) {
		if (bpf_clone_redirect(skb, fib.ifindex, 0))
			count_drop(segment, OVX_DROP_TX_ERROR);
		return TC_ACT_UNSPEC;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
	return bpf_redirect(fib.ifindex, 0);
}

/* The encapsulated frame must fit the underlay MTU, per GSO segment too. */
static __always_inline int vxlan_fits(struct __sk_buff *skb,
				      const struct ovx_config *cfg)
{
	__u32 mtu_len = 0;

	return bpf_check_mtu(skb, cfg->underlay_ifindex, &mtu_len, 0,
			     BPF_MTU_CHK_SEGS) == BPF_MTU_CHK_RET_SUCCESS;
}

#endif /* OVX_VXLAN_H */
