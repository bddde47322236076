/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps every ovx program sees. Each program object declares all of them;
 * the loader hands every object the same map fds (by name), so they share
 * one set of tables per instance.
 */
#ifndef OVX_MAPS_H
#define OVX_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovx_config);
} ovx_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_SEGMENTS);
	__type(key, struct ovx_vni_key);
	__type(value, __u32);
} ovx_vni SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_MAX_SEGMENTS);
	__type(key, __u32);
	__type(value, struct ovx_segment);
} ovx_segments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_MAX_SEGMENTS);
	__type(key, __u32);
	__type(value, struct ovx_seg_name);
} ovx_seg_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct ovx_port);
} ovx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_FDB_DEFAULT);
	__type(key, struct ovx_fdb_key);
	__type(value, struct ovx_fdb_entry);
} ovx_fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_PORTS);
	__type(key, struct ovx_flood_key);
	__type(value, struct ovx_flood_port);
} ovx_flood_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_VTEPS);
	__type(key, struct ovx_flood_key);
	__type(value, struct ovx_addr);
} ovx_flood_vteps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_VTEPS);
	__type(key, struct ovx_vtep_key);
	__type(value, __u32);
} ovx_vteps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OVX_MAX_SEGMENTS);
	__type(key, __u32);
	__type(value, struct ovx_seg_stats);
} ovx_seg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_VTEPS);
	__type(key, struct ovx_rx_key);
	__type(value, __u32);
} ovx_rx_vteps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_VTEPS);
	__type(key, struct ovx_addr);
	__type(value, struct ovx_nexthop);
} ovx_nexthops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovx_dp_stats);
} ovx_dp_stats SEC(".maps");

/* See maps/ovx_abi.h: the ports xdp_underlay sends to with XDP_REDIRECT. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, OVX_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} ovx_port_devmap SEC(".maps");

/*
 * The last source learned per segment on this CPU: a frame from the same
 * MAC behind the same VTEP within OVX_LEARN_SEEN_JIFFIES skips the FDB, which
 * it would only read to find nothing to do. Datapath-private: a record
 * another version left (in nanoseconds, say) only looks old, and costs one
 * FDB lookup.
 */
struct ovx_learn_seen {
	__u8 mac[6];
	__u16 pad;
	struct ovx_addr vtep;
	__u32 pad2;
	__u64 seen_jiffies;
};

/* 0.1 s at HZ=1000, 1 s at HZ=100: well under any aging time. */
#define OVX_LEARN_SEEN_JIFFIES 100

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OVX_MAX_SEGMENTS);
	__type(key, __u32);
	__type(value, struct ovx_learn_seen);
} ovx_learn_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_MAX_SEGMENTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} ovx_learned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OVX_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct ovx_port_stats);
} ovx_port_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, OVX_TRACE_RING_BYTES);
} ovx_trace SEC(".maps");

/*
 * STT reassembly: a few slots, each holding one frame being put together
 * from its segments. Datapath-private: the control plane only pins it.
 */
#define OVX_STT_CHUNK		8192		/* bytes copied per helper call */

/*
 * Claimed by compare-and-swap of @owner, counted by atomic add: no spin lock,
 * so no BTF is needed for the map (small kernels have none).
 */
struct ovx_stt_slot {
	__u64 owner;		/* frame id << 32 | length << 16 | sender hash; 0 = free */
	__u64 started_ns;
	__u32 received;		/* bytes copied in so far */
	__u32 segment;		/* known from the first segment on; 0 before */
	/* Any offset below 64 KiB plus one (masked) chunk fits. */
	__u8 data[65536 + 2 * OVX_STT_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_STT_SLOTS);
	__type(key, __u32);
	__type(value, struct ovx_stt_slot);
} ovx_stt_slots SEC(".maps");

/*
 * Room for the outer headers tc_port builds (struct ovx_tx, bpf/include/
 * ovx_tx.h), off the 512-byte stack that flooding's bpf_loop() shares.
 * Datapath-private; sized generously so the struct can grow.
 */
#define OVX_TX_SCRATCH		256

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[OVX_TX_SCRATCH]);
} ovx_tx_scratch SEC(".maps");

#endif /* OVX_MAPS_H */
