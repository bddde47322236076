/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * STT frames larger than the underlay MTU leave as several segments
 * (draft-davie-stt-08, 3.2): each carries the outer headers and the next
 * piece of the STT frame (STT header + inner frame); the TCP-like sequence
 * number holds the frame's length (upper 16 bits) and the piece's offset
 * (lower 16), the acknowledgement number the frame's id, the same in all.
 *
 * The program cuts the frame itself: the skb keeps one segment at a time
 * and each but the last leaves as a clone; the bytes past the first segment
 * wait in a per-CPU buffer. Only frames whose checksums are complete may be
 * cut this way, that is frames back from the segmenter (tc_port sends every
 * frame too large for one segment there first), because a clone of a frame
 * with checksum offload pending would have the device write the inner
 * checksum into a segment's payload.
 */
#ifndef OVX_STT_TX_H
#define OVX_STT_TX_H

#include "ovx_tx.h"

#define STT_TX_MAX_SEGS		16
#define STT_TX_SPAN		0x3fff	/* bounds an offset or a length into the buffer */

/* Private to tc_port's object: contents live for one program run. */
struct stt_tx_buf {
	__u8 data[2 * (STT_TX_SPAN + 1)];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stt_tx_buf);
} ovx_stt_tx SEC(".maps");

#define STT_SUM_CHUNK		512	/* bpf_csum_diff()'s limit before 6.11 */
#define STT_SUM_MAX		(STT_TX_SPAN + 1 - 4)

/*
 * *@sum = the ones' complement sum of the skb's bytes [@off, @off + @len),
 * read into the upper half of @buf (the lower half holds a frame being cut).
 */
static __always_inline int stt_sum(struct __sk_buff *skb, struct stt_tx_buf *buf,
				   __u32 off, __u64 len, __u32 *sum)
{
	__u8 *b = &buf->data[STT_TX_SPAN + 1];
	__u64 padded, at, n;
	__s64 s = 0;

	if (!len || len > STT_SUM_MAX)
		return -1;
	/* 1..16384 in a form every verifier follows (6.1 needs the + 1). */
	len = ((len - 1) & STT_TX_SPAN) + 1;
	/* Whole 32-bit words for bpf_csum_diff(): the last one's tail is 0. */
	*(__u32 *)&b[(len - 1) & (STT_TX_SPAN & ~3ull)] = 0;
	if (bpf_skb_load_bytes(skb, off, b, len))
		return -1;
	padded = (len + 3) & ~3ull;
	for (int i = 0; i < (STT_SUM_MAX + STT_SUM_CHUNK) / STT_SUM_CHUNK; i++) {
		at = i * STT_SUM_CHUNK;
		if (at >= padded)
			break;
		n = padded - at;
		if (n > STT_SUM_CHUNK)
			n = STT_SUM_CHUNK;
		barrier_var(n);
		n = ((n - 1) & (STT_SUM_CHUNK - 1)) + 1;	/* 1..512 for 6.1's verifier too */
		s = bpf_csum_diff(NULL, 0, (__be32 *)(b + at), n, (__wsum)s);
		if (s < 0)
			return -1;
	}
	*sum = s;
	return 0;
}

/*
 * For a frame sent in one piece: the sum tx_xmit() completes per copy with
 * the pseudo-header of its destination.
 */
static __always_inline int stt_frame_sum(struct __sk_buff *skb, struct ovx_tx *tx)
{
	const __u32 l4 = OVX_OUTER_ETH + (tx->family == AF_INET6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4);
	__u32 zero = 0;
	struct stt_tx_buf *buf = bpf_map_lookup_elem(&ovx_stt_tx, &zero);

	if (!buf || stt_sum(skb, buf, l4, tx->inner_len + OVX_STT_HLEN, &tx->l4_sum))
		return -1;
	tx->l4_csum = 1;
	return 0;
}

struct stt_tx_ctx {
	struct __sk_buff *skb;
	struct ovx_tx *tx;
	struct stt_tx_buf *buf;
	__u32 hoff;		/* outer Ethernet + IP + TCP-like header */
	__u32 frame;		/* STT frame: STT header + inner frame */
	__u32 mss;		/* STT frame bytes per segment but the last */
	__u32 n;		/* segments */
	__u32 ifindex;
	int err;
};

