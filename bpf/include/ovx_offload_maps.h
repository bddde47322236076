/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps of the offload program, and only those: an offloaded object must
 * not declare the host's maps (per-CPU counters, a ring buffer, a 1M FDB),
 * since every map of the object is created on the NIC.
 */
#ifndef OVX_OFFLOAD_MAPS_H
#define OVX_OFFLOAD_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ovx_offload_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovx_offload_config);
} ovx_off_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_OFFLOAD_MAX_SEGMENTS);
	__type(key, struct ovx_vni_key);
	__type(value, __u32);
} ovx_off_vni SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_OFFLOAD_MAX_VTEPS);
	__type(key, struct ovx_vtep_key);
	__type(value, __u32);
} ovx_off_vteps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_DROP_MAX);
	__type(key, __u32);
	__type(value, struct ovx_offload_counter);
} ovx_off_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_OFFLOAD_MAX_RELAY);
	__type(key, struct ovx_fdb_key);
	__type(value, struct ovx_offload_relay);
} ovx_off_relay SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovx_offload_counter);
} ovx_off_relayed SEC(".maps");

#endif /* OVX_OFFLOAD_MAPS_H */
