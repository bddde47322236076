/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The receive checks of the offload pre-filter: VXLAN, Geneve and NVGRE over
 * IPv4 and IPv6, as the host's rx_parse() (ovx_rx.h) makes them. Kept apart
 * from ovx_rx.h, which pulls in the host's maps (ovx_common.h ->
 * ovx_maps.h): an offloaded object may declare no map the NIC cannot hold.
 * The wire formats are the host's (ovx_wire.h, which declares no map).
 */
#ifndef OVX_OFFLOAD_RX_H
#define OVX_OFFLOAD_RX_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "ovx_offload_abi.h"
#include "ovx_wire.h"

#ifndef IPPROTO_GRE
#define IPPROTO_GRE 47
#endif
#ifndef AF_INET	/* the C library's, which BPF code does not include */
#define AF_INET 2
#define AF_INET6 10
#endif

/* What the pre-filter makes of a frame. */
enum ovx_offload_class {
	OVX_OFFLOAD_HOST,	/* not overlay traffic the NIC reads: the host's */
	OVX_OFFLOAD_CANDIDATE,	/* well formed: the maps decide */
	OVX_OFFLOAD_DROP,	/* broken or not for us: *reason says why */
};

/*
 * The parts of a candidate frame the maps need; the relay finds the outer
 * IPv4 header at its constant offset (ETH_HLEN).
 */
struct ovx_offload_frame {
	__u32 id;		/* VNI or VSID */
	__u8 encap;		/* enum ovx_encap */
};

static __always_inline int ovx_offload_encap_in_use(const struct ovx_offload_config *cfg,
						    __u8 encap)
{
	return cfg->encaps & (1u << encap);
}

/*
 * The tunnel behind an outer IP header whose payload starts at @l4 (one of
 * two constant offsets, one per family, so that every packet offset stays
 * constant on each path on the NIC) and ends at @l4_end, in the host's order
 * of checks, so that both name the same drop reason: @ip_drop is the outer
 * header's (not our VTEP, fragment, malformed; OVX_DROP_MAX if none), which
 * counts only once the frame is known to be a tunnel ovx claims. Geneve
 * options are left to the host: walking them needs variable packet offsets.
 */
