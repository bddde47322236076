// `ovx monitor`: a live stream of an instance's control-plane events, like
// `ip monitor` and `bridge monitor`. FDB events (learn, move, age-out,
// flush) come from the monitor's own reads of the FDB, diffed every
// interval; the others from writers over agent/events.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/events.h"
#include "maps/ovx_abi.h"

namespace ovx {

// What FDB events say about a segment.
struct FdbSegment {
	std::string name;
	std::string tenant;
	std::uint32_t aging_sec = 0; // 0: learned entries never age
};

// Learned FDB entries between two reads: a MAC learned (new, or live again
// after it aged), moved (learned behind another VTEP), aged out (older than
// its segment's aging: lazy on the packet path, so seen from its
// timestamp), flushed (deleted before it aged: its segment or VTEP left, a
// static entry took its place). What happens and is undone within one
// interval is not seen. Static entries are the desired state's: `apply`
// events speak for them.
class FdbWatch {
public:
	using Visit = std::function<void(const ovx_fdb_key &, const ovx_fdb_entry &)>;
	// Calls its argument for every FDB entry.
	using Scan = std::function<void(const Visit &)>;

	// One read at CLOCK_MONOTONIC @now_ns (wall clock @unix_ms). The first
	// is the baseline: no events, as `bridge monitor` shows changes only.
	std::vector<Event> update(const std::map<std::uint32_t, FdbSegment> &segments,
				  const Scan &scan, std::uint64_t now_ns, std::uint64_t unix_ms);

	std::size_t size() const { return entries_.size(); }

private:
	struct Seen {
		ovx_addr vtep;
		std::uint32_t ifindex;
		std::uint8_t kind;
		bool expired;
		std::uint64_t seen_ns;
		std::uint64_t generation;
	};
	std::unordered_map<std::uint64_t, Seen> entries_; // segment << 48 | MAC
	std::uint64_t generation_ = 0;
};

struct MonitorOptions {
	std::string instance;
	double interval_sec = 1;    // between FDB reads
	std::set<std::string> kinds; // empty: all
	std::string segment;	     // empty: all; else only events of this segment
	bool json = false;
};

// The kinds `ovx monitor` takes as filters: each event kind, and the
// groups fdb (learn move age-out flush) and agent (agent-start
// agent-reload agent-stop). ConfigError for an unknown one.
std::set<std::string> expand_kinds(const std::vector<std::string> &names);

// Prints events until SIGINT or SIGTERM, or until stdout is closed (a
// pipe's reader gone); returns the exit status.
int run_monitor(const MonitorOptions &options);

} // namespace ovx
