// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the underlay interface: the VTEP's receive side.
 *
 * Frames of an encapsulation some segment uses (VXLAN, Geneve, NVGRE, STT,
 * over IPv4 or IPv6) are ovx's to judge: accepted only when addressed to
 * this VTEP, from a VTEP of the segment the id maps to, and well formed;
 * then the source MAC is learned, the outer headers stripped, and the
 * delivery decision (one local port, or flood) is left in a trailer behind
 * the inner frame for tc_underlay, which owns skb-level delivery. The inner
 * frame leaves XDP with an Ethernet header the host's stack drops
 * (OVX_HIDDEN_*): without tc_underlay to restore it, no tenant frame reaches
 * the host. STT frames that arrive in
 * several segments pass untouched: tc_underlay reassembles them. Everything
 * that is not overlay traffic passes untouched to the host.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_rx.h"

static const __u8 hidden_dst[ETH_ALEN] = OVX_HIDDEN_DST;

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
	__u32 segment, ifindex, frame_len;
	struct ovx_rx_trailer *t;
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
	inner = data;
	/* Only this program makes frames of the hidden type: none from the wire. */
	if ((void *)(inner + 1) <= end && inner->h_proto == bpf_htons(OVX_HIDDEN_PROTO))
		return drop(cfg, 0, OVX_DROP_MALFORMED, &ti);
	switch (rx_parse(data, end, end - data, cfg, &rx)) {
	case RX_PASS:
	case RX_STT_SEGMENT:
		return XDP_PASS;
	case RX_DROP:
		ti.encap = rx.encap;
		return drop(cfg, 0, rx.reason, &ti);
	}
	ti.encap = rx.encap;

	/*
	 * Room for the trailer behind the inner frame, link padding cut off.
	 * A buffer without that much tailroom passes whole, for tc_underlay
	 * to decapsulate (as in mode tc): nothing is counted here for it.
	 */
	/* XDP buffers are a page at most: the mask only bounds it for the verifier. */
	frame_len = (rx.inner_off + rx.inner_len) & 0x7fff;
	if (bpf_xdp_adjust_tail(ctx, (int)(frame_len + sizeof(*t)) - (int)(end - data)))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	inner = data + (rx.inner_off & 0x1ff);
	if ((void *)(inner + 1) > end)
		return drop(cfg, 0, OVX_DROP_MALFORMED, &ti);
	ti.src_mac = inner->h_source;
	ti.dst_mac = inner->h_dest;
	reason = rx_accept(&rx, inner->h_dest, inner->h_source, &segment, &ifindex);
	if (reason >= 0)
		return drop(cfg, segment, reason, &ti);
	trace(cfg, OVX_TRACE_DECAP, 0, segment, &ti);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	inner = data + (rx.inner_off & 0x1ff);
	t = data + frame_len;
	if ((void *)(inner + 1) > end || (void *)(t + 1) > end)
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	__builtin_memcpy(t->eth, inner, ETH_HLEN);
	t->pad = 0;
	t->segment = segment;
	t->ifindex = ifindex;
	t->cookie[0] = cfg->cookie[0];
	t->cookie[1] = cfg->cookie[1];
	/* Only tc_underlay may see this frame as what it is: fail closed. */
	__builtin_memcpy(inner->h_dest, hidden_dst, ETH_ALEN);
	__builtin_memset(inner->h_source, 0, ETH_ALEN);
	inner->h_proto = bpf_htons(OVX_HIDDEN_PROTO);
	if (bpf_xdp_adjust_head(ctx, rx.inner_off))
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
