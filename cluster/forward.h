// Forwarding pointers (the IETF NVO3 VM-mobility draft): for a short time
// after a MAC left a port of this node for another node, frames that peers
// which have not converged yet still send here go on to the MAC's new VTEP
// instead of being dropped by split horizon. A pure model, time passed in;
// the datapath honours the pointer until its time (OVX_FDB_FORWARD), so a
// pointer lapses into a plain remote entry even if no one rewrites it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/config.h"
#include "cluster/view.h"

namespace ovx::cluster {

class ForwardPointers {
public:
	using MacKey = std::pair<std::string, Mac>; // segment, MAC

	// @hold_ms: how long a pointer lives; 0 turns pointers off.
	explicit ForwardPointers(std::uint64_t hold_ms = 2000) : hold_ns_(hold_ms * 1000000) {}
	void set_hold(std::uint64_t hold_ms) { hold_ns_ = hold_ms * 1000000; }

	// @published: the bindings this node published last (MAC -> sequence
	// number); @bound: the MACs its ports bind now; @remotes: the view's
	// winners on other nodes. A MAC this node published and no port here
	// binds any more, that another node now wins with a sequence number
	// not older than this node's (a move away), gets a pointer until
	// @now_ns + hold; a MAC bound here again loses it.
	void update(const std::map<MacKey, std::uint32_t> &published, const std::set<MacKey> &bound,
		    const std::vector<RemoteMac> &remotes, std::uint64_t now_ns);

	// A live pointer in @segment: the segment stays in the maps for it.
	bool holds(const std::string &segment) const;
	// Marks the remotes of @config that hold a live pointer.
	void mark(Config &config) const;

	const std::map<MacKey, std::uint64_t> &pointers() const { return until_; }
	// CLOCK_MONOTONIC time the first live pointer lapses; 0: none live. The
	// agent converges then, so that a lapsed pointer leaves the maps (and
	// the segment it alone kept) at once, not at the next timer tick.
	std::uint64_t next_lapse() const;

private:
	struct Gone {
		std::uint32_t seq;
		std::uint64_t since_ns;
	};
	std::uint64_t hold_ns_;
	std::map<MacKey, Gone> gone_;		 // left this node, no newer owner seen yet
	std::map<MacKey, std::uint64_t> until_; // live pointers: CLOCK_MONOTONIC end
};

} // namespace ovx::cluster
