// The map contents a Config asks for: what reconcile() makes the maps equal.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "agent/config.h"
#include "maps/map.h"
#include "maps/tables.h"
#include "maps/ovx_abi.h"

namespace ovx {

template <typename K, typename V> using AbiMap = std::map<K, V, BytesLess>;

// What the system says about the names in a Config.
struct Resolved {
	int underlay_ifindex = 0;
	std::uint32_t underlay_mtu = 0;
	std::map<std::string, int> port_ifindex; // interface name -> ifindex

	bool operator==(const Resolved &) const = default;
};

struct DesiredState {
	ovx_config config{};
	AbiMap<std::uint32_t, ovx_segment> segments;
	AbiMap<std::uint32_t, ovx_seg_name> names;
	AbiMap<ovx_vni_key, std::uint32_t> vni;
	AbiMap<std::uint32_t, ovx_port> ports;
	AbiMap<ovx_fdb_key, ovx_fdb_entry> fdb; // static entries only
	AbiMap<ovx_flood_key, ovx_flood_port> flood_ports;
	AbiMap<ovx_flood_key, ovx_addr> flood_vteps;
	AbiMap<ovx_vtep_key, std::uint32_t> vteps;
	// The receive side's lookup: one entry per member of vteps (but
	// segment 0's), keyed by the segment's (encap, id) and the member.
	AbiMap<ovx_rx_key, std::uint32_t> rx_vteps;
};

// Segment ids are stable: a segment keeps the id its (encap, id) has in
// @current_vni; new segments get ids that no segment in @in_use holds, so a
// removed segment's learned entries can never leak into a new one. Port
// indexes likewise (struct ovx_port): a port keeps the index it has in
// @current_ports (ifindex -> index); a new one takes the lowest index no
// port there holds (reconcile() zeroes its counters before it is used).
// ConfigError when no index is left.
DesiredState build_desired(const Config &config, const Resolved &resolved,
			   const AbiMap<ovx_vni_key, std::uint32_t> &current_vni,
			   const std::map<std::uint32_t, bool> &in_use,
			   const std::map<std::uint32_t, std::uint16_t> &current_ports = {});

// ifindex -> index of the ports of a ovx_ports dump or a DesiredState.
template <typename Ports> std::map<std::uint32_t, std::uint16_t> port_indexes(const Ports &ports)
{
	std::map<std::uint32_t, std::uint16_t> out;
	for (const auto &[ifindex, port] : ports)
		out[ifindex] = port.index;
	return out;
}

// The same, with the current assignment read from @tables' maps, learning
// limits from the FDB's real size, and the instance's receive cookie kept
// (or chosen, on a fresh instance).
DesiredState build_desired(const Config &config, const Resolved &resolved, const Tables &tables);

// Whether @b follows from @a by what reconcile_delta() writes: static FDB
// entries, the learning bound that follows their number, and VTEPs that
// join segments (a segment's member set and flood list grow; its record
// changes only in its flood count). A VTEP that leaves a segment is not a
// delta: the learned entries behind it must go, and only a whole
// reconcile() reads the FDB to find them.
bool delta_applicable(const DesiredState &a, const DesiredState &b);

// Learning limits. A segment without `learn_limit` may hold a quarter of
// the FDB in learned entries; all segments together leave room for the
// @statics static entries and a sixteenth of the FDB more, so that static
// entries added by the next apply (a port, a remote) find room however
// much was learned meanwhile.
std::uint32_t default_learn_limit(std::uint32_t fdb_entries);
std::uint32_t fdb_learn_max(std::uint32_t fdb_entries, std::size_t statics);

// @c's receive cookie (struct ovx_rx_trailer): @current's, or 64 new random
// bits, never all 0.
void set_cookie(ovx_config &c, const std::optional<ovx_config> &current);

ovx_addr to_abi(const IpAddr &addr);
IpAddr from_abi(const ovx_addr &addr);
ovx_vni_key vni_key(ovx_encap encap, std::uint64_t id);
ovx_rx_key rx_key(ovx_encap encap, std::uint64_t id, const ovx_addr &src);
// Bytes an encapsulation adds in front of the inner frame toward a VTEP of
// @family, outer Ethernet not counted; and the inner MTU that leaves.
std::uint32_t encap_overhead(ovx_encap encap, int family);
std::uint32_t inner_mtu(std::uint32_t underlay_mtu, ovx_encap encap, int family);

} // namespace ovx
