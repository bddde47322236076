// The set of maps of one ovx instance, typed after maps/ovx_abi.h.
#pragma once

#include <array>
#include <functional>
#include <string_view>
#include <vector>

#include "maps/map.h"
#include "maps/ovx_abi.h"

namespace ovx {

// Every map the programs declare (bpf/include/ovx_maps.h), by name.
inline constexpr std::array<std::string_view, 20> kMapNames = {
	"ovx_config",	   "ovx_vni",	      "ovx_segments", "ovx_seg_names",
	"ovx_ports",	   "ovx_fdb",	      "ovx_flood_ports", "ovx_flood_vteps",
	"ovx_vteps",	   "ovx_seg_stats",   "ovx_port_stats", "ovx_trace",
	"ovx_stt_slots",   "ovx_tx_scratch",  "ovx_learned",	 "ovx_rx_vteps",
	"ovx_nexthops",	   "ovx_dp_stats",    "ovx_learn_seen", "ovx_port_devmap",
};

struct Tables {
	Map<std::uint32_t, ovx_config> config;
	Map<ovx_vni_key, std::uint32_t> vni;
	Map<std::uint32_t, ovx_segment> segments;
	Map<std::uint32_t, ovx_seg_name> seg_names;
	Map<std::uint32_t, ovx_port> ports;
	Map<ovx_fdb_key, ovx_fdb_entry> fdb;
	Map<ovx_flood_key, ovx_flood_port> flood_ports;
	Map<ovx_flood_key, ovx_addr> flood_vteps;
	Map<ovx_vtep_key, std::uint32_t> vteps;
	PerCpuArray<ovx_seg_stats> seg_stats;
	PerCpuArray<ovx_port_stats> port_stats; // by port index (ovx_port.index)
	RawMap trace;     // ring buffer of ovx_trace_event
	RawMap stt_slots; // STT reassembly, datapath-private
	RawMap tx_scratch; // tc_port's outer headers, datapath-private
	// Learned FDB entries per segment (0: all): reconcile releases one for
	// every learned entry it deletes or replaces with a static one.
	CounterArray learned;
	Map<ovx_rx_key, std::uint32_t> rx_vteps; // derived from vni and vteps
	Map<ovx_addr, ovx_nexthop> nexthops;	   // from the kernel, not the file
	PerCpuArray<ovx_dp_stats> dp_stats;
	RawMap learn_seen; // learning's per-CPU shortcut, datapath-private
	// Ports that take XDP_REDIRECT (ifindex -> ifindex), decided at apply.
	Map<std::uint32_t, std::uint32_t> port_devmap;

	// @open returns an owned fd for a map name from kMapNames.
	static Tables open(const std::function<UniqueFd(std::string_view)> &open);

	// The fd of a map by its name in kMapNames; -1 for another name.
	int fd(std::string_view name) const;

	// The per-CPU counters of port @ifindex, read by its index; empty when
	// the interface is no port or has no index.
	std::vector<ovx_port_stats> port_stats_of(std::uint32_t ifindex) const;
};

} // namespace ovx
