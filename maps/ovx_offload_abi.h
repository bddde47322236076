/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The offload program's own maps (bpf/xdp_offload.bpf.c), shared with the
 * control plane that fills them.
 *
 * An offloaded program cannot use the host's maps: a NIC takes only HASH and
 * ARRAY maps with map_flags 0, whose key and value, each rounded up to 8
 * bytes, fit in 64 bytes, and counters it can only add to. So the offload
 * program gets small maps of its own, filled from the same desired state as
 * the host's; keys reuse the host ABI (maps/ovx_abi.h) where they fit.
 */
#ifndef OVX_OFFLOAD_ABI_H
#define OVX_OFFLOAD_ABI_H

#include <linux/types.h>
#include "ovx_abi.h"

/* Bytes a NIC map element may hold: round_up(key, 8) + round_up(value, 8). */
#define OVX_OFFLOAD_MAX_ELEM	64

/* Capacities: sized for the NIC's map memory, not the host's. */
#define OVX_OFFLOAD_MAX_SEGMENTS	4096
#define OVX_OFFLOAD_MAX_VTEPS		16384
#define OVX_OFFLOAD_MAX_RELAY		16384

/* ovx_off_config: ARRAY of one, key 0; network order, as on the wire. */
struct ovx_offload_config {
	__be32 vtep4;		/* this host's IPv4 VTEP address; 0 = none */
	__be16 vxlan_port;
	__be16 geneve_port;
	__be32 vtep6[4];	/* its IPv6 VTEP address; all zero = none */
	__u16 encaps;		/* as ovx_config.encaps: what the host claims */
	__u16 flags;		/* OVX_OFFLOAD_CFG_*; the program reads none */
	__u16 pad[2];
};
OVX_STATIC_ASSERT(sizeof(struct ovx_offload_config) == 32, "ovx_offload_config layout");

/*
 * The control plane's record that the file turned the relay on (even with no
 * entry yet), for the verbs that rebuild the file from the instance.
 */
#define OVX_OFFLOAD_CFG_RELAY	(1u << 0)

/*
 * ovx_off_drops: ARRAY indexed by enum ovx_drop_reason; ovx_off_relayed:
 * ARRAY of one, the frames sent back out by the relay. The NIC only adds
 * (atomic add); the control plane never writes a non-zero value.
 */
struct ovx_offload_counter {
	__u64 packets;
	__u64 bytes;		/* whole frames, outer headers included */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_offload_counter) == 16, "ovx_offload_counter layout");

/*
 * ovx_off_relay: HASH struct ovx_fdb_key -> where a unicast VXLAN frame over
 * IPv4 for a MAC that sits behind another VTEP is sent on (XDP_TX), from
 * its sender still and marked OVX_FWD_IPV4_ID: the NIC has no FIB, so the
 * next hop's MAC comes with the entry.
 */
struct ovx_offload_relay {
	__be32 vtep4;		/* the VTEP the MAC sits behind */
	__u8 dst_mac[6];	/* its next hop on the underlay */
	__u8 src_mac[6];	/* the underlay NIC's own address */
};
OVX_STATIC_ASSERT(sizeof(struct ovx_offload_relay) == 16, "ovx_offload_relay layout");

/*
 * ovx_off_vni: HASH struct ovx_vni_key -> segment id (the host's ids), active
 * VXLAN, Geneve and NVGRE segments. ovx_off_vteps: HASH struct ovx_vtep_key
 * -> 1, their VTEPs of either family.
 */

#endif /* OVX_OFFLOAD_ABI_H */
