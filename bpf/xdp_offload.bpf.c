// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * XDP on the NIC (hardware offload): the underlay pre-filter and relay.
 *
 * Overlay frames (VXLAN, Geneve, NVGRE over IPv4 or IPv6) that the host
 * would drop anyway (not to this VTEP, fragmented, truncated, with flags or
 * a protocol ovx refuses, for an unknown id, or from a VTEP that is no
 * member of the segment) are dropped and counted here, before they cross
 * PCIe. When the relay is on (ovx_off_relay has entries), a unicast VXLAN
 * frame over IPv4 for a MAC that sits behind another VTEP is sent on to that
 * VTEP (XDP_TX) instead of reaching the host, which would drop it (split
 * horizon), once at most. Every other frame passes to the host unchanged,
 * where xdp_underlay and tc_underlay do the rest. Written within the NFP
 * JIT's rules (docs/OFFLOAD.md), which `ovx offload check` verifies.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_offload_maps.h"
#include "ovx_offload_rx.h"

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

/*
 * Where a static entry puts the inner destination MAC of a VXLAN frame over
 * IPv4 in @segment, if it may be sent on there: never a frame that a VTEP
 * sent on already (its mark) or that has no hop left, never back to its
 * sender, never broadcast or multicast (the host floods). The mark alone
 * bounds a frame to one relay, whatever the VTEPs' entries say; the hop
 * budget holds should a middlebox rewrite the mark.
 */
static __always_inline const struct ovx_offload_relay *
relay_for(__u32 segment, void *data, void *end, const struct iphdr *ip)
{
	const struct ovx_offload_relay *relay;
	struct ethhdr *inner = data + ETH_HLEN + sizeof(*ip) + sizeof(struct udphdr) +
			       sizeof(struct ovx_vxlanhdr);
	struct ovx_fdb_key key = {};
	const __u16 *mac;
	__u16 *key_mac;

	if ((void *)(inner + 1) > end || ip->id == bpf_htons(OVX_FWD_IPV4_ID) || ip->ttl <= 1 ||
	    (inner->h_dest[0] & 1))
		return NULL;
	key.segment = segment;
	/* Half-words: the packed struct ethhdr would make it six byte copies. */
	mac = (const __u16 *)inner->h_dest;
	key_mac = (__u16 *)key.mac;
	key_mac[0] = mac[0];
	key_mac[1] = mac[1];
	key_mac[2] = mac[2];
	relay = bpf_map_lookup_elem(&ovx_off_relay, &key);
	if (!relay || relay->vtep4 == ip->saddr)
		return NULL;
	return relay;
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
	struct ovx_offload_frame f = {};
	__u32 zero = 0, reason = 0, *segment;
	struct iphdr *ip;

	cfg = bpf_map_lookup_elem(&ovx_off_config, &zero);
	if (!cfg)
		return XDP_PASS;
	switch (ovx_offload_classify(data, end, cfg, &tkey.addr, &f, &reason)) {
	case OVX_OFFLOAD_HOST:
		return XDP_PASS;
	case OVX_OFFLOAD_DROP:
		return drop(reason, end - data);
	case OVX_OFFLOAD_CANDIDATE:
		break;
	}

	vkey.encap = f.encap;
	vkey.id = f.id;
	segment = bpf_map_lookup_elem(&ovx_off_vni, &vkey);
	if (!segment)
		return drop(OVX_DROP_UNKNOWN_VNI, end - data);
	tkey.segment = *segment;
	if (!bpf_map_lookup_elem(&ovx_off_vteps, &tkey))
		return drop(OVX_DROP_UNKNOWN_VTEP, end - data);

	if (tkey.addr.family != AF_INET || f.encap != OVX_ENCAP_VXLAN)
		return XDP_PASS;
	ip = data + ETH_HLEN;
	relay = relay_for(tkey.segment, data, end, ip);
	if (!relay)
		return XDP_PASS;
	ovx_offload_relay_out(data, ip, (void *)(ip + 1), relay);
	count(bpf_map_lookup_elem(&ovx_off_relayed, &zero), end - data);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
