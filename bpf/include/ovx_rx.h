/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The VTEP's receive side, shared by XDP (the fast path) and TC (STT frames
 * that arrive in several segments): is an underlay frame overlay traffic for
 * this host, which segment does it belong to, and where does it go.
 */
#ifndef OVX_RX_H
#define OVX_RX_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_common.h"
#include "ovx_wire.h"

#ifndef IPPROTO_GRE
#define IPPROTO_GRE 47
#endif

enum ovx_rx_verdict {
	RX_PASS,	/* not overlay traffic: the host's */
	RX_DROP,	/* overlay traffic we refuse; rx->reason says why */
	RX_DECAP,	/* a whole inner frame at rx->inner_off */
	RX_STT_SEGMENT,	/* one segment of a larger STT frame */
};

struct ovx_rx {
	struct ovx_addr src;	/* the sending VTEP */
	struct ovx_addr dst;	/* the address it sent to */
	__u64 id;		/* VNI / VSID / context id */
	__u32 inner_off;	/* RX_DECAP: inner Ethernet frame */
	__u32 inner_len;
	__u8 encap;
	__u8 reason;		/* RX_DROP: enum ovx_drop_reason */
	__u16 stt_len;		/* STT: whole frame, STT header included */
	__u16 stt_off;		/* STT: this segment's offset in it */
	__u8 forwarded;		/* the outer header's OVX_FWD_* mark: sent on once already */
	__u8 pad;
	__be32 stt_frame_id;	/* STT: the acknowledgement number */
	__u32 stt_payload_off;	/* STT: this segment's bytes */
	__u32 stt_payload_len;
};

static __always_inline int rx_drop(struct ovx_rx *rx, enum ovx_drop_reason reason)
{
	rx->reason = reason;
	return RX_DROP;
}

static __always_inline int encap_in_use(const struct ovx_config *cfg, __u8 encap)
{
	return cfg->encaps & (1u << encap);
}

static __always_inline int addr6_eq(const struct in6_addr *a, const __be32 *b)
{
	return a->in6_u.u6_addr32[0] == b[0] && a->in6_u.u6_addr32[1] == b[1] &&
	       a->in6_u.u6_addr32[2] == b[2] && a->in6_u.u6_addr32[3] == b[3];
}

/* Geneve options are skipped, but one we would have to understand is fatal. */
static __always_inline int geneve_check_options(void *opts, __u32 optlen, void *end)
{
	struct ovx_geneve_opt *opt;
	__u32 off = 0;

	for (int i = 0; i < GENEVE_MAX_OPTS; i++) {
		if (off == optlen)
			return -1;
		/* An option running past the option area would hide what follows. */
		if (off + sizeof(*opt) > optlen)
			return OVX_DROP_MALFORMED;
		opt = opts + (off & 0xff);
		if ((void *)(opt + 1) > end)
			return OVX_DROP_MALFORMED;
		if (opt->type & GENEVE_OPT_CRITICAL)
			return OVX_DROP_CRITICAL_OPTION;
		off += sizeof(*opt) + (opt->len & 0x1f) * 4;
	}
	return off == optlen ? -1 : OVX_DROP_MALFORMED;
}

/*
 * Classify a frame of @total bytes whose headers are readable in [data, end)
 * and, for overlay traffic, find the inner frame. Only encapsulations some
 * segment uses are claimed; the rest (a kernel tunnel beside ovx, say) stays
 * the host's.
 */
