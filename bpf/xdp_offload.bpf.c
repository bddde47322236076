// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the NIC (hardware offload): the underlay pre-filter.
 *
 * Overlay frames that the host would drop anyway (not to this VTEP,
 * fragmented, truncated, without the VNI flag, for an unknown VNI, or from a
 * VTEP that is no member of the segment) are dropped and counted here,
 * before they cross PCIe; every other frame passes to the host unchanged,
 * where xdp_underlay and tc_underlay do the rest. Written within the NFP
 * JIT's rules (docs/OFFLOAD.md), which `ovx offload check` verifies.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_offload_maps.h"
#include "ovx_offload_vxlan.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* Counters by atomic add only: the NIC cannot store into map values. */
static __always_inline int drop(__u32 reason, __u64 len)
{
	struct ovx_offload_counter *c = bpf_map_lookup_elem(&ovx_off_drops, &reason);

	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, len);
	}
	return XDP_DROP;
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
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
