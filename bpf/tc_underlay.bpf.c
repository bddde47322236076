// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC ingress on the underlay interface: delivers the inner frames that
 * xdp_underlay decapsulated, to one local port or, for BUM frames, to every
 * local port of the segment, with the inner Ethernet header XDP hid put
 * back. Never back to the underlay: split horizon.
 * Overlay frames XDP passed on (STT segments, GRO-merged STT frames) are
 * finished here; everything else is the host's own traffic and passes.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_rx_tc.h"

/*
 * A frame xdp_underlay decapsulated: its trailer carries this instance's
 * cookie, the delivery decision and the inner Ethernet header, which XDP
 * hid from the host's stack. Without the cookie it is no frame of ours
 * (forged on the wire while no XDP program drops such frames).
 */
static __always_inline int deliver_decapsulated(struct __sk_buff *skb,
						const struct ovx_config *cfg)
{
	struct ovx_rx_trailer t;
	__u32 len = skb->len;

	if (len < ETH_HLEN + sizeof(t) ||
	    bpf_skb_load_bytes(skb, len - sizeof(t), &t, sizeof(t)) ||
	    !(cfg->cookie[0] | cfg->cookie[1]) ||
	    t.cookie[0] != cfg->cookie[0] || t.cookie[1] != cfg->cookie[1])
		return rx_tc_drop(0, OVX_DROP_MALFORMED);
	if (bpf_skb_store_bytes(skb, 0, t.eth, ETH_HLEN, 0) ||
	    bpf_skb_change_tail(skb, len - sizeof(t), 0))
		return rx_tc_drop(t.segment, OVX_DROP_TX_ERROR);
	return rx_tc_deliver(skb, t.segment, t.ifindex);
}

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	const struct ovx_config *cfg = get_config();

	if (!cfg)
		return TC_ACT_OK;
	if (skb->protocol == bpf_htons(OVX_HIDDEN_PROTO))
		return deliver_decapsulated(skb, cfg);
	return rx_tc(skb, cfg);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
