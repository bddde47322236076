// The underlay next hop toward a VTEP, as the kernel's FIB and neighbour
// table have it: for the send side's next-hop table (ovx_nexthops) and for
// the offload relay, which sends frames back out of the NIC (XDP_TX) where
// there is no FIB to ask.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace ovx {

using MacBytes = std::array<std::uint8_t, 6>;

struct NextHop {
	int ifindex = 0;     // where the route leaves
	MacBytes dmac{};     // the resolved neighbour's MAC: the gateway's, or the VTEP's own
	std::array<std::uint8_t, 16> via{}; // the neighbour's address (family of the query)
};

// How the kernel would send to @dst (@family AF_INET or AF_INET6, the
// address in the first 4 or 16 bytes) now: the route's egress and the MAC
// of its neighbour; nullopt when there is no route, the route has no
// single interface, or the neighbour has no address yet (INCOMPLETE,
// FAILED).
std::optional<NextHop> next_hop(int family, const std::array<std::uint8_t, 16> &dst);

// The MAC of the next hop toward IPv4 @dst (network order), when the route
// leaves through @ifindex and the neighbour is resolved; nullopt otherwise.
std::optional<MacBytes> next_hop_mac(int ifindex, std::uint32_t dst);

// The interface's own MAC address.
MacBytes interface_mac(int ifindex);

} // namespace ovx
