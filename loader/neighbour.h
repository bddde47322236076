// Kernel-managed neighbour entries for the VTEPs ovx sends to.
//
// Replicated (flooded) copies leave through bpf_clone_redirect(), which needs
// the next hop's MAC from bpf_fib_lookup() and cannot resolve it itself; a
// managed entry (NTF_EXT_MANAGED) makes the kernel resolve the VTEP's
// neighbour and keep it REACHABLE, so the first ARP of a VM is not lost.
#pragma once

#include <array>
#include <cstdint>

namespace ovx {

void add_managed_neighbour(int ifindex, int family, const std::array<std::uint8_t, 16> &addr);
void del_managed_neighbour(int ifindex, int family, const std::array<std::uint8_t, 16> &addr);

} // namespace ovx
