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
#include "ovx_stt_tx.h"

/* Enough linear bytes for every outer header rx_parse() reads. */
#define RX_TC_PULL	(ETH_HLEN + sizeof(struct ipv6hdr) + OVX_GENEVE_HLEN + \
			 GENEVE_MAX_OPTS * 4 + ETH_HLEN)

/*
 * A reassembled frame is rebuilt in the skb of its last segment, up to
 * OVX_STT_SEGMENTED_MAX. Larger STT frames are TSO frames of other senders:
 * GRO merges their segments before TC sees them, and they take the
 * whole-frame path.
 */
static __always_inline int rx_tc_drop(__u32 segment, int reason)
{
	count_drop(segment, reason);
	return TC_ACT_SHOT;
}

/* To one local port (@port its index), or to every local port of the segment. */
static __always_inline int rx_tc_deliver(struct __sk_buff *skb, __u32 segment,
					 __u32 ifindex, __u16 port)
{
	const struct ovx_segment *seg;
	struct ovx_flood_port pending;
	struct ovx_seg_stats *st;

	if (ifindex) {
		count_port_tx(ifindex, port, skb->len);
		return bpf_redirect(ifindex, 0);
	}
	seg = bpf_map_lookup_elem(&ovx_segments, &segment);
	st = seg_stats(segment);
	if (!seg || !st)
		return rx_tc_drop(segment, OVX_DROP_UNKNOWN_VNI);
	pending = flood_ports(skb, segment, seg, 0, st);
	return flood_ports_finish(skb, &pending, st);
}

/*
 * A frame for @dst in @segment that rx_judge() found a forwarding pointer
 * for: the @room bytes behind its first 14 (XDP's shim, or the outer headers
 * it arrived with) become the outer headers of the segment's own
 * encapsulation toward the pointer's VTEP, with the mark that keeps it from
 * being sent on again. The pointer is read again: it may have lapsed or
 * changed since XDP ran.
 */
static __always_inline int rx_tc_forward(struct __sk_buff *skb, const struct ovx_config *cfg,
					 __u32 segment, const __u8 *dst, __u32 room)
{
	struct ovx_fdb_key key = { .segment = segment };
	const struct ovx_segment *seg;
	const struct ovx_fdb_entry *e;
	struct ovx_seg_stats *st;
	__u64 now = 0;
	struct ovx_tx *tx;
	int reason, rc;

	seg = bpf_map_lookup_elem(&ovx_segments, &key.segment);
	st = seg_stats(key.segment);
	if (!seg || !st)
		return rx_tc_drop(key.segment, OVX_DROP_UNKNOWN_VNI);
	mac_copy(key.mac, dst);
	e = bpf_map_lookup_elem(&ovx_fdb, &key);
	if (!e)
		return rx_tc_drop(key.segment, OVX_DROP_SPLIT_HORIZON);
	reason = fdb_forwarding(key.segment, e, &now);
	if (reason >= 0)
		return rx_tc_drop(key.segment, reason);
	tx = tx_scratch();
	if (!tx)
		return rx_tc_drop(key.segment, OVX_DROP_TX_ERROR);
	tx->now = now;
	reason = tx_reencap(skb, cfg, seg, e->vtep.family, room, tx);
	if (reason < 0 && !tx_fits(skb, cfg))
		reason = OVX_DROP_MTU_EXCEEDED;
	if (reason < 0 && seg->encap == OVX_ENCAP_STT && stt_frame_sum(skb, tx))
		reason = OVX_DROP_TX_ERROR;
	if (reason >= 0)
		return rx_tc_drop(key.segment, reason);
	rc = tx_xmit(skb, cfg, tx, &e->vtep, key.segment, st, 0);
	if (rc != TC_ACT_SHOT)
		st->forwarded++;
	return rc;
}

/*
 * A whole overlay frame in this skb (no XDP program ran): strip the outer
 * headers here, or send it on in them for a forwarding pointer. A GRO-merged
 * skb is never sent on: its segments would need a tunnel GSO type of their
 * own.
 */
