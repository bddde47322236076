// The map contents a Config asks for: what reconcile() makes the maps equal.
#pragma once

#include <cstdint>
#include <map>
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
};

struct DesiredState {
	ovx_config config{};
	AbiMap<std::uint32_t, ovx_segment> segments;
	AbiMap<std::uint32_t, ovx_seg_name> names;
	AbiMap<ovx_vni_key, std::uint32_t> vni;
	AbiMap<std::uint32_t, ovx_port> ports;
	AbiMap<ovx_fdb_key, ovx_fdb_entry> fdb; // static entries only
	AbiMap<ovx_flood_key, std::uint32_t> flood_ports;
	AbiMap<ovx_flood_key, ovx_addr> flood_vteps;
	AbiMap<ovx_vtep_key, std::uint32_t> vteps;
};

// Segment ids are stable: a segment keeps the id its (encap, id) has in
// @current_vni; new segments get ids that no segment in @in_use holds, so a
// removed segment's learned entries can never leak into a new one.
DesiredState build_desired(const Config &config, const Resolved &resolved,
			   const AbiMap<ovx_vni_key, std::uint32_t> &current_vni,
			   const std::map<std::uint32_t, bool> &in_use);

// The same, with the current assignment read from @tables' maps.
DesiredState build_desired(const Config &config, const Resolved &resolved, const Tables &tables);

ovx_addr to_abi(const IpAddr &addr);
IpAddr from_abi(const ovx_addr &addr);
ovx_vni_key vni_key(ovx_encap encap, std::uint64_t id);
// Bytes an encapsulation adds in front of the inner frame toward a VTEP of
// @family, outer Ethernet not counted; and the inner MTU that leaves.
std::uint32_t encap_overhead(ovx_encap encap, int family);
std::uint32_t inner_mtu(std::uint32_t underlay_mtu, ovx_encap encap, int family);

} // namespace ovx
