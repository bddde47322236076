/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The VTEP's send side: put the segment's encapsulation in front of a frame
 * once, then address and send one copy per remote VTEP.
 */
#ifndef OVX_TX_H
#define OVX_TX_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_common.h"
#include "ovx_wire.h"

#ifndef IPPROTO_GRE
#define IPPROTO_GRE 47
#endif

/* The outer headers of one frame, built once and readdressed per copy. */
struct ovx_tx {
	union {
		struct ovx_outer4 v4;
		struct ovx_outer6 v6;
	} h;
	__u32 hlen;		/* bytes of h in use, outer Ethernet included */
	__u32 inner_len;
	__u32 l4_sum;		/* STT: sum over the TCP-like header and payload */
	__u64 now;		/* the frame's coarse clock, once read (now_ns()), for ovx_nexthops */
	__u8 family;
	__u8 l4_csum;		/* STT: fill in the TCP-like checksum per copy */
	__u8 ipproto;		/* the encapsulation's IP protocol */
	__u8 fwd;		/* sent on by a forwarding pointer: marked (OVX_FWD_*) */
};

_Static_assert(sizeof(struct ovx_tx) <= OVX_TX_SCRATCH, "ovx_tx fits its scratch map");

/* This CPU's struct ovx_tx; TC programs do not migrate while they run. */
static __always_inline struct ovx_tx *tx_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ovx_tx_scratch, &zero);
}

/*
 * @len bytes at @off of the frame's head: by direct packet access where the
 * head is linear that far, else by the helper. The head is never shared
 * with a clone here: the verifier's prologue makes it the program's own at
 * the start, and bpf_clone_redirect() after each clone. @len is a constant
 * at every call: the copy unrolls.
 */
static __always_inline int tx_store(struct __sk_buff *skb, __u32 off, const void *from,
				    const __u32 len)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	__u8 *to = data + (off & 0x7f);

	if (to + len > end)
		return bpf_skb_store_bytes(skb, off, from, len, 0);
	/*
	 * In words, not bytes: BPF allows unaligned packet and map access
	 * where the CPU does (x86), and a byte-wise copy is 8x the code.
	 */
	__builtin_memcpy(__builtin_assume_aligned(to, 8), __builtin_assume_aligned(from, 8), len);
	return 0;
}

/* Flow entropy for the underlay's ECMP: a port in 49152-65535 (RFC 7348). */
static __always_inline __be16 entropy_port(__u32 hash)
{
	return bpf_htons(0xc000 | (hash & 0x3fff));
}

static __always_inline __sum16 ipv4_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(struct iphdr) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

static __always_inline void tun_fill(union ovx_tunhdr *tun, __u8 encap, __u64 id,
				     const struct ovx_config *cfg, __u32 hash,
				     __u32 inner_len)
{
	switch (encap) {
	case OVX_ENCAP_VXLAN:
		tun->vxlan.udp.source = entropy_port(hash);
		tun->vxlan.udp.dest = cfg->vxlan_port;
		tun->vxlan.udp.len = bpf_htons(OVX_VXLAN_HLEN + inner_len);
		tun->vxlan.vx.flags = bpf_htonl(VXLAN_FLAG_I);
		tun->vxlan.vx.vni = bpf_htonl(id << 8);
		break;
	case OVX_ENCAP_GENEVE:
		tun->geneve.udp.source = entropy_port(hash);
		tun->geneve.udp.dest = cfg->geneve_port;
		tun->geneve.udp.len = bpf_htons(OVX_GENEVE_HLEN + inner_len);
		tun->geneve.gn.proto = bpf_htons(ETH_P_TEB);
		tun->geneve.gn.vni = bpf_htonl(id << 8);
		break;
	case OVX_ENCAP_NVGRE:
		/* The FlowID byte is NVGRE's ECMP entropy (RFC 7637 3.2). */
		tun->nvgre.flags = bpf_htons(GRE_FLAGS_NVGRE);
		tun->nvgre.proto = bpf_htons(ETH_P_TEB);
		tun->nvgre.key = bpf_htonl((id << 8) | (hash & 0xff));
		break;
	case OVX_ENCAP_STT:
		tun->stt.stt.context_id = bpf_cpu_to_be64(id);
		tun->stt.tcp.source = entropy_port(hash);
		tun->stt.tcp.dest = bpf_htons(OVX_STT_PORT);
		tun->stt.tcp.seq = bpf_htonl((inner_len + sizeof(struct ovx_stthdr)) << 16);
		tun->stt.tcp.ack_seq = bpf_get_prandom_u32();
		tun->stt.tcp.doff = sizeof(struct tcphdr) / 4;
		tun->stt.tcp.ack = 1;
		tun->stt.tcp.psh = 1;
		tun->stt.tcp.window = bpf_htons(0xffff);
		break;
	}
}