static __always_inline int rx_parse(void *data, void *end, __u32 total,
				    const struct ovx_config *cfg, struct ovx_rx *rx)
{
	struct ethhdr *eth = data;
	__u32 l4_end;		/* offset where the IP payload ends */
	void *l4, *tun;
	int ours, frag, bad;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return RX_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u32 ihl;

		if ((void *)(ip + 1) > end)
			return RX_PASS;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return RX_PASS;
		proto = ip->protocol;
		l4 = (void *)ip + ihl;
		l4_end = ETH_HLEN + bpf_ntohs(ip->tot_len);
		bad = ip->version != 4 || bpf_ntohs(ip->tot_len) < ihl;
		ours = cfg->vtep4.family && ip->daddr == cfg->vtep4.a[0];
		frag = ip->frag_off & bpf_htons(0x3fff);	/* MF or an offset */
		rx->forwarded = ip->id == bpf_htons(OVX_FWD_IPV4_ID);
		rx->src.family = AF_INET;
		rx->src.a[0] = ip->saddr;
		rx->dst.family = AF_INET;
		rx->dst.a[0] = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return RX_PASS;
		/*
		 * Extension headers (a fragment header among them) are not
		 * walked: ovx never sends them, so such frames are the host's.
		 */
		proto = ip6->nexthdr;
		l4 = ip6 + 1;
		l4_end = ETH_HLEN + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		bad = ip6->version != 6;
		ours = cfg->vtep6.family && addr6_eq(&ip6->daddr, cfg->vtep6.a);
		frag = 0;
		rx->forwarded = (ip6->flow_lbl[0] & 0x0f) == ((OVX_FWD_FLOW_LABEL >> 16) & 0x0f) &&
				ip6->flow_lbl[1] == ((OVX_FWD_FLOW_LABEL >> 8) & 0xff) &&
				ip6->flow_lbl[2] == (OVX_FWD_FLOW_LABEL & 0xff);
		rx->src.family = AF_INET6;
		__builtin_memcpy(rx->src.a, &ip6->saddr, sizeof(rx->src.a));
		rx->dst.family = AF_INET6;
		__builtin_memcpy(rx->dst.a, &ip6->daddr, sizeof(rx->dst.a));
	} else {
		return RX_PASS;
	}

	switch (proto) {
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > end)
			return RX_PASS;
		if (udp->dest == cfg->vxlan_port && encap_in_use(cfg, OVX_ENCAP_VXLAN))
			rx->encap = OVX_ENCAP_VXLAN;
		else if (udp->dest == cfg->geneve_port && encap_in_use(cfg, OVX_ENCAP_GENEVE))
			rx->encap = OVX_ENCAP_GENEVE;
		else
			return RX_PASS;
		tun = udp + 1;
		break;
	}
	case IPPROTO_GRE:
		if (!encap_in_use(cfg, OVX_ENCAP_NVGRE))
			return RX_PASS;
		rx->encap = OVX_ENCAP_NVGRE;
		tun = l4;
		break;
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(OVX_STT_PORT) ||
		    !encap_in_use(cfg, OVX_ENCAP_STT))
			return RX_PASS;
		rx->encap = OVX_ENCAP_STT;
		tun = l4;
		break;
	}
	default:
		return RX_PASS;
	}

	/* Overlay traffic from here on: deliver it or drop it, never pass. */
	if (!ours)
		return rx_drop(rx, OVX_DROP_NOT_OUR_VTEP);
	if (frag)
		return rx_drop(rx, OVX_DROP_FRAGMENT);
	/* The IP header's length, not the frame's (link padding), bounds the rest. */
	if (bad || l4_end > total || (__u32)(l4 - data) > l4_end)
		return rx_drop(rx, OVX_DROP_MALFORMED);
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		__u32 ulen = bpf_ntohs(udp->len);

		if ((void *)(udp + 1) > end || ulen < sizeof(*udp) || (__u32)(l4 - data) + ulen > l4_end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		l4_end = (__u32)(l4 - data) + ulen;
	}

	switch (rx->encap) {
	case OVX_ENCAP_VXLAN: {
		struct ovx_vxlanhdr *vx = tun;

		if ((void *)(vx + 1) + ETH_HLEN > end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		if (!(vx->flags & bpf_htonl(VXLAN_FLAG_I)))
			return rx_drop(rx, OVX_DROP_UNSUPPORTED_FLAGS);
		rx->id = bpf_ntohl(vx->vni) >> 8;
		tun = vx + 1;
		break;
	}
	case OVX_ENCAP_GENEVE: {
		struct ovx_genevehdr *gn = tun;
		__u32 optlen;
		int reason;

		if ((void *)(gn + 1) > end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		if ((gn->ver_optlen & GENEVE_VER_MASK) || (gn->flags & GENEVE_FLAG_O))
			return rx_drop(rx, OVX_DROP_UNSUPPORTED_FLAGS);
		if (gn->proto != bpf_htons(ETH_P_TEB))
			return rx_drop(rx, OVX_DROP_UNSUPPORTED_PROTO);
		/* ovx understands no option, so any critical one is unknown. */
		if (gn->flags & GENEVE_FLAG_C)
			return rx_drop(rx, OVX_DROP_CRITICAL_OPTION);
		optlen = (gn->ver_optlen & GENEVE_OPTLEN_MASK) * 4;
		reason = geneve_check_options(gn + 1, optlen, end);
		if (reason >= 0)
			return rx_drop(rx, reason);
		rx->id = bpf_ntohl(gn->vni) >> 8;
		tun = (void *)(gn + 1) + optlen;
		if (tun + ETH_HLEN > end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		break;
	}
	case OVX_ENCAP_NVGRE: {
		struct ovx_nvgrehdr *gre = tun;

		if ((void *)(gre + 1) + ETH_HLEN > end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		if (gre->flags != bpf_htons(GRE_FLAGS_NVGRE))
			return rx_drop(rx, OVX_DROP_UNSUPPORTED_FLAGS);
		if (gre->proto != bpf_htons(ETH_P_TEB))
			return rx_drop(rx, OVX_DROP_UNSUPPORTED_PROTO);
		rx->id = bpf_ntohl(gre->key) >> 8;
		tun = gre + 1;
		break;
	}
	case OVX_ENCAP_STT: {
		struct tcphdr *tcp = tun;
		struct ovx_stthdr *stt;
		__u32 doff = tcp->doff * 4, seq = bpf_ntohl(tcp->seq);
		void *payload = tun + doff;

		rx->stt_payload_off = payload - data;
		if (doff < sizeof(*tcp) || rx->stt_payload_off > l4_end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		rx->stt_len = STT_SEQ_LEN(seq);
		rx->stt_off = STT_SEQ_OFF(seq);
		rx->stt_frame_id = tcp->ack_seq;
		rx->stt_payload_len = l4_end - rx->stt_payload_off;
		if (rx->stt_len < sizeof(*stt) + ETH_HLEN || !rx->stt_payload_len ||
		    rx->stt_off + rx->stt_payload_len > rx->stt_len)
			return rx_drop(rx, OVX_DROP_REASSEMBLY);
		if (rx->stt_off || rx->stt_payload_len != rx->stt_len)
			return RX_STT_SEGMENT;
		stt = payload;
		if ((void *)(stt + 1) + ETH_HLEN > end)
			return rx_drop(rx, OVX_DROP_MALFORMED);
		if (stt->version)
			return rx_drop(rx, OVX_DROP_UNSUPPORTED_FLAGS);
		rx->id = bpf_be64_to_cpu(stt->context_id);
		tun = stt + 1;
		break;
	}
	}
	rx->inner_off = tun - data;
	if (rx->inner_off + ETH_HLEN > l4_end)
		return rx_drop(rx, OVX_DROP_MALFORMED);
	rx->inner_len = l4_end - rx->inner_off;
	return RX_DECAP;
}

/*
 * Why a frame that ovx_rx_vteps does not admit is refused: no active
 * segment for (rx->encap, rx->id), or a sender that is none of its VTEPs.
 * Off the fast path: only refused frames pay these lookups.
 */
static __always_inline int rx_refused(const struct ovx_rx *rx, __u32 *segment)
{
	struct ovx_vni_key vkey = { .id = rx->id, .encap = rx->encap };
	const struct ovx_segment *seg;
	__u32 *sid;

	sid = bpf_map_lookup_elem(&ovx_vni, &vkey);
	if (!sid)
		return OVX_DROP_UNKNOWN_VNI;
	seg = bpf_map_lookup_elem(&ovx_segments, sid);
	if (!seg || !(seg->flags & OVX_SEG_ACTIVE))
		return OVX_DROP_UNKNOWN_VNI;
	*segment = *sid;
	return OVX_DROP_UNKNOWN_VTEP;
}

/*
 * The active segment of (rx->encap, rx->id) into *segment (0 when none), and
 * whether rx->src is one of its VTEPs: -1, or the drop reason. One lookup
 * answers both for every frame admitted (ovx_rx_vteps).
 */
static __always_inline int rx_member(const struct ovx_rx *rx, __u32 *segment,
				     const struct ovx_segment **seg)
{
	struct ovx_rx_key key = { .id = rx->id, .encap = rx->encap, .src = rx->src };
	__u32 *sid;

	*segment = 0;
	sid = bpf_map_lookup_elem(&ovx_rx_vteps, &key);
	if (!sid)
		return rx_refused(rx, segment);
	*seg = bpf_map_lookup_elem(&ovx_segments, sid);
	if (!*seg || !((*seg)->flags & OVX_SEG_ACTIVE))
		return OVX_DROP_UNKNOWN_VNI;
	*segment = *sid;
	return -1;
}

/*
 * Accept the inner frame whose MACs are @dst and @src into its segment:
 * the sender must be a VTEP of the segment; its source MAC is learned.
 * Returns -1 with *segment, *ifindex (0 = flood) and *port (its index) set, or a drop reason
 * with *segment set as far as known. With @may_forward, a MAC behind a
 * forwarding pointer gives *ifindex OVX_SHIM_FORWARD, for a frame that no
 * VTEP sent on before (its mark) and that would not go back to its sender:
 * no frame is sent on twice, so no two pointers make a loop.
 */
static __always_inline int rx_judge(const struct ovx_rx *rx, const __u8 *dst,
				    const __u8 *src, __u32 *segment, __u32 *ifindex,
				    __u16 *port, int may_forward)
{
	const struct ovx_fdb_entry *e;
	const struct ovx_segment *seg = NULL;
	struct ovx_seg_stats *st;
	__u64 now = 0;
	int reason;

	*ifindex = 0;
	*port = OVX_PORT_NONE;
	reason = rx_member(rx, segment, &seg);
	if (reason >= 0)
		return reason;
	st = seg_stats(*segment);
	if (!st || !seg)
		return OVX_DROP_UNKNOWN_VNI;

	if ((seg->flags & OVX_SEG_LEARNING) && !mac_is_multicast(src))
		fdb_learn_seen(*segment, seg, src, &rx->src, st, &now);
	if (!mac_is_multicast(dst)) {
		e = fdb_lookup(*segment, seg, dst, &now);
		if (e && e->kind == OVX_FDB_PORT) {
			*ifindex = e->ifindex;
			*port = e->port;
		} else if (e) {
			/* Split horizon: what came from the overlay never goes back... */
			if (!may_forward || rx->forwarded || addr_eq(&e->vtep, &rx->src))
				return OVX_DROP_SPLIT_HORIZON;
			/* ...but for a MAC that just left this host (NVO3's forwarding pointer). */
			reason = fdb_forwarding(*segment, e, &now);
			if (reason >= 0)
				return reason;
			*ifindex = OVX_SHIM_FORWARD;
		}
	}
	st->rx_packets++;
	st->rx_bytes += rx->inner_len;
	return -1;
}

/*
 * rx_judge() for STT frames reassembled from several segments: never sent
 * on, as their rebuilt skb has no outer headers left to re-encapsulate in.
 */
static __always_inline int rx_accept(const struct ovx_rx *rx, const __u8 *dst,
				     const __u8 *src, __u32 *segment, __u32 *ifindex,
				     __u16 *port)
{
	return rx_judge(rx, dst, src, segment, ifindex, port, 0);
}

#endif /* OVX_RX_H */
