// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the NIC (hardware offload): the underlay pre-filter and relay.
 *
 * Overlay frames that the host would drop anyway (not to this VTEP,
 * fragmented, truncated, without the VNI flag, for an unknown VNI, or from a
 * VTEP that is no member of the segment) are dropped and counted here,
 * before they cross PCIe. When the relay is on (ovx_off_relay has entries),
 * a unicast frame for a MAC that sits behind another VTEP is re-addressed to
 * that VTEP and sent back out (XDP_TX) instead of reaching the host, which
 * would drop it (split horizon). Every other frame passes to the host
 * unchanged, where xdp_underlay and tc_underlay do the rest. Written within
 * the NFP JIT's rules (docs/OFFLOAD.md), which `ovx offload check` verifies.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_offload_maps.h"
#include "ovx_offload_vxlan.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* Counters by atomic add only: the NIC cannot store into map values. */
static __always_inline void count(struct ovx_offload_counter *c, __u64 len)
{
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, len);
	}
}

static __always_inline int drop(__u32 reason, __u64 len)
{
	count(bpf_map_lookup_elem(&ovx_off_drops, &reason), len);
	return XDP_DROP;
}

/* Where a static entry puts (segment, the inner destination MAC), if elsewhere. */
static __always_inline const struct ovx_offload_relay *
relay_for(__u32 segment, const struct ethhdr *inner)
{
	struct ovx_fdb_key key = {};

	if (inner->h_dest[0] & 1)	/* broadcast and multicast: the host floods */
		return NULL;
	key.segment = segment;
	__builtin_memcpy(key.mac, inner->h_dest, ETH_ALEN);
	return bpf_map_lookup_elem(&ovx_off_relay, &key);
}

SEC("xdp")
int ovx_xdp_offload(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	/*
	 * Keys start all-zero and get their fields one by one: a non-zero
	 * initializer becomes a .rodata constant pool, which libbpf would
	 * create as a global-data map on the NIC.
	 */
	struct ovx_vni_key vkey = {};
	struct ovx_vtep_key tkey = {};
	const struct ovx_offload_relay *relay;
	const struct ovx_offload_config *cfg;
	struct ovx_offload_vxlan4 h;
	__u32 zero = 0, reason = 0, *segment;

	cfg = bpf_map_lookup_elem(&ovx_off_config, &zero);
	if (!cfg)
		return XDP_PASS;
	switch (ovx_offload_classify(data, end, cfg, &h, &reason)) {
	case OVX_OFFLOAD_HOST:
		return XDP_PASS;
	case OVX_OFFLOAD_DROP:
		return drop(reason, end - data);
	case OVX_OFFLOAD_CANDIDATE:
		break;
	}

	vkey.encap = OVX_ENCAP_VXLAN;
	vkey.id = bpf_ntohl(h.vxlan->vni) >> 8;
	segment = bpf_map_lookup_elem(&ovx_off_vni, &vkey);
	if (!segment)
		return drop(OVX_DROP_UNKNOWN_VNI, end - data);
	tkey.segment = *segment;
	tkey.addr.family = AF_INET;
	tkey.addr.a[0] = h.ip->saddr;
	if (!bpf_map_lookup_elem(&ovx_off_vteps, &tkey))
		return drop(OVX_DROP_UNKNOWN_VTEP, end - data);

	/* Never back to the sender: that is a loop, and the host's to drop. */
	relay = relay_for(tkey.segment, h.inner);
	if (!relay || relay->vtep4 == h.ip->saddr)
		return XDP_PASS;
	ovx_offload_readdress(&h, cfg->vtep4, relay->vtep4, relay->dst_mac, relay->src_mac);
	count(bpf_map_lookup_elem(&ovx_off_relayed, &zero), end - data);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
