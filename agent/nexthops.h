// The send side's next-hop table (ovx_nexthops, bpf: tx_route): how to reach
// each remote VTEP on the underlay, copied from the kernel's FIB and
// neighbour table so that the datapath need not ask them per frame. Written
// at every apply and kept current by the agents from the kernel's
// neighbour, route and link events (NextHopWatch). Entries live
// kNextHopLifetimeNs: the datapath takes the FIB path past that, so a
// table nobody refreshes costs speed, never correctness for longer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <set>
#include <utility>

#include <spdlog/logger.h>

#include "loader/nexthop.h"
#include "maps/tables.h"
#include "maps/unique_fd.h"

struct nlmsghdr;

namespace ovx {

inline constexpr std::uint64_t kNextHopLifetimeNs = 120'000'000'000ull;

// What one refresh found: the neighbours it used (by family and address)
// with their MACs, and the interfaces the routes leave by.
struct NextHopState {
	std::map<std::pair<int, std::array<std::uint8_t, 16>>, MacBytes> neighbours;
	std::set<int> egress;
	std::size_t written = 0;    // entries written (new, changed or renewed)
	std::size_t unresolved = 0; // VTEPs with no route or no neighbour yet
	std::size_t removed = 0;    // entries of former VTEPs, or unresolved ones

	bool operator==(const NextHopState &) const = default;
};

// The entry for VTEP @dst, reached by @ifindex (MAC @smac) through the
// neighbour @dmac, sent from @src (the config's VTEP address of the family),
// with its outer header template (maps/ovx_abi.h: struct ovx_nexthop).
ovx_nexthop make_nexthop(std::uint32_t ifindex, const MacBytes &dmac, const MacBytes &smac,
			 const ovx_addr &src, const ovx_addr &dst, std::uint64_t expires_ns);

// Every VTEP of t.vteps resolved again and written with a fresh lifetime
// from @now_ns (CLOCK_MONOTONIC); entries of addresses that are no VTEP's
// now, or that no longer resolve, removed. The underlay MTU in the config
// entry follows the interface's (bpf: tx_fits).
NextHopState refresh_nexthops(Tables &t, std::uint64_t now_ns);

// refresh_nexthops() on the pinned dataplane of @instance, under its writer
// lock (taken here); nullopt when the instance has no dataplane.
std::optional<NextHopState> refresh_instance_nexthops(const std::string &instance);

// The kernel's neighbour, route and link events that may move a next hop,
// for an agent's poll loop: readable event_fd() -> on_events(); a relevant
// event arms alarm_fd(), which fires a moment later (events come in bursts)
// -> the agent refreshes and calls track() with the result.
class NextHopWatch {
public:
	NextHopWatch();

	int event_fd() const { return sock_.get(); }
	int alarm_fd() const { return alarm_.get(); }

	// Reads the pending events; arms the alarm when one concerns a tracked
	// neighbour (a new MAC, or none), a route, or an egress interface, or
	// when any neighbour resolves while a VTEP is unresolved.
	void on_events();
	// After a refresh: what to watch from now on; disarms the alarm.
	void track(const NextHopState &state);

private:
	bool relevant(const nlmsghdr *nlh) const;

	UniqueFd sock_;
	UniqueFd alarm_;
	bool armed_ = false;
	NextHopState tracked_;
};

// An agent's answer to alarm_fd(): the instance's next hops refreshed, what
// moved logged, the result tracked. A failure is logged and not thrown:
// the FIB path serves meanwhile, and the next apply tries again.
void refresh_nexthops_now(spdlog::logger &log, const std::string &instance, NextHopWatch &watch);

} // namespace ovx
