// The desired state of one ovx host, as read from its YAML file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maps/ovx_abi.h"

namespace ovx {

using Mac = std::array<std::uint8_t, 6>;

// A VTEP address, IPv4 or IPv6.
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

// How the underlay receives: XDP in one of three modes, or TC alone (tc:
// no XDP program; tc_underlay decapsulates whole skbs, GSO ones included).
// automatic ("auto", the default) is decided at every apply by the
// interface's driver (effective_mode()).
enum class XdpMode { native, generic, offload, tc, automatic };
inline constexpr XdpMode kXdpModes[] = {XdpMode::automatic, XdpMode::native, XdpMode::generic,
					XdpMode::offload, XdpMode::tc};

struct Underlay {
	std::string interface;
	// This host's VTEP address per family (family 0 = none); a segment's
	// VTEPs are reached from the address of their family.
	IpAddr address4;
	IpAddr address6;
	XdpMode mode = XdpMode::automatic;
	std::uint16_t vxlan_port = OVX_VXLAN_PORT;
	std::uint16_t geneve_port = OVX_GENEVE_PORT;
	// mode offload, `offload: {relay: true}`: the NIC sends frames for a
	// static remote MAC behind another VTEP on to it (docs/OFFLOAD.md).
	bool offload_relay = false;
	Origin interface_origin;

	const IpAddr &address(int family) const;
};

// How frames from the underlay reach a port (agent/delivery.h): `auto` (the
// default) with XDP_REDIRECT when the port takes XDP frames and the underlay
// is a NIC in native XDP, else by TC; `xdp` the same on a veth underlay too;
// `tc` by TC always (tc_underlay's bpf_redirect()).
enum class Delivery { automatic, xdp, tc };

struct Port {
	std::string interface;
	Mac mac{};
	Delivery delivery = Delivery::automatic;
	Origin origin;
};

struct Remote {
	Mac mac{};
	IpAddr vtep;
	Origin origin;
	// Cluster mode, never from a file: the MAC just left a port of this
	// host, and frames for it from the underlay go on to @vtep until this
	// CLOCK_MONOTONIC time (a forwarding pointer, OVX_FDB_FORWARD); 0: none.
	std::uint64_t forward_until_ns = 0;
};

struct Segment {
	std::string name;
	std::string tenant;
	ovx_encap encap = OVX_ENCAP_VXLAN;
	std::uint64_t id = 0; // VNI (VXLAN, Geneve), VSID (NVGRE) or context ID (STT)
	bool learning = true;
	std::uint32_t aging_sec = 300;
	// Learned FDB entries the segment may hold; unset: a quarter of the FDB.
	std::optional<std::uint32_t> learn_limit;
	std::vector<IpAddr> flood;
	std::vector<Port> ports;
	std::vector<Remote> remotes;
	Origin origin;

	// The family of its VTEPs (one per segment), 0 when it has none.
	int vtep_family() const;
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
std::optional<Mac> parse_mac(std::string_view text);
std::optional<IpAddr> parse_ip(const std::string &text);
const char *encap_name(ovx_encap encap);
// What the segment id is called in this encapsulation ("VNI", "VSID", ...).
const char *id_name(ovx_encap encap);
const char *xdp_mode_name(XdpMode mode);
const char *delivery_name(Delivery delivery);

} // namespace ovx
