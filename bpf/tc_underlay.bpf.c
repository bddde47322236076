// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC ingress on the underlay interface: delivers the inner frames that
 * xdp_underlay decapsulated, to one local port or, for BUM frames, to every
 * local port of the segment, after taking off the shim XDP put in front
 * of them. Never back to the underlay (split horizon), but for frames to a
 * MAC that just left this host, which a forwarding pointer sends on to the
 * MAC's new VTEP.
 * Overlay frames XDP passed on (STT segments, GRO-merged STT frames) are
 * finished here; everything else is the host's own traffic and passes.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_rx_tc.h"

static const __u8 hidden_dst[ETH_ALEN] = OVX_HIDDEN_DST;

/* What xdp_underlay hands on: its shim in front of the inner frame. */
struct decapsulated {
	struct ethhdr eth;
	struct ovx_rx_shim shim;
	struct ethhdr inner;
} __attribute__((packed));

/*
 * A frame xdp_underlay decapsulated: the shim carries this instance's cookie
 * and the delivery decision. Without the cookie it is no frame of ours
 * (forged on the wire while no XDP program drops such frames).
 */
static __always_inline int deliver_decapsulated(struct __sk_buff *skb,
						const struct ovx_config *cfg,
						const struct decapsulated *d)
{
	__u32 inner_len, min_len;

	if (d->shim.protocol != OVX_HIDDEN_IPPROTO || !(cfg->cookie[0] | cfg->cookie[1]) ||
	    d->shim.cookie[0] != cfg->cookie[0] || d->shim.cookie[1] != cfg->cookie[1])
		return rx_tc_drop(0, OVX_DROP_MALFORMED);
	/* The shim's room becomes the outer headers. */
	if (d->shim.ifindex == OVX_SHIM_FORWARD)
		return rx_tc_forward(skb, cfg, d->shim.segment, d->inner.h_dest, sizeof(d->shim));
	/*
	 * The shim and the inner header go; the inner header takes the
	 * outer's place. adjust_room leaves at least an IPv4 header (the
	 * shim's protocol) behind the MAC header: a frame with less after its
	 * Ethernet header is padded for it first and trimmed back after.
	 */
	inner_len = skb->len - sizeof(d->shim) - ETH_HLEN;
	min_len = sizeof(d->shim) + 2 * ETH_HLEN + sizeof(struct iphdr);
	if ((skb->len < min_len && bpf_skb_change_tail(skb, min_len, 0)) ||
	    bpf_skb_adjust_room(skb, -(int)(sizeof(d->shim) + ETH_HLEN), BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, 0, &d->inner, ETH_HLEN, 0) ||
	    (skb->len > inner_len && bpf_skb_change_tail(skb, inner_len, 0)))
		return rx_tc_drop(d->shim.segment, OVX_DROP_TX_ERROR);
	return rx_tc_deliver(skb, d->shim.segment, d->shim.ifindex, d->shim.port);
}

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	const struct ovx_config *cfg = get_config();
	struct decapsulated d;

	if (!cfg)
		return TC_ACT_OK;
	if (skb->protocol == bpf_htons(ETH_P_IP) &&
	    !bpf_skb_load_bytes(skb, 0, &d, sizeof(d)) && mac_eq(d.eth.h_dest, hidden_dst))
		return deliver_decapsulated(skb, cfg, &d);
	return rx_tc(skb, cfg);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
