// Reading an instance back from its maps: what *is* applied, for show/stats.
#pragma once

#include <cstdint>
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
	std::uint32_t inner_mtu = 0;
	std::vector<std::string> ports;
	std::vector<IpAddr> flood;
	ovx_seg_stats stats{}; // summed over CPUs
};

struct FdbView {
	std::string segment;
	Mac mac{};
	bool is_port = false;
	std::string port;
	IpAddr vtep;
	bool learned = false;
	double age_sec = 0;
	bool expired = false;
};

struct PortView {
	std::string interface;
	int ifindex = 0;
	std::string segment;
	std::string tenant;
	Mac mac{};
	ovx_port_stats stats{}; // summed over CPUs; zero until the port counts
};

struct StateView {
	std::string instance;
	std::string underlay;
	int underlay_ifindex = 0;
	std::uint32_t underlay_mtu = 0;
	IpAddr vtep;
	std::uint16_t vxlan_port = 0;
	std::string xdp_mode; // "native", "generic", "offload", "none"
	std::string trace;    // what the programs emit for `ovx trace`: off, drops, all
	std::vector<SegmentView> segments;
	std::vector<PortView> ports;
	std::vector<FdbView> fdb;
	std::size_t fdb_capacity = 0;
	ovx_seg_stats unassigned{}; // drops that no segment could be named for
};

StateView inspect(const Dataplane &dp, bool with_fdb);

// The instance's pinned dataplane; ConfigError when nothing is applied.
Dataplane open_applied(const std::string &instance);

const char *drop_reason_name(unsigned reason);

// The interface's name in the current namespace, "ifN" when it is gone.
std::string ifname(std::uint32_t ifindex);

} // namespace ovx
