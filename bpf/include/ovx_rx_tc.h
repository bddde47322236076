/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The receive side's skb half, for what XDP hands on or cannot finish:
 * delivery of frames XDP decapsulated, STT frames that arrive in several
 * segments, and overlay frames that reach TC whole (GRO merged the segments
 * of an STT frame, or no XDP program is attached).
 */
#ifndef OVX_RX_TC_H
#define OVX_RX_TC_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_flood.h"
#include "ovx_rx.h"

/* Enough linear bytes for every outer header rx_parse() reads. */
#define RX_TC_PULL	(ETH_HLEN + sizeof(struct ipv6hdr) + OVX_GENEVE_HLEN + \
			 GENEVE_MAX_OPTS * 4 + ETH_HLEN)

/*
 * A reassembled frame is rebuilt in the skb of its last segment, which BPF
 * can grow to about 16 KB. Larger STT frames are TSO frames: GRO merges
 * their segments before TC sees them, and they take the whole-frame path.
 */
#define STT_REBUILD_MAX	15872

static __always_inline int rx_tc_drop(__u32 segment, int reason)
{
	count_drop(segment, reason);
	return TC_ACT_SHOT;
}

/* To one local port, or to every local port of the segment. */
static __always_inline int rx_tc_deliver(struct __sk_buff *skb, __u32 segment,
					 __u32 ifindex)
{
	const struct ovx_segment *seg;
	struct ovx_seg_stats *st;

	if (ifindex) {
		count_port_tx(ifindex, skb->len);
		return bpf_redirect(ifindex, 0);
	}
	seg = bpf_map_lookup_elem(&ovx_segments, &segment);
	st = seg_stats(segment);
	if (!seg || !st)
		return rx_tc_drop(segment, OVX_DROP_UNKNOWN_VNI);
	return flood_ports_finish(skb, flood_ports(skb, segment, seg, 0, st), st);
}

/* A whole overlay frame in this skb: strip the outer headers here. */
static __always_inline int rx_tc_decap(struct __sk_buff *skb, const struct ovx_rx *rx)
{
	struct ethhdr inner __attribute__((aligned(4)));
	__u32 segment, ifindex;
	int reason;

	if (bpf_skb_load_bytes(skb, rx->inner_off, &inner, sizeof(inner)))
		return rx_tc_drop(0, OVX_DROP_MALFORMED);
	reason = rx_accept(rx, inner.h_dest, inner.h_source, &segment, &ifindex);
	if (reason >= 0)
		return rx_tc_drop(segment, reason);
	/* Outer headers go from behind the first 14 bytes, which become the inner MACs. */
	if (bpf_skb_adjust_room(skb, -(int)rx->inner_off, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO) ||
	    bpf_skb_store_bytes(skb, 0, &inner, sizeof(inner), 0) ||
	    (skb->len > rx->inner_len && bpf_skb_change_tail(skb, rx->inner_len, 0)))
		return rx_tc_drop(segment, OVX_DROP_TX_ERROR);
	return rx_tc_deliver(skb, segment, ifindex);
}

static __always_inline __u32 stt_slot_index(const struct ovx_rx *rx)
{
	__u32 h = rx->src.a[0] ^ rx->src.a[1] ^ rx->src.a[2] ^ rx->src.a[3] ^
		  rx->stt_frame_id;

	return (h * 0x9e3779b1u) % OVX_STT_SLOTS;
}

static __always_inline int stt_same_frame(const struct ovx_stt_slot *s,
					  const struct ovx_rx *rx)
{
	return s->frame_id == rx->stt_frame_id && addr_eq(&s->src, &rx->src);
}

static __always_inline void stt_release(struct ovx_stt_slot *s)
{
	bpf_spin_lock(&s->lock);
	s->state = STT_SLOT_FREE;
	bpf_spin_unlock(&s->lock);
}

/* The last segment's skb becomes the whole inner frame, copied from @s. */
static __always_inline int stt_deliver(struct __sk_buff *skb, struct ovx_rx *rx,
				       struct ovx_stt_slot *s)
{
	const struct ovx_stthdr *stt = (const void *)s->data;
	const struct ethhdr *inner = (const void *)(s->data + sizeof(*stt));
	__u32 segment, ifindex, len = s->len - sizeof(*stt);
	struct ovx_seg_stats *st;
	int reason;

