/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ovx map ABI: every key, value and limit shared by the BPF programs
 * (bpf/) and the control plane (maps/, agent/, loader/).
 *
 * Plain C, fixed-width types and explicit padding, so that clang -target bpf
 * and g++ agree on every byte. Any change to a layout here must bump
 * OVX_ABI_VERSION: the loader refuses pinned maps of another version rather
 * than read an old layout wrongly.
 *
 * Only plain HASH/ARRAY maps with composite keys, no map-in-map, so that the
 * offloadable subset (Netronome-class NICs) can share the same layout.
 */
#ifndef OVX_ABI_H
#define OVX_ABI_H

#include <linux/types.h>

#define OVX_ABI_VERSION 6

#ifdef __cplusplus
#define OVX_STATIC_ASSERT static_assert
#else
#define OVX_STATIC_ASSERT _Static_assert
#endif

/* Capacities; the FDB's is a load-time choice (limits.fdb_entries). */
#define OVX_MAX_SEGMENTS	16384	/* segment ids 1..16383; 0 = "no segment" */
#define OVX_MAX_PORTS		4096
#define OVX_MAX_FLOOD_PORTS	64	/* local ports per segment */
/*
 * Remote VTEPs per segment: a segment spanning a cluster of hosts floods to
 * all of them but this one. tc_port walks the list with bpf_loop(), whose
 * body the verifier checks once, so the bound costs nothing to load.
 */
#define OVX_MAX_FLOOD_VTEPS	1024
#define OVX_MAX_VTEPS		65536	/* (segment, VTEP) memberships */
#define OVX_FDB_DEFAULT		1048576
#define OVX_NAME_LEN		32
#define OVX_VNI_MAX		0xffffffu
/* A VM's own 802.1Q / 802.1ad tags carried inside the encapsulated frame. */
#define OVX_MAX_VLAN_TAGS	2

/* A learned entry is rewritten at most this often while it stays put. */
#define OVX_LEARN_REFRESH_NS	1000000000ull

enum ovx_encap {
	OVX_ENCAP_VXLAN = 1,
	OVX_ENCAP_NVGRE = 2,
	OVX_ENCAP_STT = 3,
	OVX_ENCAP_GENEVE = 4,
};

/* Well-known underlay ports (network order is the programs' business). */
#define OVX_VXLAN_PORT		4789
#define OVX_GENEVE_PORT		6081
#define OVX_STT_PORT		7471	/* fixed by draft-davie-stt-08 */

/*
 * Bytes each encapsulation puts in front of the inner Ethernet frame, the
 * outer IP header excluded: that one depends on the remote VTEP's family.
 */
#define OVX_OUTER_ETH		14
#define OVX_OUTER_IPV4		20
#define OVX_OUTER_IPV6		40
#define OVX_VXLAN_HLEN		16	/* UDP 8 + VXLAN 8 */
#define OVX_GENEVE_HLEN		16	/* UDP 8 + Geneve 8, no options sent */
#define OVX_NVGRE_HLEN		8	/* GRE 4 + key 4 */
#define OVX_STT_HLEN		38	/* TCP-like 20 + STT frame header 18 */
#define OVX_STT_MAX_FRAME	65535	/* STT header + inner frame, one "segment" of TSO */
#define OVX_STT_TIMEOUT_MS	250	/* an incomplete STT frame's lifetime */
#define OVX_STT_SLOTS		128	/* frames reassembled at once (ovx_stt_slots) */
#define OVX_STT_SLOTS_PER_SOURCE 16	/* a sender hashes to one of 8 groups of these */
/*
 * The largest inner frame ovx sends as several STT segments, and rebuilds
 * from segments that arrive apart: BPF can grow an skb to about 16 KB.
 */
#define OVX_STT_SEGMENTED_MAX	15872

/*
 * Why a frame was dropped; every drop in every program is counted under
 * exactly one of these, in the segment it belongs to (segment 0 when the
 * frame could not be tied to a segment).
 */