static __always_inline __u8 tun_ipproto(__u8 encap)
{
	return encap == OVX_ENCAP_NVGRE ? IPPROTO_GRE :
	       encap == OVX_ENCAP_STT ? IPPROTO_TCP : IPPROTO_UDP;
}

/*
 * The tunnel header of @seg's encapsulation for tx->inner_len bytes of inner
 * frame, into @tx and into the frame's room at once: it is the same in
 * every copy. The Ethernet and IP headers in front of it differ per VTEP:
 * tx_route() writes them per copy. Returns -1 on success or the drop reason.
 */
static __always_inline int tx_outer(struct __sk_buff *skb, const struct ovx_config *cfg,
				    const struct ovx_segment *seg, __u32 hash, struct ovx_tx *tx)
{
	const int v6 = tx->family == AF_INET6;
	const __u32 iplen = v6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4;
	const __u32 tlen = tun_hlen(seg->encap);
	union ovx_tunhdr *tun = v6 ? &tx->h.v6.tun : &tx->h.v4.tun;
	int ret;

	tx->ipproto = tun_ipproto(seg->encap);
	__builtin_memset(tun, 0, sizeof(*tun));
	/* UDP checksums stay zero: RFC 6935/6936 allow it for tunnels over IPv6. */
	tun_fill(tun, seg->encap, seg->id, cfg, hash, tx->inner_len);

	/* Constant sizes per case, which every verifier follows. */
	if (tlen == OVX_NVGRE_HLEN)
		ret = tx_store(skb, OVX_OUTER_ETH + iplen, tun, OVX_NVGRE_HLEN);
	else if (tlen == OVX_STT_HLEN)
		ret = tx_store(skb, OVX_OUTER_ETH + iplen, tun, OVX_STT_HLEN);
	else
		ret = tx_store(skb, OVX_OUTER_ETH + iplen, tun, OVX_VXLAN_HLEN);
	return ret ? OVX_DROP_TX_ERROR : -1;
}

/* The frame's Ethernet header, at 0, to @hlen, where the inner frame starts. */
static __always_inline int tx_inner_eth(struct __sk_buff *skb, __u32 hlen)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	__u8 *to = data + (hlen & 0x7f);

	if (data + ETH_HLEN > end || to + ETH_HLEN > end)
		return -1;
	__builtin_memcpy(__builtin_assume_aligned(to, 8), __builtin_assume_aligned(data, 8), ETH_HLEN);
	return 0;
}

/*
 * Make room for the outer headers of @seg's encapsulation (the frame's own
 * Ethernet header becomes the inner one) toward VTEPs of
 * @family and fill @tx; the outer destination and MACs are set per copy by
 * tx_xmit(). Returns -1 on success or the drop reason.
 *
 * UDP and GRE tunnels grow with bpf_skb_adjust_room() and the ENCAP flags,
 * which keep GSO and checksum offload of the inner flow working. STT grows
 * without them: its frames are never GSO here (tc_port hands TSO frames to
 * the segmenter first). Non-IP frames (ARP), which adjust_room refuses and
 * which are never GSO, get plain headroom.
 */
static __always_inline int tx_encap(struct __sk_buff *skb, const struct ovx_config *cfg,
				    const struct ovx_segment *seg, __u8 family,
				    struct ovx_tx *tx)
{
	const int v6 = family == AF_INET6;
	const __u32 iplen = v6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4;
	const __u32 tlen = tun_hlen(seg->encap);
	/* The sender's hash when the stack set one (sockets do): no dissection. */
	const __u32 hash = skb->hash ?: bpf_get_hash_recalc(skb);
	__be16 inner_proto;
	__u32 tags = 0, l2;
	__u64 flags = 0;
	/* The inner Ethernet header, the VM's VLAN tags in it: MACs, tags, type. */
	__u8 inner[ETH_HLEN + 4 * OVX_MAX_VLAN_TAGS] = {};
	int ret;