static __always_inline enum ovx_offload_class
ovx_offload_tunnel(void *data, void *end, const struct ovx_offload_config *cfg, void *l4,
		   __u8 proto, __u32 l4_end, __u32 ip_drop, struct ovx_offload_frame *f,
		   __u32 *reason)
{
	const __u32 l4_off = l4 - data;
	struct udphdr *udp = l4;
	__u32 inner_off;

	if (proto == IPPROTO_UDP) {
		if ((void *)(udp + 1) > end)
			return OVX_OFFLOAD_HOST;
		if (udp->dest == cfg->vxlan_port && ovx_offload_encap_in_use(cfg, OVX_ENCAP_VXLAN))
			f->encap = OVX_ENCAP_VXLAN;
		else if (udp->dest == cfg->geneve_port &&
			 ovx_offload_encap_in_use(cfg, OVX_ENCAP_GENEVE))
			f->encap = OVX_ENCAP_GENEVE;
		else
			return OVX_OFFLOAD_HOST;
	} else if (proto == IPPROTO_GRE && ovx_offload_encap_in_use(cfg, OVX_ENCAP_NVGRE)) {
		f->encap = OVX_ENCAP_NVGRE;
	} else {
		return OVX_OFFLOAD_HOST;
	}

	*reason = ip_drop;
	if (ip_drop != OVX_DROP_MAX)
		return OVX_OFFLOAD_DROP;
	/* Lengths from the headers, as rx_parse() takes them, not the frame's. */
	*reason = OVX_DROP_MALFORMED;
	if (l4_end > (__u32)(end - data) || l4_off > l4_end)
		return OVX_OFFLOAD_DROP;

	if (f->encap == OVX_ENCAP_NVGRE) {
		struct ovx_nvgrehdr *gre = l4;

		if ((void *)(gre + 1) + ETH_HLEN > end)
			return OVX_OFFLOAD_DROP;
		*reason = OVX_DROP_UNSUPPORTED_FLAGS;
		if (gre->flags != bpf_htons(GRE_FLAGS_NVGRE))
			return OVX_OFFLOAD_DROP;
		*reason = OVX_DROP_UNSUPPORTED_PROTO;
		if (gre->proto != bpf_htons(ETH_P_TEB))
			return OVX_OFFLOAD_DROP;
		f->id = bpf_ntohl(gre->key) >> 8;
		inner_off = l4_off + sizeof(*gre);
	} else {
		const __u32 ulen = bpf_ntohs(udp->len);

		if (ulen < sizeof(*udp) || l4_off + ulen > l4_end)
			return OVX_OFFLOAD_DROP;
		l4_end = l4_off + ulen;
		if (f->encap == OVX_ENCAP_VXLAN) {
			struct ovx_vxlanhdr *vx = (void *)(udp + 1);

			if ((void *)(vx + 1) + ETH_HLEN > end)
				return OVX_OFFLOAD_DROP;
			*reason = OVX_DROP_UNSUPPORTED_FLAGS;
			if (!(vx->flags & bpf_htonl(VXLAN_FLAG_I)))
				return OVX_OFFLOAD_DROP;
			f->id = bpf_ntohl(vx->vni) >> 8;
			inner_off = l4_off + sizeof(*udp) + sizeof(*vx);
		} else {
			struct ovx_genevehdr *gn = (void *)(udp + 1);

			if ((void *)(gn + 1) > end)
				return OVX_OFFLOAD_DROP;
			*reason = OVX_DROP_UNSUPPORTED_FLAGS;
			if ((gn->ver_optlen & GENEVE_VER_MASK) || (gn->flags & GENEVE_FLAG_O))
				return OVX_OFFLOAD_DROP;
			*reason = OVX_DROP_UNSUPPORTED_PROTO;
			if (gn->proto != bpf_htons(ETH_P_TEB))
				return OVX_OFFLOAD_DROP;
			*reason = OVX_DROP_CRITICAL_OPTION;
			if (gn->flags & GENEVE_FLAG_C)
				return OVX_OFFLOAD_DROP;
			if (gn->ver_optlen & GENEVE_OPTLEN_MASK)
				return OVX_OFFLOAD_HOST;
			*reason = OVX_DROP_MALFORMED;
			if ((void *)(gn + 1) + ETH_HLEN > end)
				return OVX_OFFLOAD_DROP;
			f->id = bpf_ntohl(gn->vni) >> 8;
			inner_off = l4_off + sizeof(*udp) + sizeof(*gn);
		}
	}
	*reason = OVX_DROP_MALFORMED;
	if (inner_off + ETH_HLEN > l4_end)
		return OVX_OFFLOAD_DROP;
	return OVX_OFFLOAD_CANDIDATE;
}

static __always_inline int ovx_offload_is_vtep6(const struct ovx_offload_config *cfg,
						const struct in6_addr *a)
{
	return (cfg->vtep6[0] | cfg->vtep6[1] | cfg->vtep6[2] | cfg->vtep6[3]) &&
	       a->in6_u.u6_addr32[0] == cfg->vtep6[0] && a->in6_u.u6_addr32[1] == cfg->vtep6[1] &&
	       a->in6_u.u6_addr32[2] == cfg->vtep6[2] && a->in6_u.u6_addr32[3] == cfg->vtep6[3];
}

/*
 * Classify a frame. IPv4 options and IPv6 extension headers are left to the
 * host: only fixed-size headers keep every packet offset constant on the NIC.
 * Each family only reads its header; the tunnel checks are one copy for both
 * (their payload starts at one of two constant offsets), since two inlined
 * copies would not fit the firmware's program length.
 */