enum ovx_drop_reason {
	OVX_DROP_MALFORMED = 0,		/* truncated or inconsistent headers */
	OVX_DROP_UNKNOWN_VNI,		/* no segment for (encap, VNI) */
	OVX_DROP_NOT_OUR_VTEP,		/* overlay frame for another address */
	OVX_DROP_UNKNOWN_VTEP,		/* VTEP (sender, or FDB destination) not of the segment */
	OVX_DROP_SPOOFED_SRC,		/* VM sent with a MAC not its own */
	OVX_DROP_UNSUPPORTED_FLAGS,	/* encap header flags we do not accept */
	OVX_DROP_NO_ROUTE,		/* no route or neighbour to the VTEP */
	OVX_DROP_MTU_EXCEEDED,		/* would exceed the underlay MTU */
	OVX_DROP_NO_PORT,		/* interface is not an ovx port */
	OVX_DROP_SPLIT_HORIZON,		/* overlay frame for a remote MAC */
	OVX_DROP_FRAGMENT,		/* fragmented outer packet */
	OVX_DROP_NOT_CONFIGURED,	/* no underlay configured yet */
	OVX_DROP_TX_ERROR,		/* encap or redirect helper failed */
	OVX_DROP_HAIRPIN,		/* destination is the ingress port */
	OVX_DROP_UNSUPPORTED_PROTO,	/* encap payload type is not Ethernet */
	OVX_DROP_CRITICAL_OPTION,	/* Geneve option we must understand but do not */
	OVX_DROP_REASSEMBLY,		/* STT frame incomplete, timed out or inconsistent */
	OVX_DROP_MAP_FULL,		/* a table the datapath writes is full */
	OVX_DROP_VLAN_TAGS,		/* VM frame with more than OVX_MAX_VLAN_TAGS tags */
	OVX_DROP_MAX,
};

struct ovx_addr {
	__u8 family;		/* AF_INET or AF_INET6, 0 = unset */
	__u8 pad[3];
	__be32 a[4];		/* IPv4 in a[0], the rest zero */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_addr) == 20, "ovx_addr layout");

/* ovx turned IPv4 / IPv6 forwarding on for the underlay; `down` turns it off. */
#define OVX_CFG_OWNS_FORWARDING	(1u << 0)
#define OVX_CFG_OWNS_FORWARDING6 (1u << 3)
/* `ovx trace` is reading: emit drop events / every forwarding event too. */
#define OVX_CFG_TRACE_DROPS	(1u << 1)
#define OVX_CFG_TRACE_ALL	(1u << 2)
/*
 * underlay.mode tc: no XDP program on the underlay; tc_underlay takes every
 * overlay frame whole (control plane only: the programs need no flag).
 */
#define OVX_CFG_TC_ONLY		(1u << 4)
/*
 * ovx_port_devmap holds a port: only then does xdp_underlay ask it, so that
 * an instance without XDP_REDIRECT delivery pays no lookup per frame.
 */
#define OVX_CFG_XDP_PORTS	(1u << 5)

/* ovx_config: ARRAY of one, key 0. */
struct ovx_config {
	__u32 abi_version;
	__u32 underlay_ifindex;
	__u32 underlay_mtu;
	__be16 vxlan_port;
	__be16 geneve_port;
	__u16 flags;		/* OVX_CFG_* */
	__u16 encaps;		/* bit (1 << enum ovx_encap) per encapsulation in use */
	/* This host's VTEP addresses, one per family; family 0 = none. */
	struct ovx_addr vtep4;
	struct ovx_addr vtep6;
	/*
	 * 64 random bits, never all 0, chosen when the instance is made and
	 * kept: xdp_underlay puts them in its shim, and tc_underlay delivers
	 * only frames that carry them (struct ovx_rx_shim).
	 */
	__u32 cookie[2];
	/*
	 * Learned FDB entries of all segments together may not exceed this:
	 * the rest of the FDB stays free for static entries (ports, remotes).
	 */
	__u32 learn_max;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_config) == 72, "ovx_config layout");