	if (!tlen || (v6 ? !cfg->vtep6.family : !cfg->vtep4.family))
		return OVX_DROP_NOT_CONFIGURED;
	if (skb->vlan_present && bpf_skb_load_bytes(skb, 0, inner, ETH_HLEN))
		return OVX_DROP_MALFORMED;
	/*
	 * The VM's outer tag, which the kernel keeps beside the frame (and the
	 * underlay device would put on the *outer* frame), goes inside; popping
	 * it brings the next one there, if any.
	 */
	for (int i = 0; i < OVX_MAX_VLAN_TAGS; i++) {
		if (!skb->vlan_present)
			break;
		*(__be16 *)&inner[2 * ETH_ALEN + 4 * i] = (__be16)skb->vlan_proto;
		*(__be16 *)&inner[2 * ETH_ALEN + 4 * i + 2] = bpf_htons(skb->vlan_tci);
		if (bpf_skb_vlan_pop(skb))
			return OVX_DROP_TX_ERROR;
		tags++;
	}
	if (skb->vlan_present)
		return OVX_DROP_VLAN_TAGS;
	inner_proto = skb->protocol;
	*(__be16 *)&inner[2 * ETH_ALEN + 4 * (tags & 3)] = inner_proto;
	l2 = ETH_HLEN + 4 * tags;

	tx->family = family;
	tx->l4_csum = 0;
	tx->fwd = 0;
	tx->inner_len = skb->len + 4 * tags;
	tx->hlen = OVX_OUTER_ETH + iplen + tlen;
	if (tx->inner_len + tlen > 0xffff)
		return OVX_DROP_MTU_EXCEEDED;

	if (seg->encap != OVX_ENCAP_STT) {
		flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
			BPF_F_ADJ_ROOM_ENCAP_L2(l2) |
			(v6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) |
			(seg->encap == OVX_ENCAP_NVGRE ? BPF_F_ADJ_ROOM_ENCAP_L4_GRE :
							 BPF_F_ADJ_ROOM_ENCAP_L4_UDP);
	}

	/*
	 * Room for the outer headers and the tags: adjust_room opens it
	 * behind the frame's first 14 bytes, change_head in front of them.
	 * Both leave the head linear. A tagged frame's inner
	 * header is written whole at tx->hlen; an untagged one's is the
	 * frame's own, which change_head leaves there and adjust_room at 0.
	 */
	if (inner_proto == bpf_htons(ETH_P_IP) || inner_proto == bpf_htons(ETH_P_IPV6)) {
		ret = bpf_skb_adjust_room(skb, tx->hlen + l2 - ETH_HLEN, BPF_ADJ_ROOM_MAC, flags);
		if (!ret && !tags)
			ret = tx_inner_eth(skb, tx->hlen);
	} else {
		ret = bpf_skb_change_head(skb, tx->hlen + l2 - ETH_HLEN, 0);
	}
	if (ret)
		return OVX_DROP_TX_ERROR;
	if (tags && bpf_skb_store_bytes(skb, tx->hlen & 0x7f, inner, ETH_HLEN + 4 * (tags & 3), 0))
		return OVX_DROP_TX_ERROR;

	return tx_outer(skb, cfg, seg, hash, tx);
}

/*
 * A frame a forwarding pointer sends on (tc_underlay): the @room bytes
 * behind its first 14 (XDP's shim, or the outer headers the frame arrived
 * in), with the inner frame right after them, become the outer headers of @seg's encapsulation toward VTEPs of @family,
 * marked (OVX_FWD_*) so that no VTEP sends it on again; @tx is filled as
 * by tx_encap(). Returns -1 on success or the drop reason.
 */
static __always_inline int tx_reencap(struct __sk_buff *skb, const struct ovx_config *cfg,
				      const struct ovx_segment *seg, __u8 family, __u32 room,
				      struct ovx_tx *tx)
{
	const int v6 = family == AF_INET6;
	const __u32 iplen = v6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4;
	const __u32 tlen = tun_hlen(seg->encap);
	/* The underlay flow's hash, taken on the frame as it arrived. */
	const __u32 hash = bpf_get_hash_recalc(skb);
	int delta = (int)(iplen + tlen) - (int)room;

