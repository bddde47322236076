// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC ingress on the host side of each VM port: the VTEP's send side.
 *
 * Port -> segment; the VM may only send with its own MAC; the destination is
 * looked up per segment: a local port gets the frame directly, a MAC behind a
 * remote VTEP gets it in the segment's encapsulation, and BUM frames are replicated to
 * every other local port and every remote VTEP of the segment.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_common.h"
#include "ovx_flood.h"
#include "ovx_stt_tx.h"

static __always_inline int drop(const struct ovx_config *cfg, __u32 segment, int reason,
				const struct ovx_trace_info *ti)
{
	count_drop(segment, reason);
	trace(cfg, OVX_TRACE_DROP, reason, segment, ti);
	return TC_ACT_SHOT;
}

/* The underlay family a flood goes out on: a segment's VTEPs share one. */
static __always_inline __u8 flood_family(__u32 segment)
{
	struct ovx_flood_key key = { .segment = segment };
	struct ovx_addr *vtep = bpf_map_lookup_elem(&ovx_flood_vteps, &key);

	return vtep ? vtep->family : 0;
}

struct flood_vteps_ctx {
	struct __sk_buff *skb;
	const struct ovx_config *cfg;
	struct ovx_tx *tx;
	struct ovx_seg_stats *st;
	__u32 segment;
	struct ovx_addr pending;	/* the copy to send next, family 0 = none */
};

/* bpf_loop() body: the verifier checks it once, not once per VTEP. */
static long flood_vtep(__u64 index, void *arg)
{
	struct flood_vteps_ctx *c = arg;
	struct ovx_flood_key key = { .segment = c->segment, .index = index };
	struct ovx_addr *vtep = bpf_map_lookup_elem(&ovx_flood_vteps, &key);

	if (!vtep)
		return 0;
	if (c->pending.family) {
		tx_xmit(c->skb, c->cfg, c->tx, &c->pending, c->segment, c->st, 1);
		c->st->flood_copies++;
	}
	c->pending = *vtep;
	return 0;
}

/* One copy to each remote VTEP of the segment; the last takes the frame. */
static __always_inline int flood_vteps(struct __sk_buff *skb,
				       const struct ovx_config *cfg,
				       struct ovx_tx *tx, __u32 segment,
				       const struct ovx_segment *seg,
				       struct ovx_seg_stats *st)
{
	struct flood_vteps_ctx c = {
		.skb = skb, .cfg = cfg, .tx = tx, .st = st, .segment = segment,
	};
	__u32 n = seg->n_vteps < OVX_MAX_FLOOD_VTEPS ? seg->n_vteps : OVX_MAX_FLOOD_VTEPS;

	bpf_loop(n, flood_vtep, &c, 0);
	if (!c.pending.family)
		return TC_ACT_SHOT;
	st->flood_copies++;
	return tx_xmit(skb, cfg, tx, &c.pending, segment, st, 0);
}

/* Encapsulate once for @family; -1 when the frame is ready to send. */
static __always_inline int encap(struct __sk_buff *skb, const struct ovx_config *cfg,
				 const struct ovx_segment *seg, __u8 family,
				 struct ovx_tx *tx)
{
	int reason;

	if (!cfg)
		return OVX_DROP_NOT_CONFIGURED;
	reason = tx_encap(skb, cfg, seg, family, tx);
	if (reason >= 0)
		return reason;
	if (!tx_fits(skb, cfg))
		return OVX_DROP_MTU_EXCEEDED;
	if (seg->encap == OVX_ENCAP_STT && stt_frame_sum(skb, tx))
		return OVX_DROP_TX_ERROR;
	return -1;
}

/*
 * An STT frame too large for one segment goes to the segmenter first
 * (loader/segmenter.h): a VM's TSO frame cannot be cut after the outer TCP
 * header, as STT intends, because its checksum offload points at the inner
 * TCP header; the segmenter cuts it into frames of the VM's MSS and
 * completes every checksum. A large frame that is not TSO comes back whole
 * with its checksums complete, and leaves in STT segments
 * (stt_xmit_segments). What comes back is counted then, not here.
 */
static __always_inline int stt_cut(struct __sk_buff *skb, const struct ovx_config *cfg,
				   const struct ovx_segment *seg, __u32 segment, __u32 ifindex,
				   struct ovx_port_stats *ps, struct ovx_seg_stats *st,
				   const struct ovx_trace_info *ti)
{
	if (!seg->gso_ifindex)	/* maps older than the segmenter */
		return drop(cfg, segment, OVX_DROP_MTU_EXCEEDED, ti);
	if (ps) {
		ps->rx_packets--;
		ps->rx_bytes -= skb->len;
	}
	if (skb->gso_segs > 1)
		st->stt_segments += skb->gso_segs - 1;
	skb->mark = ifindex;
	return bpf_redirect(seg->gso_ifindex, 0);
}

static __always_inline int needs_cut(const struct __sk_buff *skb, const struct ovx_config *cfg,
				     const struct ovx_segment *seg, __u8 family)
{
	const __u32 iplen = family == AF_INET6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4;

	if (seg->encap != OVX_ENCAP_STT)
		return 0;
	return skb->gso_size || (cfg && skb->len + iplen + OVX_STT_HLEN > cfg->underlay_mtu);
}