/* ovx_vni: HASH (encap, id) -> segment id. */
struct ovx_vni_key {
	__u64 id;		/* VNI / VSID / STT context id */
	__u8 encap;		/* enum ovx_encap */
	__u8 pad[7];
};
OVX_STATIC_ASSERT(sizeof(struct ovx_vni_key) == 16, "ovx_vni_key layout");

#define OVX_SEG_ACTIVE		(1u << 0)
#define OVX_SEG_LEARNING	(1u << 1)

/* ovx_segments: ARRAY indexed by segment id. */
struct ovx_segment {
	__u64 id;		/* VNI / VSID / context id */
	__u8 encap;
	__u8 flags;		/* OVX_SEG_* */
	__u16 n_ports;		/* entries 0..n-1 in ovx_flood_ports */
	__u16 n_vteps;		/* entries 0..n-1 in ovx_flood_vteps */
	__u16 inner_mtu;
	__u32 aging_sec;	/* learned entries older than this are misses */
	/*
	 * STT: the segmenter device whose software GSO cuts a VM's TSO frames
	 * before they are encapsulated (loader/segmenter.h); 0 = none.
	 */
	__u32 gso_ifindex;
	/* Learned FDB entries this segment may hold (ovx_learned counts them). */
	__u32 learn_max;
	__u32 pad;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_segment) == 32, "ovx_segment layout");

/* ovx_seg_names: ARRAY indexed by segment id; control plane only. */
struct ovx_seg_name {
	char name[OVX_NAME_LEN];
	char tenant[OVX_NAME_LEN];
};
OVX_STATIC_ASSERT(sizeof(struct ovx_seg_name) == 64, "ovx_seg_name layout");

/*
 * A port's index: its slot in the arrays of per-port data (ovx_port_stats),
 * 1..OVX_MAX_PORTS-1, so that the datapath never looks a port's data up by
 * ifindex but once per frame sent (ovx_ports). 0 = none: the segmenter's
 * return side, or an entry written without one (by an older ovx, before
 * `upgrade --migrate` numbered it), which the programs resolve through
 * ovx_ports. The control plane keeps a port's index for as long as the
 * port exists and zeroes a slot before a new port takes it.
 */
#define OVX_PORT_NONE		0

/* ovx_ports: HASH ifindex -> port. */
struct ovx_port {
	/*
	 * 0: not a VM port but the STT segmenter's return side, whose frames
	 * carry their VM port's ifindex in skb->mark (loader/segmenter.h).
	 */
	__u32 segment;
	__u8 mac[6];		/* the only source MAC the VM may use */
	__u16 index;		/* the port's index, OVX_PORT_NONE for the segmenter */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_port) == 12, "ovx_port layout");

/* ovx_fdb: HASH (segment, MAC) -> where that MAC lives. */
struct ovx_fdb_key {
	__u32 segment;
	__u8 mac[6];
	__u8 pad[2];
};
OVX_STATIC_ASSERT(sizeof(struct ovx_fdb_key) == 12, "ovx_fdb_key layout");

enum ovx_fdb_kind {
	OVX_FDB_PORT = 1,	/* a local port: ifindex */
	OVX_FDB_VTEP = 2,	/* behind a remote VTEP: vtep */
};

#define OVX_FDB_STATIC		(1u << 0)	/* from the desired state */
#define OVX_FDB_LEARNED		(1u << 1)	/* from the datapath; ages */
/*
 * A forwarding pointer (NVO3 VM mobility): the MAC left a port of this
 * host for the entry's VTEP; until forward_until_ns, frames for it that
 * arrive from the underlay are sent on to that VTEP instead of dropped.
 * Only on static OVX_FDB_VTEP entries.
 */
#define OVX_FDB_FORWARD		(1u << 2)
/*
 * Only on OVX_FDB_PORT entries, for the control plane alone: the port's
 * `delivery` as the desired state asked it (neither: auto). What reaches
 * ovx_port_devmap also depends on the port and the underlay; this is
 * what an imperative edit, which starts from the maps, must ask again.
 */