	if (!tlen || (v6 ? !cfg->vtep6.family : !cfg->vtep4.family))
		return OVX_DROP_NOT_CONFIGURED;
	tx->family = family;
	tx->l4_csum = 0;
	tx->fwd = 1;
	tx->inner_len = skb->len - ETH_HLEN - room;
	tx->hlen = OVX_OUTER_ETH + iplen + tlen;
	if (tx->inner_len + tlen > 0xffff)
		return OVX_DROP_MTU_EXCEEDED;
	/*
	 * The skb's protocol (IPv4 for XDP's shim, the outer family for a
	 * whole frame) becomes the VTEP's, so that the neighbour can be
	 * resolved: IPv6 has 20 bytes more of room than IPv4.
	 */
	if (v6 != (skb->protocol == bpf_htons(ETH_P_IPV6))) {
		if (bpf_skb_change_proto(skb, bpf_htons(v6 ? ETH_P_IPV6 : ETH_P_IP), 0))
			return OVX_DROP_TX_ERROR;
		delta += v6 ? -(int)(OVX_OUTER_IPV6 - OVX_OUTER_IPV4) :
			      (int)(OVX_OUTER_IPV6 - OVX_OUTER_IPV4);
	}
	if (delta && bpf_skb_adjust_room(skb, delta, BPF_ADJ_ROOM_MAC, 0))
		return OVX_DROP_TX_ERROR;
	return tx_outer(skb, cfg, seg, hash, tx);
}

/*
 * The encapsulated frame must fit the underlay MTU, per GSO segment too.
 * A frame that is not GSO and fits the MTU the config holds (set at every
 * apply, and by the agent when the link changes) needs no helper; the rest
 * ask the device.
 */
static __always_inline int tx_fits(struct __sk_buff *skb, const struct ovx_config *cfg)
{
	__u32 mtu_len = 0;

	if (!skb->gso_size && skb->len <= cfg->underlay_mtu + OVX_OUTER_ETH)
		return 1;
	return bpf_check_mtu(skb, cfg->underlay_ifindex, &mtu_len, 0,
			     BPF_MTU_CHK_SEGS) == BPF_MTU_CHK_RET_SUCCESS;
}

/*
 * STT's TCP-like checksum: @sum, the ones' complement sum of the TCP-like
 * header (checksum 0) and the @l4_len - 20 bytes after it, plus the
 * pseudo-header of @tx's addresses. Summed as 32-bit words in memory order,
 * which folds to the checksum in network order whatever the host's; the
 * IPv4 pseudo-header's protocol and length words sum like IPv6's.
 */
static __always_inline __sum16 tcp_check(const struct ovx_tx *tx, __u32 l4_len, __u32 sum)
{
	__u64 s = sum + (__u64)bpf_htonl(l4_len) + bpf_htonl(IPPROTO_TCP);

	if (tx->family == AF_INET6) {
		const __u32 *a = (const __u32 *)&tx->h.v6.ip.saddr;

#pragma unroll
		for (int i = 0; i < 8; i++)	/* saddr, then daddr */
			s += a[i];
	} else {
		s += tx->h.v4.ip.saddr;
		s += tx->h.v4.ip.daddr;
	}
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__sum16)~s;
}

/* A send that ovx_nexthops could not serve, and why. */
static __always_inline void count_nexthop_fallback(int stale)
{
	__u32 zero = 0;
	struct ovx_dp_stats *ds = bpf_map_lookup_elem(&ovx_dp_stats, &zero);

	if (!ds)
		return;
	if (stale)
		ds->nexthop_stale++;
	else
		ds->nexthop_miss++;
}

/*
 * The outer Ethernet type and IP header toward @dst into @tx->h, from the
 * next hop's template @nh when there is one, else from the config (the MACs
 * are then the FIB's, written by the caller).
 */
