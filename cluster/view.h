// The cluster as one node sees it: a pure model (no I/O, time passed in)
// fed with etcd's watch events, that says which remote MACs the node's maps
// must hold and which VTEPs each segment floods to.
//
// Mobility follows EVPN (RFC 7432, section 15): of the nodes that bind a
// MAC, the highest sequence number wins; a tie goes to the lowest VTEP
// address, then the lowest node name, so every node picks the same winner
// whatever order the events came in. A MAC bound on two nodes for longer
// than a grace period is a duplicate (counted, reported); a MAC that moves
// too often in a window is frozen where it is, as EVPN's duplicate
// detection does, until unfrozen.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/config.h"
#include "cluster/etcd_client.h"
#include "cluster/layout.h"

namespace ovx::cluster {

using TimePoint = std::chrono::steady_clock::time_point;

struct ViewOptions {
	std::string local_node;
	// The underlay family of the cluster's tunnels: a node without an
	// address of this family cannot be reached.
	int family = AF_INET;
	// Two nodes may bind one MAC this long (make-before-break) before it is
	// a duplicate.
	std::chrono::milliseconds duplicate_grace{5000};
	// EVPN's defaults: 5 moves in 180 s freeze the MAC.
	unsigned freeze_moves = 5;
	std::chrono::seconds freeze_window{180};
	// How long a frozen MAC stays frozen; 0: until unfreeze().
	std::chrono::seconds freeze_hold{0};
	// Forwarding pointers: how long the node a MAC moved away from sends
	// on the frames still sent to it (cluster/forward.h), and stays in the
	// segment's flood list meanwhile, so that its VTEP may still send into
	// the segment; 0: no pointers.
	std::chrono::milliseconds forward_hold{2000};
};

// A remote MAC for this node's FDB.
struct RemoteMac {
	std::string segment;
	Mac mac{};
	IpAddr vtep;
	std::string node;
	std::uint32_t seq = 0;
	bool frozen = false;
	bool operator==(const RemoteMac &) const = default;
};

struct DuplicateMac {
	std::string segment;
	Mac mac{};
	std::vector<std::string> nodes; // every node binding it
	std::string owner;              // the one that wins
	bool frozen = false;
	unsigned recent_moves = 0;
};

struct NodeInfo {
	std::string name;
	std::optional<VtepRecord> vtep;
	std::size_t bindings = 0;
};

struct ViewCounters {
	std::uint64_t events = 0;    // applied
	std::uint64_t stale = 0;     // older than what was applied: ignored
	std::uint64_t bad = 0;       // values or keys that failed validation
	std::uint64_t moves = 0;     // a MAC's winner changed node
	std::uint64_t duplicates = 0; // MACs found bound twice beyond the grace
	std::uint64_t freezes = 0;
};

class ClusterView {
public:
	explicit ClusterView(ViewOptions options);

	// One watch event, in revision order as a watch delivers them. Events
	// older than the last applied are ignored, so a replay changes nothing.
	void apply(const WatchEvent &event, TimePoint now);
	void apply(const WatchBatch &batch, TimePoint now);
	// Replaces everything with a full read of the prefix at @revision (after
	// a compaction, or at start). Mobility history of MACs that remain is
	// kept; a winner that differs from before counts as one move.
	void resync(const std::vector<KeyValue> &kvs, std::int64_t revision, TimePoint now);
	// Runs the timers: duplicates past their grace, freezes past their hold.
	void tick(TimePoint now);
	void unfreeze(const std::string &segment, const Mac &mac, TimePoint now);

	// The revision everything up to has been applied.
	std::int64_t revision() const { return revision_; }

	// What this node's maps must hold: remote MACs (never its own), sorted
	// by segment and MAC; per defined segment the VTEPs of the other nodes
	// with at least one port in it, sorted.
	std::vector<RemoteMac> remote_macs() const;
	std::map<std::string, std::vector<IpAddr>> flood_lists() const;
	// The cluster's segments with their flood lists and remotes filled in:
	// what a file would say for this node, less its own ports.
	std::vector<Segment> segments() const;

	// The node that wins @mac in @segment, if any node reachable binds it.
	std::optional<std::string> owner(const std::string &segment, const Mac &mac) const;
	// The sequence number this node publishes when it binds @mac: its own
	// when it already wins, else one above the highest anyone holds.
	std::uint32_t next_sequence(const std::string &segment, const Mac &mac) const;

	std::vector<NodeInfo> nodes() const;
	std::vector<DuplicateMac> duplicates() const;
	// Keys whose value failed validation, with why; and bindings whose
	// segment is not defined (ignored until it is).
	const std::map<std::string, std::string> &bad_keys() const { return bad_; }
	std::vector<std::string> orphan_bindings() const;
	const ViewCounters &counters() const { return counters_; }

private:
	using MacKey = std::pair<std::string, Mac>; // segment, MAC
	struct MacState {
		std::map<std::string, Binding> by_node;
		std::optional<std::string> winner;
		std::optional<std::string> last_owner; // where it was last seen: moves
		TimePoint last_bound{}; // when the last binding went
		std::optional<TimePoint> shared_since; // bound on 2+ reachable nodes
		bool duplicate = false;
		std::deque<TimePoint> moves;
		bool frozen = false;
		TimePoint frozen_at{};
	};
	struct NodeState {
		std::optional<VtepRecord> vtep;
		std::set<MacKey> bindings;
	};

	// @value null: a delete. Resyncs elect without counting moves, then
	// compare once at the end.
	void apply_one(const std::string &key, const std::string *value, std::int64_t revision,
		       TimePoint now, bool detect_moves);
	void forget(const KeyRef &ref, TimePoint now, bool detect_moves);
	void put_record(const std::string &key, Record record, TimePoint now, bool detect_moves);
	void erase_binding(const std::string &node, const MacKey &mk, TimePoint now, bool detect_moves);
	void set_vtep(const std::string &node, std::optional<VtepRecord> vtep, TimePoint now,
		      bool detect_moves);
	void drop_if_empty(const std::string &node);
	void drop_if_idle(std::map<MacKey, MacState>::iterator it, TimePoint now);
	// Picks the winner again, and runs the duplicate and move rules.
	void elect(const MacKey &mk, MacState &st, TimePoint now, bool detect_moves);
	void check_duplicate(const MacKey &mk, MacState &st, TimePoint now);
	const IpAddr *reachable(const std::string &node) const;
	void warn_orphan(const std::string &key) const;

	ViewOptions options_;
	std::int64_t revision_ = 0;
	std::map<std::string, Segment> segments_;
	std::map<std::string, NodeState> nodes_;
	std::map<MacKey, MacState> macs_;
	std::map<std::string, std::string> bad_;
	std::set<MacKey> shared_; // bound on 2+ nodes: the duplicate timer runs
	// (segment, node) a MAC moved away from -> until when the node stays
	// a member of the segment (ViewOptions::forward_hold).
	std::map<std::pair<std::string, std::string>, TimePoint> departed_;
	ViewCounters counters_;
};

} // namespace ovx::cluster
