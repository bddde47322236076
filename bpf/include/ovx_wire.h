/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The four encapsulations on the wire: VXLAN (RFC 7348), Geneve (RFC 8926),
 * NVGRE (RFC 7637) and STT (draft-davie-stt-08), over IPv4 or IPv6.
 */
#ifndef OVX_WIRE_H
#define OVX_WIRE_H

#include <stddef.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include "ovx_abi.h"

#define ETH_P_TEB_BE		0x5865		/* 0x6558 in network order */

#define VXLAN_FLAG_I		0x08000000u	/* "VNI is valid", host order */

struct ovx_vxlanhdr {
	__be32 flags;
	__be32 vni;		/* VNI in the upper 24 bits */
};

#define GENEVE_VER_MASK		0xc0
#define GENEVE_OPTLEN_MASK	0x3f		/* in 4-byte words */
#define GENEVE_FLAG_O		0x80		/* control (OAM) packet */
#define GENEVE_FLAG_C		0x40		/* critical options present */
#define GENEVE_OPT_CRITICAL	0x80		/* in an option's type */
#define GENEVE_MAX_OPTS		63		/* 63 words of options at most */

struct ovx_genevehdr {
	__u8 ver_optlen;
	__u8 flags;
	__be16 proto;
	__be32 vni;		/* VNI in the upper 24 bits */
};

struct ovx_geneve_opt {
	__be16 class;
	__u8 type;
	__u8 len;		/* low 5 bits: data length in 4-byte words */
};

#define GRE_FLAGS_NVGRE		0x2000		/* key present, version 0, host order */

/* GRE with the key bit and nothing else: the only form NVGRE uses. */
struct ovx_nvgrehdr {
	__be16 flags;
	__be16 proto;
	__be32 key;		/* VSID in the upper 24 bits, FlowID below */
};

/*
 * STT: a TCP-shaped header whose sequence number carries the STT frame's
 * length (upper 16 bits) and this segment's offset in it (lower 16 bits), so
 * that TCP segmentation offload in the kernel or the NIC cuts frames up
 * correctly; the acknowledgement number identifies the frame.
 */
#define STT_SEQ_LEN(seq)	((seq) >> 16)
#define STT_SEQ_OFF(seq)	((seq) & 0xffff)

struct ovx_stthdr {
	__u8 version;
	__u8 flags;
	__u8 l4_offset;
	__u8 reserved;
	__be16 mss;
	__be16 vlan_tci;
	__be64 context_id;
	__u8 pad[2];
} __attribute__((packed));

_Static_assert(sizeof(struct ovx_stthdr) + sizeof(struct tcphdr) == OVX_STT_HLEN,
	       "STT header size");

/* What follows the outer IP header, for each encapsulation. */
union ovx_tunhdr {
	struct {
		struct udphdr udp;
		struct ovx_vxlanhdr vx;
	} vxlan;
	struct {
		struct udphdr udp;
		struct ovx_genevehdr gn;
	} geneve;
	struct ovx_nvgrehdr nvgre;
	struct {
		struct tcphdr tcp;
		struct ovx_stthdr stt;
	} stt;
};

/*
 * The outer headers ovx writes, per underlay family. Two bytes in front put
 * the IP header on a 4-byte boundary, so that the programs build it on the
 * stack with aligned stores; the wire image starts at .eth.
 */
struct ovx_outer4 {
	__u8 align[2];
	struct ethhdr eth;
	struct iphdr ip;
	union ovx_tunhdr tun;
};

struct ovx_outer6 {
	__u8 align[2];
	struct ethhdr eth;
	struct ipv6hdr ip;
	union ovx_tunhdr tun;
};

_Static_assert(offsetof(struct ovx_outer4, tun) == 2 + OVX_OUTER_ETH + OVX_OUTER_IPV4,
	       "outer IPv4 header layout");
_Static_assert(offsetof(struct ovx_outer6, tun) == 2 + OVX_OUTER_ETH + OVX_OUTER_IPV6,
	       "outer IPv6 header layout");

/* ovx_nexthops' header template is these structures' start, byte for byte. */
_Static_assert(offsetof(struct ovx_outer4, ip) == OVX_NEXTHOP_IP &&
	       offsetof(struct ovx_outer6, ip) == OVX_NEXTHOP_IP &&
	       offsetof(struct ovx_outer4, eth.h_dest) == OVX_NEXTHOP_DMAC &&
	       offsetof(struct ovx_outer4, eth.h_source) == OVX_NEXTHOP_SMAC &&
	       OVX_NEXTHOP_IP + OVX_OUTER_IPV6 == OVX_NEXTHOP_HDR_LEN,
	       "ovx_nexthop template layout");

/* Bytes after the outer IP header; 0 for an unknown encapsulation. */
static __always_inline __u32 tun_hlen(__u8 encap)
{
	switch (encap) {
	case OVX_ENCAP_VXLAN:
		return OVX_VXLAN_HLEN;
	case OVX_ENCAP_GENEVE:
		return OVX_GENEVE_HLEN;
	case OVX_ENCAP_NVGRE:
		return OVX_NVGRE_HLEN;
	case OVX_ENCAP_STT:
		return OVX_STT_HLEN;
	}
	return 0;
}

#endif /* OVX_WIRE_H */