static __always_inline int rx_tc_decap(struct __sk_buff *skb, const struct ovx_config *cfg,
				       const struct ovx_rx *rx)
{
	struct ethhdr inner __attribute__((aligned(4)));
	__u32 segment, ifindex, min_len;
	__u16 port;
	int reason;

	if (bpf_skb_load_bytes(skb, rx->inner_off, &inner, sizeof(inner)))
		return rx_tc_drop(0, OVX_DROP_MALFORMED);
	reason = rx_judge(rx, inner.h_dest, inner.h_source, &segment, &ifindex, &port,
			  skb->gso_segs <= 1);
	if (reason >= 0)
		return rx_tc_drop(segment, reason);
	if (ifindex == OVX_SHIM_FORWARD)
		return rx_tc_forward(skb, cfg, segment, inner.h_dest, rx->inner_off - ETH_HLEN);
	/*
	 * Outer headers go from behind the first 14 bytes, which become the
	 * inner MACs. adjust_room leaves at least an IP header of the skb's
	 * protocol behind the MAC header (20 bytes, 40 for IPv6): a shorter
	 * inner frame (an ARP request has 28) is padded for it first, and
	 * trimmed to its length after.
	 */
	min_len = rx->inner_off + ETH_HLEN +
		  (skb->protocol == bpf_htons(ETH_P_IPV6) ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	if ((skb->len < min_len && bpf_skb_change_tail(skb, min_len, 0)) ||
	    bpf_skb_adjust_room(skb, -(int)rx->inner_off, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO) ||
	    bpf_skb_store_bytes(skb, 0, &inner, sizeof(inner), 0) ||
	    (skb->len > rx->inner_len && bpf_skb_change_tail(skb, rx->inner_len, 0)))
		return rx_tc_drop(segment, OVX_DROP_TX_ERROR);
	return rx_tc_deliver(skb, segment, ifindex, port);
}

static __always_inline __u32 stt_sender_hash(const struct ovx_rx *rx)
{
	return (rx->src.a[0] ^ rx->src.a[1] ^ rx->src.a[2] ^ rx->src.a[3]) * 0x9e3779b1u;
}

/* A frame's identity: its id, its length and who sent it; never 0. */
static __always_inline __u64 stt_owner(const struct ovx_rx *rx)
{
	return (__u64)bpf_ntohl(rx->stt_frame_id) << 32 | (__u32)rx->stt_len << 16 |
	       (stt_sender_hash(rx) >> 16);
}

/* Same frame id and sender as @owner, but another length. */
static __always_inline int stt_inconsistent(__u64 owner, __u64 mine)
{
	return owner != mine && (owner >> 32) == (mine >> 32) &&
	       (owner & 0xffff) == (mine & 0xffff);
}

/* The last segment's skb becomes the whole inner frame, copied from @s. */
static __always_inline int stt_deliver(struct __sk_buff *skb, struct ovx_rx *rx,
				       struct ovx_stt_slot *s)
{
	const struct ovx_stthdr *stt = (const void *)s->data;
	const struct ethhdr *inner = (const void *)(s->data + sizeof(*stt));
	__u32 segment, ifindex, mtu_len = 0, len = rx->stt_len - sizeof(*stt);
	struct ovx_seg_stats *st;
	__u16 port;
	int reason;

	/* The first segment's STT header; stt_admit() checked its version. */
	rx->id = bpf_be64_to_cpu(stt->context_id);
	rx->inner_len = len;
	reason = rx_accept(rx, inner->h_dest, inner->h_source, &segment, &ifindex, &port);
	if (reason < 0 && len > OVX_STT_SEGMENTED_MAX)
		reason = OVX_DROP_REASSEMBLY;
	if (reason >= 0) {
		s->owner = 0;
		return rx_tc_drop(segment, reason);
	}
	len &= 0x3fff;
	if (len < ETH_HLEN ||
	    bpf_skb_change_tail(skb, rx->stt_payload_off - ETH_HLEN + len, 0) ||
	    bpf_skb_adjust_room(skb, -(int)(rx->stt_payload_off - ETH_HLEN),
				BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, 0, s->data + sizeof(*stt), len, 0)) {
		s->owner = 0;
		return rx_tc_drop(segment, OVX_DROP_TX_ERROR);
	}
	s->owner = 0;
	/*
	 * A rebuilt frame may be larger than its VM port takes (VMs of one
	 * segment with different MTUs): count it here, where the port would
	 * drop it unseen.
	 */
	if (ifindex && bpf_check_mtu(skb, ifindex, &mtu_len, 0, 0) != BPF_MTU_CHK_RET_SUCCESS) {
		/*
		 * rx_accept() counted the frame received before its port was
		 * known: taken back, so that it counts once, as this drop
		 * (per-CPU counters: no other writer).
		 */
		st = seg_stats(segment);
		if (st) {
			st->rx_packets--;
			st->rx_bytes -= rx->inner_len;
		}
		return rx_tc_drop(segment, OVX_DROP_MTU_EXCEEDED);
	}
	st = seg_stats(segment);
	if (st)
		st->stt_reassembled++;
	return rx_tc_deliver(skb, segment, ifindex, port);
}

/*
 * May this segment take a slot or join its frame? The first segment carries
 * the STT header: its sender must be a VTEP of the context id's segment,
 * which the slot then records. Later segments carry no context id: their
 * sender must be a VTEP of some STT segment here (ovx_vteps entries of
 * segment 0), and their frame's first segment settles the rest.
 * Returns -1, or the drop reason with *segment set as far as known.
 */
static __always_inline int stt_admit(struct __sk_buff *skb, struct ovx_rx *rx, __u32 *segment)
{
	struct ovx_vtep_key any = { .segment = 0, .addr = rx->src };
	const struct ovx_segment *seg;
	struct ovx_stthdr stt;

	*segment = 0;
	if (rx->stt_off)
		return bpf_map_lookup_elem(&ovx_vteps, &any) ? -1 : OVX_DROP_UNKNOWN_VTEP;
	if (rx->stt_payload_len < sizeof(stt) ||
	    bpf_skb_load_bytes(skb, rx->stt_payload_off, &stt, sizeof(stt)))
		return OVX_DROP_MALFORMED;
	if (stt.version)
		return OVX_DROP_UNSUPPORTED_FLAGS;
	rx->id = bpf_be64_to_cpu(stt.context_id);
	return rx_member(rx, segment, &seg);
}

/*
 * The slot of @mine's frame. A sender hashes to one group of
 * OVX_STT_SLOTS_PER_SOURCE slots, so that no sender can hold more than
 * those. Inside the group the frame id picks where to look first, and a new
 * frame takes the first slot from there on that is free or whose frame
 * outlived OVX_STT_TIMEOUT_MS (that frame is counted as incomplete, in its
 * segment): frames of one sender in flight together, as a TSO stream's are
 * over several receive queues, never evict one another while the group has
 * room. A frame may hold any slot of its group, so a segment that finds
 * none of its own looks through the whole group before it takes one.
 * Returns the slot, its segment as far as known in *known; or NULL and the
 * drop reason in *reason, with *known the segment to count it in.
 */
static __always_inline struct ovx_stt_slot *stt_slot(const struct ovx_rx *rx, __u64 mine,
						     __u32 segment, __u32 *known, int *reason)
{
	const __u32 group = (stt_sender_hash(rx) >> 29) * OVX_STT_SLOTS_PER_SOURCE;
	const __u32 first = (__u32)(mine >> 32);
	__u32 idx, take = OVX_STT_SLOTS, expired;
	__u64 now = bpf_ktime_get_ns(), cur;
	struct ovx_stt_slot *s;

	_Static_assert(OVX_STT_SLOTS / OVX_STT_SLOTS_PER_SOURCE == 8, "8 sender groups");
	_Static_assert(!(OVX_STT_SLOTS_PER_SOURCE & (OVX_STT_SLOTS_PER_SOURCE - 1)),
		       "a power of two");
	*known = segment;
	*reason = OVX_DROP_MAP_FULL;
	for (__u32 i = 0; i < OVX_STT_SLOTS_PER_SOURCE; i++) {
		idx = group + ((first + i) & (OVX_STT_SLOTS_PER_SOURCE - 1));
		s = bpf_map_lookup_elem(&ovx_stt_slots, &idx);
		if (!s)
			break;
		cur = s->owner;
		if (cur == mine) {
			if (!segment) {
				*known = s->segment;
				return s;
			}
			if (s->segment && s->segment != segment) {
				/* The first segment names another segment than an earlier one did. */
				__sync_val_compare_and_swap(&s->owner, mine, 0);
				*reason = OVX_DROP_REASSEMBLY;
				return NULL;
			}
			s->segment = segment;
			return s;
		}
		if (stt_inconsistent(cur, mine)) {
			if (!segment)
				*known = s->segment;
			__sync_val_compare_and_swap(&s->owner, cur, 0);
			*reason = OVX_DROP_REASSEMBLY;
			return NULL;
		}
		if (take == OVX_STT_SLOTS &&
		    (!cur || now - s->started_ns > OVX_STT_TIMEOUT_MS * 1000000ull))
			take = idx;
	}
	if (take == OVX_STT_SLOTS)
		return NULL;
	s = bpf_map_lookup_elem(&ovx_stt_slots, &take);
	if (!s)
		return NULL;
	cur = s->owner;
	expired = s->segment;
	if ((cur && now - s->started_ns <= OVX_STT_TIMEOUT_MS * 1000000ull) ||
	    __sync_val_compare_and_swap(&s->owner, cur, mine) != cur)
		return NULL;	/* taken meanwhile */
	if (cur)	/* the frame that timed out */
		count_drop(expired, OVX_DROP_REASSEMBLY);
	s->started_ns = now;
	s->received = 0;
	s->segment = segment;
	return s;
}

/*
 * One segment of a larger STT frame: copy it into its frame's slot
 * (stt_slot()), and deliver the frame with its last byte. Segments of one
 * frame come on one CPU (one flow, one queue); should two CPUs start the
 * same frame at once, it times out and is counted like any incomplete frame.
 */
static __always_inline int stt_reassemble(struct __sk_buff *skb, struct ovx_rx *rx)
{
	const __u64 mine = stt_owner(rx);
	__u32 done, n, off, got, segment, known;
	struct ovx_stt_slot *s;
	int reason;

	reason = stt_admit(skb, rx, &segment);
	if (reason >= 0)
		return rx_tc_drop(segment, reason);
	s = stt_slot(rx, mine, segment, &known, &reason);
	if (!s)
		return rx_tc_drop(known, reason);

	for (int i = 0; i < 65536 / OVX_STT_CHUNK + 1; i++) {
		done = i * OVX_STT_CHUNK;
		if (done >= rx->stt_payload_len)
			break;
		n = rx->stt_payload_len - done;
		if (n > OVX_STT_CHUNK)
			n = OVX_STT_CHUNK;
		/*
		 * n is 1..OVX_STT_CHUNK; say so in a form every verifier
		 * follows, past the compiler's folding.
		 */
		barrier_var(n);
		n = ((n - 1) & 0x3fff) + 1;
		off = (rx->stt_off + done) & 0xffff;
		if (bpf_skb_load_bytes(skb, rx->stt_payload_off + done, s->data + off, n)) {
			__sync_val_compare_and_swap(&s->owner, mine, 0);
			return rx_tc_drop(known, OVX_DROP_REASSEMBLY);
		}
	}

	got = __sync_fetch_and_add(&s->received, rx->stt_payload_len) + rx->stt_payload_len;
	if (s->owner != mine || got > rx->stt_len) {
		/* Taken over meanwhile, or more bytes than the frame has. */
		__sync_val_compare_and_swap(&s->owner, mine, 0);
		return rx_tc_drop(known, OVX_DROP_REASSEMBLY);
	}
	if (got < rx->stt_len)
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
	return rx_tc_decap(skb, cfg, &rx);
}

#endif /* OVX_RX_TC_H */