static __always_inline enum ovx_offload_class
ovx_offload_classify(void *data, void *end, const struct ovx_offload_config *cfg,
		     struct ovx_addr *src, struct ovx_offload_frame *f, __u32 *reason)
{
	struct ethhdr *eth = data;
	__u32 l4_end, ip_drop = OVX_DROP_MAX;
	void *l4;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return OVX_OFFLOAD_HOST;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl != 5)
			return OVX_OFFLOAD_HOST;
		src->family = AF_INET;
		src->a[0] = ip->saddr;
		l4 = ip + 1;
		proto = ip->protocol;
		l4_end = ETH_HLEN + bpf_ntohs(ip->tot_len);
		if (!cfg->vtep4 || ip->daddr != cfg->vtep4)
			ip_drop = OVX_DROP_NOT_OUR_VTEP;
		else if (ip->frag_off & bpf_htons(0x3fff))	/* MF or an offset */
			ip_drop = OVX_DROP_FRAGMENT;
		else if (ip->version != 4 || l4_end < ETH_HLEN + sizeof(*ip))
			ip_drop = OVX_DROP_MALFORMED;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return OVX_OFFLOAD_HOST;
		src->family = AF_INET6;
		src->a[0] = ip6->saddr.in6_u.u6_addr32[0];
		src->a[1] = ip6->saddr.in6_u.u6_addr32[1];
		src->a[2] = ip6->saddr.in6_u.u6_addr32[2];
		src->a[3] = ip6->saddr.in6_u.u6_addr32[3];
		l4 = ip6 + 1;
		proto = ip6->nexthdr;
		l4_end = ETH_HLEN + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		if (!ovx_offload_is_vtep6(cfg, &ip6->daddr))
			ip_drop = OVX_DROP_NOT_OUR_VTEP;
		else if (ip6->version != 6)
			ip_drop = OVX_DROP_MALFORMED;
	} else {
		return OVX_OFFLOAD_HOST;
	}
	return ovx_offload_tunnel(data, end, cfg, l4, proto, l4_end, ip_drop, f, reason);
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
 * Send a VXLAN-over-IPv4 frame on to @relay's VTEP: outer MACs toward the
 * next hop, destination address, one hop less of TTL, the mark of a frame
 * sent on (OVX_FWD_IPV4_ID: no VTEP sends it on again), header checksum. The
 * source address stays the sender's, so that the receiver learns the inner
 * source MAC behind the VTEP that has it; the UDP source port (the inner
 * flow's entropy) stays, the UDP checksum becomes 0 (allowed for IPv4
 * tunnels; the old one covered the old address).
 */
static __always_inline void ovx_offload_relay_out(struct ethhdr *eth, struct iphdr *ip,
						  struct udphdr *udp,
						  const struct ovx_offload_relay *relay)
{
	/*
	 * Both MACs lie side by side in the entry as in the header: three
	 * words, not the twelve byte copies of the packed struct ethhdr (which
	 * would cost the NIC some 150 instructions of its program length).
	 */
	const __u32 *macs = (const __u32 *)relay->dst_mac;
	__u32 *hdr = (__u32 *)eth;

	_Static_assert(__builtin_offsetof(struct ovx_offload_relay, dst_mac) % 4 == 0 &&
			       __builtin_offsetof(struct ovx_offload_relay, src_mac) ==
				       __builtin_offsetof(struct ovx_offload_relay, dst_mac) +
					       ETH_ALEN,
		       "relay entry: dst_mac, then src_mac, word-aligned");
	hdr[0] = macs[0];
	hdr[1] = macs[1];
	hdr[2] = macs[2];
	ip->daddr = relay->vtep4;
	ip->ttl--;
	ip->id = bpf_htons(OVX_FWD_IPV4_ID);
	ip->check = 0;
	ip->check = ovx_offload_ipv4_csum(ip);
	udp->check = 0;
}

#endif /* OVX_OFFLOAD_RX_H */
