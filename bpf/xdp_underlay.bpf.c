// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the underlay interface: the VTEP's receive side.
 *
 * Frames of an encapsulation some segment uses (VXLAN, Geneve, NVGRE, STT,
 * over IPv4 or IPv6) are ovx's to judge: accepted only when addressed to
 * this VTEP, from a VTEP of the segment the id maps to, and well formed;
 * then the source MAC is learned, the outer headers stripped, and the
 * delivery decision (one local port, or flood) is left in XDP metadata for
 * tc_underlay, which owns skb-level delivery. STT frames that arrive in
 * several segments pass untouched: tc_underlay reassembles them. Everything
 * that is not overlay traffic passes untouched to the host.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_rx.h"

static __always_inline int drop(const struct ovx_config *cfg, __u32 segment, int reason,
				const struct ovx_trace_info *ti)
{
	count_drop(segment, reason);
	trace(cfg, OVX_TRACE_DROP, reason, segment, ti);
	return XDP_DROP;
}

SEC("xdp")
int ovx_xdp_underlay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	const struct ovx_config *cfg = get_config();
	__u32 segment, ifindex;
	struct ovx_xdp_meta *meta;
	struct ovx_rx rx = {};
	struct ovx_trace_info ti = {
		.ifindex = ctx->ingress_ifindex,
		.outer_src = &rx.src,
		.outer_dst = &rx.dst,
		.len = end - data,
	};
	struct ethhdr *inner;
	int reason;

	if (!cfg)
		return XDP_PASS;
	switch (rx_parse(data, end, end - data, cfg, &rx)) {
	case RX_PASS:
	case RX_STT_SEGMENT:
		return XDP_PASS;
	case RX_DROP:
		ti.encap = rx.encap;
		return drop(cfg, 0, rx.reason, &ti);
	}
	ti.encap = rx.encap;

	inner = data + (rx.inner_off & 0x1ff);
	if ((void *)(inner + 1) > end)
		return drop(cfg, 0, OVX_DROP_MALFORMED, &ti);
	ti.src_mac = inner->h_source;
	ti.dst_mac = inner->h_dest;
	reason = rx_accept(&rx, inner->h_dest, inner->h_source, &segment, &ifindex);
	if (reason >= 0)
		return drop(cfg, segment, reason, &ti);
	trace(cfg, OVX_TRACE_DECAP, 0, segment, &ti);

	/* STT frames may carry link padding after the frame: trim it. */
	if (data + rx.inner_off + rx.inner_len < end &&
	    bpf_xdp_adjust_tail(ctx, -(int)(end - (data + rx.inner_off + rx.inner_len))))
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	if (bpf_xdp_adjust_head(ctx, rx.inner_off) ||
	    bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	meta->magic = OVX_META_MAGIC;
	meta->segment = segment;
	meta->ifindex = ifindex;
	meta->pad = 0;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
