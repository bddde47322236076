// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the underlay interface: the VTEP's receive side.
 *
 * Frames of an encapsulation some segment uses (VXLAN, Geneve, NVGRE, STT,
 * over IPv4 or IPv6) are ovx's to judge: accepted only when addressed to
 * this VTEP, from a VTEP of the segment the id maps to, and well formed;
 * then the source MAC is learned, the outer headers stripped, and the
 * delivery decision (one local port, flood, or on to another VTEP by a
 * forwarding pointer) is left in a shim in front
 * of the inner frame for tc_underlay, which owns skb-level delivery; but
 * a frame for one local port that takes XDP frames (ovx_port_devmap) goes
 * there directly, with XDP_REDIRECT. The
 * shim is a frame the host's stack drops (struct ovx_rx_shim): without
 * tc_underlay to take it off, no tenant frame reaches the host. STT frames that arrive in
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
	__u16 port;
	struct ovx_rx_shim *shim;
	struct ovx_rx rx = {};
	struct ovx_trace_info ti = {
		.ifindex = ctx->ingress_ifindex,
		.outer_src = &rx.src,
		.outer_dst = &rx.dst,
		.len = end - data,
	};
	struct ethhdr *eth = data, *inner;
	int reason;

	if (!cfg)
		return XDP_PASS;
	/* Only this program makes frames of the hidden shape: none from the wire. */
	if ((void *)(eth + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    mac_eq(eth->h_dest, hidden_dst))
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

	inner = data + (rx.inner_off & 0x1ff);
	if ((void *)(inner + 1) > end)
		return drop(cfg, 0, OVX_DROP_MALFORMED, &ti);
	ti.src_mac = inner->h_source;
	ti.dst_mac = inner->h_dest;
	reason = rx_judge(&rx, inner->h_dest, inner->h_source, &segment, &ifindex, &port, 1);
	if (reason >= 0)
		return drop(cfg, segment, reason, &ti);
	trace(cfg, OVX_TRACE_DECAP, 0, segment, &ti);

	/* Link padding after the IP packet is no part of the inner frame. */
	frame_len = rx.inner_off + rx.inner_len;
	if (frame_len < (__u32)(end - data) &&
	    bpf_xdp_adjust_tail(ctx, -(int)((__u32)(end - data) - frame_len)))
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	/*
	 * A local port in ovx_port_devmap takes the inner frame as it is, with
	 * no skb made on the underlay: counted as tc_underlay counts what it
	 * delivers. A miss leaves the redirect unset (the flags' XDP_PASS).
	 */
	if (ifindex && ifindex != OVX_SHIM_FORWARD && (cfg->flags & OVX_CFG_XDP_PORTS) &&
	    bpf_redirect_map(&ovx_port_devmap, ifindex, XDP_PASS) == XDP_REDIRECT) {
		if (bpf_xdp_adjust_head(ctx, (int)rx.inner_off))
			return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
		count_port_tx(ifindex, port, rx.inner_len);
		return XDP_REDIRECT;
	}
	/* Outer headers off, the shim on: only tc_underlay may deliver it. */
	if (bpf_xdp_adjust_head(ctx, (int)rx.inner_off - (int)(ETH_HLEN + sizeof(*shim))))
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	shim = (void *)(eth + 1);
	if ((void *)(shim + 1) > end)
		return drop(cfg, segment, OVX_DROP_TX_ERROR, NULL);
	__builtin_memcpy(eth->h_dest, hidden_dst, ETH_ALEN);
	__builtin_memset(eth->h_source, 0, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	__builtin_memset(shim, 0, sizeof(*shim));
	shim->ver_ihl = 0x45;
	shim->protocol = OVX_HIDDEN_IPPROTO;
	shim->cookie[0] = cfg->cookie[0];
	shim->cookie[1] = cfg->cookie[1];
	shim->segment = segment;
	shim->ifindex = ifindex;
	shim->port = port;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
