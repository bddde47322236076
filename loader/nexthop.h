// The underlay next hop toward a VTEP, as the kernel's FIB and neighbour
// table have it: for the offload relay, which sends frames back out of the
// NIC (XDP_TX) where there is no FIB to ask.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace ovx {

using MacBytes = std::array<std::uint8_t, 6>;

// The MAC of the next hop toward IPv4 @dst (network order), when the route
// leaves through @ifindex and the neighbour is resolved; nullopt otherwise.
std::optional<MacBytes> next_hop_mac(int ifindex, std::uint32_t dst);

// The interface's own MAC address.
MacBytes interface_mac(int ifindex);

} // namespace ovx