SEC("tc")
int ovx_tc_port(struct __sk_buff *skb)
{
	const struct ovx_config *cfg = get_config();
	__u32 ifindex = skb->ifindex, segment, inner_len;
	__u8 dmac[ETH_ALEN] = {}, smac[ETH_ALEN] = {};
	struct ovx_trace_info ti = {
		.ifindex = ifindex, .src_mac = smac, .dst_mac = dmac, .len = skb->len,
	};
	const struct ovx_fdb_entry *e;
	const struct ovx_segment *seg;
	struct ovx_port_stats *ps;
	const struct ovx_port *port;
	struct ovx_flood_port pending;
	struct ovx_seg_stats *st;
	struct ethhdr *eth;
	struct ovx_tx *tx;
	__u64 now = 0;
	int from_segmenter = 0, reason, rc;

	port = bpf_map_lookup_elem(&ovx_ports, &ifindex);
	if (port && !port->segment) {
		/* Back from the segmenter (stt_cut), from the port in the mark. */
		from_segmenter = 1;
		ifindex = skb->mark;
		skb->mark = 0;
		ti.ifindex = ifindex;
		port = bpf_map_lookup_elem(&ovx_ports, &ifindex);
		if (port && !port->segment)
			port = NULL;
	}
	if (!port)
		return drop(cfg, 0, OVX_DROP_NO_PORT, &ti);
	ps = port_stats(port->index);
	if (ps) {
		ps->rx_packets++;
		ps->rx_bytes += skb->len;
	}
	segment = port->segment;
	seg = bpf_map_lookup_elem(&ovx_segments, &segment);
	st = seg_stats(segment);
	if (!seg || !st || !(seg->flags & OVX_SEG_ACTIVE))
		return drop(cfg, segment, OVX_DROP_NO_PORT, &ti);
	ti.encap = seg->encap;

	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end) {
		if (bpf_skb_pull_data(skb, sizeof(*eth)))
			return drop(cfg, segment, OVX_DROP_MALFORMED, &ti);
		eth = (void *)(long)skb->data;
		if ((void *)(eth + 1) > (void *)(long)skb->data_end)
			return drop(cfg, segment, OVX_DROP_MALFORMED, &ti);
	}
	/* Copies: the encapsulation below moves the frame under eth. */
	mac_copy(dmac, eth->h_dest);
	mac_copy(smac, eth->h_source);
	if (!mac_eq(eth->h_source, port->mac)) {
		if (ps)
			ps->spoof_drops++;
		return drop(cfg, segment, OVX_DROP_SPOOFED_SRC, &ti);
	}

	inner_len = skb->len;
	if (!mac_is_multicast(dmac)) {
		e = fdb_lookup(segment, seg, dmac, &now);
		if (e && e->kind == OVX_FDB_PORT) {
			if (e->ifindex == ifindex)
				return drop(cfg, segment, OVX_DROP_HAIRPIN, &ti);
			st->local_packets++;
			st->local_bytes += inner_len;
			count_port_tx(e->ifindex, e->port, inner_len);
			trace(cfg, OVX_TRACE_LOCAL, 0, segment, &ti);
			return bpf_redirect(e->ifindex, 0);
		}
		if (e) {
			/*
			 * Only to a VTEP of the segment: an entry learned before
			 * its VTEP left the segment must not reach that host.
			 * A static entry needs no lookup: the control plane makes
			 * its VTEP a member before it writes the entry and removes
			 * the entry before the membership (agent/reconcile.h).
			 */
			if (!(e->flags & OVX_FDB_STATIC) && !vtep_member(segment, &e->vtep))
				return drop(cfg, segment, OVX_DROP_UNKNOWN_VTEP, &ti);
			if (!from_segmenter && needs_cut(skb, cfg, seg, e->vtep.family))
				return stt_cut(skb, cfg, seg, segment, ifindex, ps, st, &ti);
			/* e stays valid (RCU) while the program runs: no copy. */
			tx = tx_scratch();
			if (!tx)
				return drop(cfg, segment, OVX_DROP_TX_ERROR, &ti);
			tx->now = now;
			reason = encap(skb, cfg, seg, e->vtep.family, tx);
			if (reason == OVX_DROP_MTU_EXCEEDED && from_segmenter &&
			    seg->encap == OVX_ENCAP_STT)
				rc = stt_xmit_segments(skb, cfg, tx, &e->vtep, segment, st);
			else if (reason >= 0)
				return drop(cfg, segment, reason, &ti);
			else
				rc = tx_xmit(skb, cfg, tx, &e->vtep, segment, st, 0);
			if (rc != TC_ACT_SHOT && trace_on(cfg, OVX_TRACE_ENCAP)) {
				ti.outer_src = e->vtep.family == AF_INET6 ? &cfg->vtep6 : &cfg->vtep4;
				ti.outer_dst = &e->vtep;
				trace_emit(OVX_TRACE_ENCAP, 0, segment, &ti);
			}
			return rc;
		}
	}

	/* Broadcast, multicast or unknown unicast: head-end replication. */
	if (seg->n_vteps && !from_segmenter && seg->encap == OVX_ENCAP_STT && skb->gso_size)
		return stt_cut(skb, cfg, seg, segment, ifindex, ps, st, &ti);
	trace(cfg, OVX_TRACE_FLOOD, 0, segment, &ti);
	pending = flood_ports(skb, segment, seg, ifindex, st);
	if (!cfg || !seg->n_vteps)
		return flood_ports_finish(skb, &pending, st);
	if (pending.ifindex) {
		if (bpf_clone_redirect(skb, pending.ifindex, 0)) {
			count_drop(segment, OVX_DROP_TX_ERROR);
		} else {
			st->flood_copies++;
			count_port_tx(pending.ifindex, pending.index, inner_len);
		}
	}
	tx = tx_scratch();
	if (!tx)
		return drop(cfg, segment, OVX_DROP_TX_ERROR, &ti);
	tx->now = now;
	reason = encap(skb, cfg, seg, flood_family(segment), tx);
	if (reason >= 0)
		return drop(cfg, segment, reason, &ti);
	return flood_vteps(skb, cfg, tx, segment, seg, st);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