static __always_inline void tx_ip(struct ovx_tx *tx, const struct ovx_config *cfg,
				  const struct ovx_addr *dst, const struct ovx_nexthop *nh)
{
	/* The IP header and what follows it. */
	const __u32 len = tx->hlen - OVX_OUTER_ETH + tx->inner_len;

	if (tx->family == AF_INET6) {
		struct ipv6hdr *ip6 = &tx->h.v6.ip;

		if (nh) {
			__builtin_memcpy(&tx->h.v6, nh->hdr, OVX_NEXTHOP_IP + OVX_OUTER_IPV6);
		} else {
			__builtin_memset(&tx->h.v6, 0, OVX_NEXTHOP_IP + OVX_OUTER_IPV6);
			tx->h.v6.eth.h_proto = bpf_htons(ETH_P_IPV6);
			ip6->version = 6;
			ip6->hop_limit = 64;
			__builtin_memcpy(&ip6->saddr, cfg->vtep6.a, sizeof(ip6->saddr));
			__builtin_memcpy(&ip6->daddr, dst->a, sizeof(ip6->daddr));
		}
		ip6->payload_len = bpf_htons(len - OVX_OUTER_IPV6);
		ip6->nexthdr = tx->ipproto;
		if (tx->fwd) {
			ip6->flow_lbl[0] = (OVX_FWD_FLOW_LABEL >> 16) & 0x0f;
			ip6->flow_lbl[1] = (OVX_FWD_FLOW_LABEL >> 8) & 0xff;
			ip6->flow_lbl[2] = OVX_FWD_FLOW_LABEL & 0xff;
		}
		return;
	}

	struct iphdr *ip = &tx->h.v4.ip;
	const __u16 *w = (const __u16 *)ip;
	__u32 sum;

	if (nh) {
		__builtin_memcpy(&tx->h.v4, nh->hdr, OVX_NEXTHOP_IP + OVX_OUTER_IPV4);
		ip->tot_len = bpf_htons(len);
		ip->protocol = tx->ipproto;
		sum = nh->ip_sum + w[1] + w[4];
		if (tx->fwd) {
			ip->id = bpf_htons(OVX_FWD_IPV4_ID);
			sum += w[2];
		}
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip->check = (__sum16)~sum;
		return;
	}
	__builtin_memset(&tx->h.v4, 0, OVX_NEXTHOP_IP + OVX_OUTER_IPV4);
	tx->h.v4.eth.h_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = bpf_htons(len);
	ip->frag_off = bpf_htons(0x4000);	/* DF: tunnels never fragment */
	ip->ttl = 64;
	ip->protocol = tx->ipproto;
	ip->saddr = cfg->vtep4.a[0];
	ip->daddr = dst->a[0];
	if (tx->fwd)
		ip->id = bpf_htons(OVX_FWD_IPV4_ID);
	ip->check = ipv4_csum(ip);
}

/* Whether next hop @nh's template was made for this VTEP's address. */
static __always_inline int nexthop_current(const struct ovx_nexthop *nh,
					   const struct ovx_config *cfg, __u8 family)
{
	const __u32 *src = (const __u32 *)(nh->hdr + OVX_NEXTHOP_IP +
					   (family == AF_INET6 ? offsetof(struct ipv6hdr, saddr) :
								 offsetof(struct iphdr, saddr)));

	if (family != AF_INET6)
		return src[0] == cfg->vtep4.a[0];
	return src[0] == cfg->vtep6.a[0] && src[1] == cfg->vtep6.a[1] &&
	       src[2] == cfg->vtep6.a[2] && src[3] == cfg->vtep6.a[3];
}

/*
 * Address the encapsulated frame to @dst: the outer Ethernet and IP headers
 * from ovx_nexthops' template, or, when it has no live entry for this
 * VTEP address, built here with the MACs from the kernel's FIB and
 * neighbour table, into @tx->h; the egress interface into fib->ifindex.
 * @ip_len is the IP length of the largest packet to send (0: the skb's),
 * for the FIB's MTU check. Returns BPF_FIB_LKUP_RET_SUCCESS, or _NO_NEIGH
 * when @may_resolve and bpf_redirect_neigh() can resolve it (fib then holds
 * the next hop), or -1 when the frame has no way out (counted).
 */
static __always_inline int tx_route(struct __sk_buff *skb, const struct ovx_config *cfg,
				    struct ovx_tx *tx, const struct ovx_addr *dst,
				    __u32 segment, int may_resolve, __u16 ip_len,
				    struct bpf_fib_lookup *fib)
{
	const struct ovx_nexthop *nh;
	struct ethhdr *eth;
	int rc;

