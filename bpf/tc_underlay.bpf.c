// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TC ingress on the underlay interface: delivers the inner frames that
 * xdp_underlay decapsulated, to one local port or, for BUM frames, to every
 * local port of the segment. Never back to the underlay: split horizon.
 * Overlay frames XDP passed on (STT segments, GRO-merged STT frames) are
 * finished here; everything else is the host's own traffic and passes.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "ovx_common.h"
#include "ovx_rx_tc.h"

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct ovx_xdp_meta *meta = (void *)(long)skb->data_meta;
	const struct ovx_config *cfg;

	if ((void *)(meta + 1) <= data && meta->magic == OVX_META_MAGIC)
		return rx_tc_deliver(skb, meta->segment, meta->ifindex);
	cfg = get_config();
	if (!cfg)
		return TC_ACT_OK;
	return rx_tc(skb, cfg);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