/* bpf_loop() body: segment @k into the skb; a clone leaves unless last. */
static long stt_tx_one(__u64 k, void *arg)
{
	struct stt_tx_ctx *c = arg;
	struct ovx_tx *tx = c->tx;
	__u32 off = k * c->mss, len, from, l4, sum;
	__sum16 check;
	int err;

	if (off >= c->frame)
		return 1;
	len = c->frame - off;
	if (len > c->mss)
		len = c->mss;
	len = ((len - 1) & STT_TX_SPAN) + 1;	/* 1..16384, as the verifier sees it */
	if (bpf_skb_change_tail(c->skb, c->hoff + len, 0))
		goto fail;
	if (k) {
		from = (off - c->mss) & STT_TX_SPAN;
		if (bpf_skb_store_bytes(c->skb, c->hoff, &c->buf->data[from], len, 0))
			goto fail;
	}
	if (tx->family == AF_INET6) {
		tx->h.v6.tun.stt.tcp.seq = bpf_htonl(c->frame << 16 | off);
		tx->h.v6.tun.stt.tcp.check = 0;
		tx->h.v6.ip.payload_len = bpf_htons(sizeof(struct tcphdr) + len);
		err = bpf_skb_store_bytes(c->skb, 0, &tx->h.v6.eth,
					  OVX_OUTER_ETH + OVX_OUTER_IPV6 + sizeof(struct tcphdr), 0);
	} else {
		tx->h.v4.tun.stt.tcp.seq = bpf_htonl(c->frame << 16 | off);
		tx->h.v4.tun.stt.tcp.check = 0;
		tx->h.v4.ip.tot_len = bpf_htons(OVX_OUTER_IPV4 + sizeof(struct tcphdr) + len);
		tx->h.v4.ip.check = 0;
		tx->h.v4.ip.check = ipv4_csum(&tx->h.v4.ip);
		err = bpf_skb_store_bytes(c->skb, 0, &tx->h.v4.eth,
					  OVX_OUTER_ETH + OVX_OUTER_IPV4 + sizeof(struct tcphdr), 0);
	}
	if (err)
		goto fail;
	/* The TCP-like checksum of this segment: header and piece. */
	l4 = c->hoff - sizeof(struct tcphdr);
	if (stt_sum(c->skb, c->buf, l4, sizeof(struct tcphdr) + len, &sum))
		goto fail;
	check = tcp_check(tx, sizeof(struct tcphdr) + len, sum);
	if (bpf_skb_store_bytes(c->skb, l4 + offsetof(struct tcphdr, check), &check,
				sizeof(check), 0))
		goto fail;
	if (k + 1 < c->n && bpf_clone_redirect(c->skb, c->ifindex, 0))
		goto fail;
	return 0;
fail:
	c->err = 1;
	return 1;
}

/*
 * Send the encapsulated STT frame in @skb (tx_encap) to @dst in segments.
 * Returns a TC verdict; drops are counted.
 */
static __always_inline int stt_xmit_segments(struct __sk_buff *skb,
					     const struct ovx_config *cfg,
					     struct ovx_tx *tx, const struct ovx_addr *dst,
					     __u32 segment, struct ovx_seg_stats *st)
{
	const __u32 iplen = tx->family == AF_INET6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4;
	struct stt_tx_ctx c = {
		.skb = skb,
		.tx = tx,
		.hoff = OVX_OUTER_ETH + iplen + sizeof(struct tcphdr),
		.frame = sizeof(struct ovx_stthdr) + tx->inner_len,
	};
	struct bpf_fib_lookup fib;
	__u32 zero = 0, rest, mss;

	if (tx->inner_len > OVX_STT_SEGMENTED_MAX || cfg->underlay_mtu <= iplen + 2 * sizeof(struct tcphdr)) {
		count_drop(segment, OVX_DROP_MTU_EXCEEDED);
		return TC_ACT_SHOT;
	}
	mss = cfg->underlay_mtu - iplen - sizeof(struct tcphdr);
	c.n = (c.frame + mss - 1) / mss;
	if (c.n > STT_TX_MAX_SEGS) {
		count_drop(segment, OVX_DROP_MTU_EXCEEDED);
		return TC_ACT_SHOT;
	}
	/*
	 * Pieces of equal size: bpf_skb_change_tail() refuses to cut an skb
	 * in front of its transport header (the inner TCP/UDP header, about
	 * 50 bytes into the STT frame), which a short last piece would.
	 */
	c.mss = (c.frame + c.n - 1) / c.n;
	/* Clones cannot resolve a neighbour: the managed entry has it. */
	if (tx_route(skb, cfg, tx, dst, segment, 0, cfg->underlay_mtu, &fib) < 0)
		return TC_ACT_SHOT;
	c.ifindex = fib.ifindex;
	c.buf = bpf_map_lookup_elem(&ovx_stt_tx, &zero);
	rest = c.frame - c.mss;
	if (!c.buf || !rest || rest > STT_TX_SPAN)
		goto fail;
	rest = ((rest - 1) & STT_TX_SPAN) + 1;	/* 1..16384, as the verifier sees it */
	if (bpf_skb_load_bytes(skb, c.hoff + c.mss, c.buf->data, rest))
		goto fail;
	bpf_loop(c.n, stt_tx_one, &c, 0);
	if (c.err)
		goto fail;
	st->tx_packets++;
	st->tx_bytes += tx->inner_len;
	st->stt_segments += c.n - 1;
	return bpf_redirect(c.ifindex, 0);
fail:
	count_drop(segment, OVX_DROP_TX_ERROR);
	return TC_ACT_SHOT;
}

#endif /* OVX_STT_TX_H */