	if (dst->family != tx->family) {
		count_drop(segment, OVX_DROP_NO_ROUTE);
		return -1;
	}
	nh = bpf_map_lookup_elem(&ovx_nexthops, dst);
	if (nh && now_ns(&tx->now) < nh->expires_ns && nexthop_current(nh, cfg, tx->family)) {
		tx_ip(tx, cfg, dst, nh);
		fib->ifindex = nh->ifindex;
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	count_nexthop_fallback(nh != NULL);
	tx_ip(tx, cfg, dst, NULL);
	eth = tx->family == AF_INET6 ? &tx->h.v6.eth : &tx->h.v4.eth;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = tx->family;
	fib->ifindex = cfg->underlay_ifindex;
	fib->tot_len = ip_len;
	fib->l4_protocol = tx->ipproto;
	if (tx->family == AF_INET6) {
		__builtin_memcpy(fib->ipv6_src, cfg->vtep6.a, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, dst->a, sizeof(fib->ipv6_dst));
	} else {
		fib->ipv4_src = cfg->vtep4.a[0];
		fib->ipv4_dst = dst->a[0];
	}
	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		mac_copy(eth->h_dest, fib->dmac);
		mac_copy(eth->h_source, fib->smac);
	} else if (rc != BPF_FIB_LKUP_RET_NO_NEIGH || !may_resolve ||
		   /* bpf_redirect_neigh() resolves only for skbs of the outer family */
		   skb->protocol != bpf_htons(tx->family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP)) {
		count_drop(segment, OVX_DROP_NO_ROUTE);
		return -1;
	}
	return rc;
}

/*
 * Address the encapsulated frame to @dst (tx_route) and send it: a clone
 * when @clone (more copies follow), else the frame itself. Returns a TC
 * verdict, or TC_ACT_UNSPEC when a clone was sent. An unresolved neighbour
 * is left to bpf_redirect_neigh() for the last copy; ovx keeps the
 * neighbours of its VTEPs resolved (managed neighbour entries) so that
 * replicated copies find them.
 */
static __always_inline int tx_xmit(struct __sk_buff *skb, const struct ovx_config *cfg,
				   struct ovx_tx *tx, const struct ovx_addr *dst,
				   __u32 segment, struct ovx_seg_stats *st, int clone)
{
	struct bpf_fib_lookup fib;
	int rc, err;

	rc = tx_route(skb, cfg, tx, dst, segment, !clone, 0, &fib);
	if (rc < 0)
		return clone ? TC_ACT_UNSPEC : TC_ACT_SHOT;
	/*
	 * Per copy, only the outer Ethernet and IP headers change, and STT's
	 * checksum, whose pseudo-header has the destination.
	 */
	if (tx->l4_csum) {
		const __u32 l4_len = tx->inner_len + OVX_STT_HLEN;

		if (tx->family == AF_INET6) {
			tx->h.v6.tun.stt.tcp.check = tcp_check(tx, l4_len, tx->l4_sum);
			err = tx_store(skb, 0, &tx->h.v6.eth, OVX_OUTER_ETH + OVX_OUTER_IPV6 +
				       sizeof(struct tcphdr));
		} else {
			tx->h.v4.tun.stt.tcp.check = tcp_check(tx, l4_len, tx->l4_sum);
			err = tx_store(skb, 0, &tx->h.v4.eth, OVX_OUTER_ETH + OVX_OUTER_IPV4 +
				       sizeof(struct tcphdr));
		}
	} else if (tx->family == AF_INET6) {
		err = tx_store(skb, 0, &tx->h.v6.eth, OVX_OUTER_ETH + OVX_OUTER_IPV6);
	} else {
		err = tx_store(skb, 0, &tx->h.v4.eth, OVX_OUTER_ETH + OVX_OUTER_IPV4);
	}
	if (err) {
		count_drop(segment, OVX_DROP_TX_ERROR);
		return clone ? TC_ACT_UNSPEC : TC_ACT_SHOT;
	}
	st->tx_packets++;
	st->tx_bytes += tx->inner_len;
	if (clone) {
		if (bpf_clone_redirect(skb, fib.ifindex, 0))
			count_drop(segment, OVX_DROP_TX_ERROR);
		return TC_ACT_UNSPEC;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = { .nh_family = tx->family };

		if (tx->family == AF_INET6)
			__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, sizeof(nh.ipv6_nh));
		else
			nh.ipv4_nh = fib.ipv4_dst;
		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	}
	return bpf_redirect(fib.ifindex, 0);
}

#endif /* OVX_TX_H */
