// Reading an instance back from its maps: what *is* applied, for show/stats.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "loader/dataplane.h"
#include "maps/ovx_abi.h"

namespace ovx {

struct SegmentView {
	std::uint32_t sid = 0;
	std::string name;
	std::string tenant;
	ovx_encap encap = OVX_ENCAP_VXLAN;
	std::uint64_t id = 0;
	bool learning = false;
	std::uint32_t aging_sec = 0;
	std::uint32_t learn_max = 0; // the segment's learning limit
	std::uint32_t inner_mtu = 0;
	std::vector<std::string> ports;
	std::vector<IpAddr> flood;
	ovx_seg_stats stats{}; // summed over CPUs
	std::uint64_t fdb_entries = 0; // set by add_fill()
};

struct FdbView {
	std::string segment;
	Mac mac{};
	bool is_port = false;
	std::string port;
	Delivery asked = Delivery::automatic; // is_port: the port's `delivery` in the file
	IpAddr vtep;
	bool learned = false;
	double age_sec = 0;
	bool expired = false;
	// A forwarding pointer (OVX_FDB_FORWARD): frames from the underlay for
	// this MAC go on to vtep for forward_sec more seconds (0: lapsed).
	bool forwarding = false;
	double forward_sec = 0;
};

struct PortView {
	std::string interface;
	int ifindex = 0;
	std::string segment;
	std::string tenant;
	Mac mac{};
	std::uint16_t index = OVX_PORT_NONE; // its counters' slot (struct ovx_port)
	ovx_port_stats stats{}; // summed over CPUs
	// How frames from the underlay reach it: "xdp-redirect" (in
	// ovx_port_devmap) or "tc" (agent/delivery.h).
	std::string delivery;
};

struct MapFill {
	std::string map;
	std::uint64_t entries = 0;
	std::uint64_t capacity = 0;
};

// An ovx_nexthops entry: how the send side reaches a remote VTEP.
struct NextHopView {
	IpAddr vtep;
	std::string interface; // egress
	Mac mac{};	       // the next hop's
	bool live = false;     // not expired: the datapath uses it
};

struct StateView {
	std::string instance;
	std::string underlay;
	int underlay_ifindex = 0;
	std::uint32_t underlay_mtu = 0;
	IpAddr vtep;  // IPv4, family 0 when none
	IpAddr vtep6; // IPv6, family 0 when none
	std::uint16_t vxlan_port = 0;
	std::uint16_t geneve_port = 0;
	std::string xdp_mode; // "native", "generic", "offload", "tc" (no XDP), "none"
	std::string trace;    // what the programs emit for `ovx trace`: off, drops, all
	std::vector<SegmentView> segments;
	std::vector<PortView> ports;
	std::vector<FdbView> fdb;
	std::size_t fdb_capacity = 0;
	ovx_seg_stats unassigned{}; // drops that no segment could be named for
	std::vector<NextHopView> nexthops;
	ovx_dp_stats datapath{}; // summed over CPUs: sends the next-hop table missed
	std::vector<MapFill> maps; // set by add_fill()
};

StateView inspect(const Dataplane &dp, bool with_fdb);

// Streams the FDB entry by entry with one batch of the map in memory at a
// time, so that a million entries cost O(n) time and O(1) memory.
void for_each_fdb(const Dataplane &dp, const std::function<void(const FdbView &)> &visit);

// ovx_fdb counted by segment: a read of every entry (batched; 0.4 s for a
// million), so callers that repeat it keep the result for a while.
struct FdbCensus {
	std::map<std::uint32_t, std::uint64_t> by_segment; // segment id -> entries
	std::uint64_t total = 0;
	double scan_seconds = 0; // how long the count took
};
FdbCensus count_fdb(const Tables &tables);

// Fill levels into @state: FDB entries per segment from @fdb, and entries
// and capacity of every map with a limit the operator can hit.
void add_fill(StateView &state, const Tables &tables, const FdbCensus &fdb);


const char *drop_reason_name(unsigned reason);


} // namespace ovx
