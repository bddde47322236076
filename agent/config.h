// The desired state of one ovx host, as read from its YAML file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "maps/ovx_abi.h"

namespace ovx {

using Mac = std::array<std::uint8_t, 6>;

// A VTEP address; IPv4 only for now, IPv6 has its place in the ABI already.
struct IpAddr {
	int family = 0;                      // AF_INET or AF_INET6
	std::array<std::uint8_t, 16> bytes{}; // network order; IPv4 in bytes[0..3]

	bool operator==(const IpAddr &) const = default;
	auto operator<=>(const IpAddr &) const = default;
};

// Where a value came from, for error messages that point at the file.
struct Origin {
	int line = 0;   // 1-based; 0 = unknown
	int column = 0; // 1-based
};

enum class XdpMode { native, generic, offload };

struct Underlay {
	std::string interface;
	IpAddr address;
	XdpMode mode = XdpMode::native;
	std::uint16_t vxlan_port = 4789;
	Origin interface_origin;
};

struct Port {
	std::string interface;
	Mac mac{};
	Origin origin;
};

struct Remote {
	Mac mac{};
	IpAddr vtep;
	Origin origin;
};

struct Segment {
	std::string name;
	std::string tenant;
	ovx_encap encap = OVX_ENCAP_VXLAN;
	std::uint64_t id = 0; // VNI for VXLAN
	bool learning = true;
	std::uint32_t aging_sec = 300;
	std::vector<IpAddr> flood;
	std::vector<Port> ports;
	std::vector<Remote> remotes;
	Origin origin;
};

struct Limits {
	std::uint32_t fdb_entries = OVX_FDB_DEFAULT;
};

struct Config {
	std::string path; // the file it came from
	Underlay underlay;
	std::vector<Segment> segments;
	Limits limits;
};

// Reads and validates a config file; throws ConfigError (exit status 1) with
// "FILE:LINE:COLUMN: KEY: what is wrong" on the first problem found.
Config load_config(const std::string &path);

// Same, from text already in memory; @path is only used in messages.
Config parse_config(const std::string &text, const std::string &path);

std::string format_mac(const Mac &mac);
std::string format_ip(const IpAddr &addr);
std::optional<Mac> parse_mac(const std::string &text);
std::optional<IpAddr> parse_ip(const std::string &text);
const char *encap_name(ovx_encap encap);
const char *xdp_mode_name(XdpMode mode);

} // namespace ovx