	if (stt->version) {
		stt_release(s);
		return rx_tc_drop(0, OVX_DROP_UNSUPPORTED_FLAGS);
	}
	rx->id = bpf_be64_to_cpu(stt->context_id);
	rx->inner_len = len;
	reason = rx_accept(rx, inner->h_dest, inner->h_source, &segment, &ifindex);
	if (reason < 0 && len > STT_REBUILD_MAX)
		reason = OVX_DROP_REASSEMBLY;
	if (reason >= 0) {
		stt_release(s);
		return rx_tc_drop(segment, reason);
	}
	len &= 0x3fff;
	if (len < ETH_HLEN ||
	    bpf_skb_change_tail(skb, rx->stt_payload_off - ETH_HLEN + len, 0) ||
	    bpf_skb_adjust_room(skb, -(int)(rx->stt_payload_off - ETH_HLEN),
				BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, 0, s->data + sizeof(*stt), len, 0)) {
		stt_release(s);
		return rx_tc_drop(segment, OVX_DROP_TX_ERROR);
	}
	stt_release(s);
	st = seg_stats(segment);
	if (st)
		st->stt_reassembled++;
	return rx_tc_deliver(skb, segment, ifindex);
}

/*
 * One segment of a larger STT frame: copy it into the frame's slot, and
 * deliver the frame with its last byte. Slots are found by hashing the
 * frame key; a slot whose frame outlived OVX_STT_TIMEOUT_MS is taken over
 * and that frame counted as incomplete.
 */
static __always_inline int stt_reassemble(struct __sk_buff *skb, struct ovx_rx *rx)
{
	__u32 idx = stt_slot_index(rx), done, n, off;
	int stale = 0, busy = 0, bad = 0, complete = 0;
	__u64 now = bpf_ktime_get_ns();
	struct ovx_stt_slot *s;

	s = bpf_map_lookup_elem(&ovx_stt_slots, &idx);
	if (!s)
		return rx_tc_drop(0, OVX_DROP_REASSEMBLY);

	bpf_spin_lock(&s->lock);
	if (s->state == STT_SLOT_FILLING && stt_same_frame(s, rx)) {
		bad = s->len != rx->stt_len;
		if (bad)
			s->state = STT_SLOT_FREE;
	} else if (s->state == STT_SLOT_FREE ||
		   now - s->started_ns > OVX_STT_TIMEOUT_MS * 1000000ull) {
		stale = s->state == STT_SLOT_FILLING;
		s->state = STT_SLOT_FILLING;
		s->src = rx->src;
		s->frame_id = rx->stt_frame_id;
		s->len = rx->stt_len;
		s->received = 0;
		s->started_ns = now;
	} else {
		busy = 1;
	}
	bpf_spin_unlock(&s->lock);
	if (stale)
		count_drop(0, OVX_DROP_REASSEMBLY);
	if (busy)
		return rx_tc_drop(0, OVX_DROP_MAP_FULL);
	if (bad)
		return rx_tc_drop(0, OVX_DROP_REASSEMBLY);

	for (int i = 0; i < 65536 / OVX_STT_CHUNK + 1; i++) {
		done = i * OVX_STT_CHUNK;
		if (done >= rx->stt_payload_len)
			break;
		n = rx->stt_payload_len - done;
		if (n > OVX_STT_CHUNK)
			n = OVX_STT_CHUNK;
		/* Bound n where the verifier sees it, past the compiler's folding. */
		barrier_var(n);
		n &= 0x3fff;
		if (n < 1)
			break;
		off = (rx->stt_off + done) & 0xffff;
		if (bpf_skb_load_bytes(skb, rx->stt_payload_off + done, s->data + off, n)) {
			bad = 1;
			break;
		}
	}

	bpf_spin_lock(&s->lock);
	if (s->state == STT_SLOT_FILLING && stt_same_frame(s, rx) && !bad) {
		s->received += rx->stt_payload_len;
		if (s->received == s->len) {
			s->state = STT_SLOT_DONE;
			complete = 1;
		} else if (s->received > s->len) {
			s->state = STT_SLOT_FREE;
			bad = 1;
		}
	} else {
		bad = 1;	/* taken over meanwhile, or the copy failed */
	}
	bpf_spin_unlock(&s->lock);
	if (bad)
		return rx_tc_drop(0, OVX_DROP_REASSEMBLY);
	if (!complete)
		return TC_ACT_STOLEN;	/* kept in the slot, not dropped */
	return stt_deliver(skb, rx, s);
}

/* An underlay frame without XDP's metadata: host traffic, or ours to finish. */
static __always_inline int rx_tc(struct __sk_buff *skb, const struct ovx_config *cfg)
{
	__u32 pull = skb->len < RX_TC_PULL ? skb->len : RX_TC_PULL;
	struct ovx_rx rx = {};
	void *data, *end;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bpf_skb_pull_data(skb, pull))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	switch (rx_parse(data, end, skb->len, cfg, &rx)) {
	case RX_PASS:
		return TC_ACT_OK;
	case RX_DROP:
		return rx_tc_drop(0, rx.reason);
	case RX_STT_SEGMENT:
		return stt_reassemble(skb, &rx);
	}
	return rx_tc_decap(skb, &rx);
}

#endif /* OVX_RX_TC_H */
