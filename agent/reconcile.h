// Makes a set of maps equal to a DesiredState, all or nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "agent/desired.h"
#include "agent/journal.h"
#include "maps/tables.h"

namespace ovx {

struct ReconcileReport {
	std::size_t added = 0;
	std::size_t changed = 0;
	std::size_t removed = 0;
	std::size_t learned_reclaimed = 0; // aged or orphaned learned FDB entries

	bool changes() const { return added || changed || removed; }
};

// A map value in words, field by field: {"segment", "blue-web"}, {"vtep", "192.168.77.2"}.
using Fields = std::vector<std::pair<std::string, std::string>>;

// One entry written by reconcile(): which map, what, and the key in words.
struct MapWrite {
	enum class Op { add, change, remove, reclaim }; // reclaim: an aged or orphaned learned entry
	std::string map;
	Op op;
	std::string key;
	// The value before (change, remove, reclaim) and after (add, change):
	// only from reconcile_plan(), for a real reconcile may write a million
	// FDB entries, and wording them would cost more than writing them.
	Fields before = {}, after = {};
};
using WriteObserver = std::function<void(const MapWrite &)>;

const char *op_name(MapWrite::Op op);

// Writes only the differences, in an order that never lets the datapath see
// a half-made segment: members and FDB before the segment record, the record
// before the ports and VNI that lead to it; removals the other way round.
// FDB entries that go are removed first, to make room for those that come.
// Learned FDB entries are kept unless their segment goes, their VTEP leaves
// the segment, or they have aged past the segment's aging time (measured
// against @now_ns, CLOCK_MONOTONIC).
// On any failure every change made so far is undone, then the error thrown.
// Large sets of additions and changes go through batch map updates.
// @observe, when given, hears of every entry written (learned entries
// reclaimed included), after the write.
ReconcileReport reconcile(Tables &tables, const DesiredState &want, std::uint64_t now_ns,
			  const WriteObserver &observe = {});

// The same, with every write recorded in @journal and nothing undone here:
// the caller commits once the rest of its change (hooks, NIC) has worked too.
ReconcileReport reconcile(Tables &tables, const DesiredState &want, std::uint64_t now_ns,
			  Journal &journal, const WriteObserver &observe = {});

// What reconcile() would write to @tables, told to @observe entry by entry
// with the values before and after, in the same order and with the same
// report; nothing is written (`ovx apply --dry-run`). The datapath may
// learn or refresh entries meanwhile: a later reconcile() can differ in
// learned entries only.
ReconcileReport reconcile_plan(Tables &tables, const DesiredState &want, std::uint64_t now_ns,
			       const WriteObserver &observe);

// From @before (what the last reconcile wrote) to @after, touching only the
// keys that differ, each read once: the cluster agent's way to apply a MAC's
// move, or a host joining a segment, in microseconds, where reconcile()
// reads every map whole. The two must differ only in what
// delta_applicable() allows; learned entries are left to the next
// reconcile(), except one a new static entry replaces, whose count is
// given back.
ReconcileReport reconcile_delta(Tables &tables, const DesiredState &before,
				const DesiredState &after, Journal &journal,
				const WriteObserver &observe = {});

std::uint64_t monotonic_ns();

} // namespace ovx