#define OVX_FDB_ASKED_XDP	(1u << 3)
#define OVX_FDB_ASKED_TC	(1u << 4)

struct ovx_fdb_entry {
	__u8 kind;		/* enum ovx_fdb_kind */
	__u8 flags;		/* OVX_FDB_* */
	__u16 port;		/* OVX_FDB_PORT: the port's index (struct ovx_port) */
	__u32 ifindex;
	struct ovx_addr vtep;
	__u32 pad2;
	union {
		__u64 seen_ns;		/* CLOCK_MONOTONIC of the last (re)learn */
		__u64 forward_until_ns;	/* OVX_FDB_FORWARD: CLOCK_MONOTONIC it lapses */
	};
};
OVX_STATIC_ASSERT(sizeof(struct ovx_fdb_entry) == 40, "ovx_fdb_entry layout");

/* ovx_flood_ports / ovx_flood_vteps: HASH (segment, index) -> member. */
struct ovx_flood_key {
	__u32 segment;
	__u32 index;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_flood_key) == 8, "ovx_flood_key layout");

/* ovx_flood_ports' member: the port, and its index for its counters. */
struct ovx_flood_port {
	__u32 ifindex;
	__u16 index;
	__u16 pad;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_flood_port) == 8, "ovx_flood_port layout");

/*
 * ovx_vteps: HASH (segment, VTEP) -> 1: who may send into a segment. Segment
 * 0: the VTEPs of any STT segment, who may start an STT reassembly.
 */
struct ovx_vtep_key {
	__u32 segment;
	struct ovx_addr addr;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_vtep_key) == 24, "ovx_vtep_key layout");

/*
 * ovx_rx_vteps: HASH (encapsulation, id, sending VTEP) -> segment id. The
 * receive side's one lookup: it finds the segment and proves that the
 * sender is one of its VTEPs at once. The control plane derives it from
 * ovx_vni and ovx_vteps, which stay for the send side and to name the drop
 * reason when this lookup misses.
 */
struct ovx_rx_key {
	__u64 id;		/* VNI / VSID / STT context id */
	__u8 encap;		/* enum ovx_encap */
	__u8 pad[3];
	struct ovx_addr src;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_rx_key) == 32, "ovx_rx_key layout");

/*
 * ovx_nexthops: HASH remote VTEP address -> how to reach it on the underlay,
 * as the kernel's FIB and neighbour table had it when the control plane
 * last looked (at every apply, and in the agent on every neighbour, route or
 * link change). The send side uses it instead of bpf_fib_lookup(); a miss,
 * or an entry past expires_ns, takes the FIB path and is counted
 * (ovx_dp_stats), so an agent that stopped leaves a slower path, never a
 * wrong one for longer than the entry's lifetime.
 *
 * hdr is the template of the outer headers toward this VTEP, laid out as
 * the send side builds them (2 bytes of alignment, then Ethernet, then IPv4
 * or IPv6 by the VTEP's family): both MACs, the EtherType, both addresses,
 * TTL / hop limit 64, IPv4's DF; 0 what differs per frame: the length, the
 * protocol (the segment's encapsulation), IPv4's checksum and id. ip_sum
 * is the IPv4 header's 16-bit words summed in memory order, unfolded,
 * without words 1 (length), 4 (TTL and protocol) and 5 (checksum): the send
 * side adds those per frame. A template whose source address is not the
 * config's (the VTEP address changed since) counts as stale.
 */
#define OVX_NEXTHOP_HDR_LEN	56	/* 2 + 14 + 40 */
struct ovx_nexthop {
	__u32 ifindex;		/* egress interface */
	__u32 ip_sum;
	__u64 expires_ns;	/* CLOCK_MONOTONIC */
	__u8 hdr[OVX_NEXTHOP_HDR_LEN];
};
OVX_STATIC_ASSERT(sizeof(struct ovx_nexthop) == 72, "ovx_nexthop layout");
/* Where the template's parts sit in hdr. */
#define OVX_NEXTHOP_DMAC	2
#define OVX_NEXTHOP_SMAC	8
#define OVX_NEXTHOP_IP		16

