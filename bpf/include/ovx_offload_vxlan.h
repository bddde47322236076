/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VXLAN over IPv4 as the offload pre-filter reads it. Kept apart from
 * ovx_vxlan.h, which pulls in the host's maps (ovx_common.h -> ovx_maps.h):
 * an offloaded object may declare no map the NIC cannot hold.
 */
#ifndef OVX_OFFLOAD_VXLAN_H
#define OVX_OFFLOAD_VXLAN_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "ovx_offload_abi.h"

#define OVX_OFFLOAD_VXLAN_FLAG_I	0x08000000u	/* "VNI is valid" */

struct ovx_offload_vxlanhdr {
	__be32 flags;
	__be32 vni;		/* VNI in the upper 24 bits */
};

/* The headers of a frame that passed the checks below. */
struct ovx_offload_vxlan4 {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct udphdr *udp;
	struct ovx_offload_vxlanhdr *vxlan;
	struct ethhdr *inner;
};

/* What the pre-filter makes of a frame. */
enum ovx_offload_class {
	OVX_OFFLOAD_HOST,	/* not VXLAN over IPv4 to our port: the host's */
	OVX_OFFLOAD_CANDIDATE,	/* well formed: the maps decide */
	OVX_OFFLOAD_DROP,	/* broken or not for us: *reason says why */
};

/*
 * Classify a frame in the order the host's xdp_underlay checks it, so that
 * both name the same drop reason. IPv4 options are left to the host: only
 * the fixed 20-byte header keeps every packet offset constant on the NIC.
 */
static __always_inline enum ovx_offload_class
ovx_offload_classify(void *data, void *end, const struct ovx_offload_config *cfg,
		     struct ovx_offload_vxlan4 *out, __u32 *reason)
{
	struct ethhdr *eth = data, *inner;
	struct ovx_offload_vxlanhdr *vxh;
	__u32 l4_end, udp_end;
	struct udphdr *udp;
	struct iphdr *ip;

	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5 || udp->dest != cfg->vxlan_port)
		return OVX_OFFLOAD_HOST;

	vxh = (void *)(udp + 1);
	inner = (void *)(vxh + 1);
	/* Lengths from the headers, as the host's rx_parse() takes them. */
	l4_end = ETH_HLEN + bpf_ntohs(ip->tot_len);
	udp_end = ETH_HLEN + sizeof(*ip) + bpf_ntohs(udp->len);
	if (ip->daddr != cfg->vtep4)
		*reason = OVX_DROP_NOT_OUR_VTEP;
	else if (ip->frag_off & bpf_htons(0x3fff))	/* MF or an offset */
		*reason = OVX_DROP_FRAGMENT;
	else if (ip->version != 4 || bpf_ntohs(ip->tot_len) < sizeof(*ip) ||
		 l4_end > (__u32)(end - data) || bpf_ntohs(udp->len) < sizeof(*udp) ||
		 udp_end > l4_end)
		*reason = OVX_DROP_MALFORMED;
	else if ((void *)(inner + 1) > end)
		*reason = OVX_DROP_MALFORMED;
	else if (!(vxh->flags & bpf_htonl(OVX_OFFLOAD_VXLAN_FLAG_I)))
		*reason = OVX_DROP_UNSUPPORTED_FLAGS;
	else if (udp_end < (__u32)((void *)(inner + 1) - data))
		*reason = OVX_DROP_MALFORMED;
	else {
		out->eth = eth;
		out->ip = ip;
		out->udp = udp;
		out->vxlan = vxh;
		out->inner = inner;
		return OVX_OFFLOAD_CANDIDATE;
	}
	return OVX_OFFLOAD_DROP;
}

/* Header checksum of the fixed 20-byte IPv4 header, check field zeroed. */
static __always_inline __sum16 ovx_offload_ipv4_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/*
 * Turn a frame from one VTEP into the same frame from us to @vtep4: outer
 * MACs toward the next hop, outer IPv4 addresses, TTL and checksum; the UDP
 * source port (the inner flow's entropy) stays, the UDP checksum becomes 0
 * (allowed for IPv4 tunnels; the old one covered the old addresses).
 */
static __always_inline void ovx_offload_readdress(struct ovx_offload_vxlan4 *h,
						  __be32 saddr, __be32 vtep4,
						  const __u8 *dst_mac, const __u8 *src_mac)
{
	__builtin_memcpy(h->eth->h_dest, dst_mac, ETH_ALEN);
	__builtin_memcpy(h->eth->h_source, src_mac, ETH_ALEN);
	h->ip->saddr = saddr;
	h->ip->daddr = vtep4;
	h->ip->ttl = 64;
	h->ip->check = 0;
	h->ip->check = ovx_offload_ipv4_csum(h->ip);
	h->udp->check = 0;
}

#endif /* OVX_OFFLOAD_VXLAN_H */
