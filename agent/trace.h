// `ovx trace`: turning the programs' trace events on for as long as one
// reader runs, and making raw events readable (names instead of ids).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "agent/config.h"
#include "loader/dataplane.h"
#include "maps/ovx_abi.h"
#include "maps/unique_fd.h"

namespace ovx {

// Sets OVX_CFG_TRACE_DROPS (and OVX_CFG_TRACE_ALL unless @drops_only) in
// ovx_config for its lifetime and clears them when it goes.
//
// One session per instance at a time: a BPF ring buffer has a single
// consumer position, so two readers would each get a random half of the
// events. The session holds an exclusive lock on /run/ovx/trace-<instance>.lock
// (removed when it ends); a second one is refused, naming the first one's PID.
class TraceSession {
public:
	TraceSession(Dataplane &dp, bool drops_only);
	~TraceSession();
	TraceSession(const TraceSession &) = delete;
	TraceSession &operator=(const TraceSession &) = delete;

private:
	void set_flags(std::uint16_t on, std::uint16_t off);

	Dataplane &dp_;
	UniqueFd lock_;
};

// Whether a trace session of @instance is alive: apply keeps the trace
// flags only then (a SIGKILLed session never cleared them).
bool trace_running(const std::string &instance);

struct TraceEventView {
	double ts_sec = 0; // CLOCK_MONOTONIC, as the kernel stamped it
	std::string kind;  // drop, decap, encap, local, flood
	std::string reason; // drops only
	std::uint32_t segment_id = 0;
	std::string segment; // empty when not tied to a segment
	std::string tenant;
	std::string port; // the interface the frame came in on
	std::string encap; // empty when not known
	Mac src{}, dst{};
	IpAddr outer_src, outer_dst; // family 0: none
	std::uint32_t len = 0;
};

// Resolves segment ids and ifindexes, caching names between events.
class TraceResolver {
public:
	explicit TraceResolver(const Tables &tables) : tables_(tables) {}
	TraceEventView resolve(const ovx_trace_event &ev);

private:
	const Tables &tables_;
	std::map<std::uint32_t, std::pair<std::string, std::string>> segments_;
	std::map<std::uint32_t, std::string> ifnames_;
};

const char *trace_kind_name(unsigned kind);

} // namespace ovx