/*
 * ovx_port_devmap: DEVMAP_HASH port ifindex -> that ifindex (struct
 * bpf_devmap_val's first member alone: no program runs on the way out).
 * The local ports that take XDP frames (a tap; a veth whose peer runs an
 * XDP program or GRO, which the kernel says by NETDEV_XDP_ACT_NDO_XMIT in
 * the port's xdp_features), as the control plane found them at the last
 * apply; filled in native mode only, and never for a port with
 * `delivery: tc`. xdp_underlay sends unicast frames for these ports with
 * XDP_REDIRECT, and the rest as today through the shim and tc_underlay.
 * A hash, not a DEVMAP: keyed by ifindex like ovx_ports, so the datapath
 * needs no second index, and ifindexes are sparse (a DEVMAP would need
 * one slot per possible ifindex). The kernel drops an entry itself when
 * its interface goes away.
 */
#define OVX_PORT_DEVMAP_VALUE_SIZE	4
OVX_STATIC_ASSERT(OVX_PORT_DEVMAP_VALUE_SIZE == sizeof(__u32), "ovx_port_devmap value layout");

/* ovx_dp_stats: PERCPU_ARRAY of one: datapath-wide counters, summed over CPUs. */
struct ovx_dp_stats {
	__u64 nexthop_miss;	/* no ovx_nexthops entry: bpf_fib_lookup() */
	__u64 nexthop_stale;	/* an expired entry, or a template of another source address */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_dp_stats) == 16, "ovx_dp_stats layout");

/* ovx_seg_stats: PERCPU_ARRAY indexed by segment id; the reader sums CPUs. */
struct ovx_seg_stats {
	__u64 rx_packets;	/* decapsulated from the underlay */
	__u64 rx_bytes;		/* inner frame bytes */
	__u64 tx_packets;	/* encapsulated to a remote VTEP (per copy) */
	__u64 tx_bytes;
	__u64 local_packets;	/* switched port to port on this host */
	__u64 local_bytes;
	__u64 flood_copies;	/* BUM copies sent, local and remote */
	__u64 learned;		/* new or moved learned FDB entries */
	__u64 learn_refused;	/* sources not learned: segment or FDB learning limit */
	__u64 stt_segments;	/* STT: extra packets large frames became when sent */
	__u64 stt_reassembled;	/* STT frames rebuilt from several segments */
	__u64 forwarded;	/* from the underlay, sent on by a forwarding pointer */
	__u64 drops[OVX_DROP_MAX];
};
OVX_STATIC_ASSERT(sizeof(struct ovx_seg_stats) == 8 * (12 + OVX_DROP_MAX),
		  "ovx_seg_stats layout");

/*
 * ovx_learned: ARRAY (BPF_F_MMAPABLE) indexed by segment id -> __u64, the
 * learned FDB entries the segment holds; index 0: all segments together.
 * The programs add with atomic adds when they learn a new entry; the
 * control plane maps the array and subtracts atomically for every learned
 * entry it deletes (maps/map.h, CounterArray), so the counts stay exact.
 */

/*
 * ovx_port_stats: PERCPU_ARRAY indexed by the port's index (struct
 * ovx_port) -> counters of one local port; slot 0 belongs to no port and is
 * never read. The programs only add; the control plane zeroes a slot before
 * a new port takes its index.
 */
struct ovx_port_stats {
	__u64 rx_packets;	/* frames the VM sent, as TC saw them */
	__u64 rx_bytes;
	__u64 tx_packets;	/* frames handed to the VM */
	__u64 tx_bytes;
	__u64 spoof_drops;	/* sent with a source MAC not the port's */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_port_stats) == 40, "ovx_port_stats layout");

/* ovx_trace: RINGBUF of these, written only while a OVX_CFG_TRACE_* flag is set. */
enum ovx_trace_kind {
	OVX_TRACE_DROP = 1,	/* reason says why */
	OVX_TRACE_DECAP = 2,	/* from a VTEP, to a port or flooded */
	OVX_TRACE_ENCAP = 3,	/* from a port to a VTEP (one event per frame) */
	OVX_TRACE_LOCAL = 4,	/* port to port on this host */
	OVX_TRACE_FLOOD = 5,	/* BUM frame replicated */
};

struct ovx_trace_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u32 segment;		/* 0 = not tied to a segment */
	__u32 ifindex;		/* the interface the frame came in on */
	__u8 kind;		/* enum ovx_trace_kind */
	__u8 reason;		/* enum ovx_drop_reason, for OVX_TRACE_DROP */
	__u8 encap;		/* enum ovx_encap, 0 = none / not known yet */
	__u8 pad;
	__u8 src_mac[6];	/* inner frame, zero when not parsed yet */
	__u8 dst_mac[6];
	struct ovx_addr outer_src;	/* underlay addresses, family 0 = none */
	struct ovx_addr outer_dst;
	__u32 len;		/* frame length as seen */
	__u32 pad2;
};
OVX_STATIC_ASSERT(sizeof(struct ovx_trace_event) == 80, "ovx_trace_event layout");
#define OVX_TRACE_RING_BYTES	(1u << 20)

/*
 * XDP -> TC hand-off on the underlay. xdp_underlay strips the outer headers
 * down to this shim in front of the inner frame, under an Ethernet header to
 * OVX_HIDDEN_DST: an IPv4 header the host's stack drops before anything
 * else sees it (header checksum wrong, addresses 0.0.0.0, protocol 253),
 * then the cookie and the decision. Should tc_underlay be missing, the
 * kernel drops the frame instead of delivering a tenant's packet to the
 * host (docs/ARCHITECTURE.md, "Failing closed"). tc_underlay checks the
 * cookie, cuts the shim and puts the inner Ethernet header in front. IPv4
 * because TC can cut bytes out of IP frames only (bpf_skb_adjust_room), and
 * a shim because some kernels refuse bpf_xdp_adjust_meta.
 */
struct ovx_rx_shim {
	/* An IPv4 header that is never valid: constant but for the id, checksum 0. */
	__u8 ver_ihl;		/* 0x45 */
	__u8 tos;
	__be16 tot_len;		/* 0 */
	__u16 port;		/* the IP id: the local port's index (0: by ifindex) */
	__be16 frag_off;
	__u8 ttl;		/* 0 */
	__u8 protocol;		/* OVX_HIDDEN_IPPROTO */
	__u16 check;		/* 0: wrong for these constants */
	__be32 saddr;		/* 0.0.0.0 */
	__be32 daddr;		/* 0.0.0.0 */
	__u32 cookie[2];	/* ovx_config.cookie */
	__u32 segment;
	__u32 ifindex;		/* local port, or 0 to flood the segment */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_rx_shim) == 36, "ovx_rx_shim layout");

/*
 * The shim's Ethernet destination: the IEEE MAC Control group address, which
 * bridges never forward (Linux's drops it whatever group_fwd_mask says);
 * its source is the zero address, which bridges drop as well. xdp_underlay
 * drops IPv4 frames to this address arriving from the wire: only its own
 * reach tc_underlay.
 */
#define OVX_HIDDEN_DST		{ 0x01, 0x80, 0xc2, 0x00, 0x00, 0x01 }
#define OVX_HIDDEN_IPPROTO	253	/* RFC 3692: for experimentation */
/* The shim's ifindex for a frame to send on by a forwarding pointer. */
#define OVX_SHIM_FORWARD	0xffffffffu

/*
 * The mark of a frame a forwarding pointer sent on, in its outer header:
 * the IPv4 identification (ovx sends 0 otherwise) or the IPv6 flow label
 * (0 otherwise). A marked frame is never sent on again.
 */
#define OVX_FWD_IPV4_ID		0x4f46
#define OVX_FWD_FLOW_LABEL	0x4f46

#endif /* OVX_ABI_H */
