// `ovx apply` and `ovx down`: the desired state onto the dataplane and back.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/delivery.h"
#include "agent/desired.h"
#include "agent/nexthops.h"
#include "agent/reconcile.h"
#include "loader/dataplane.h"
#include "loader/segmenter.h"

namespace ovx {

struct ApplyResult {
	bool created = false; // the programs were loaded by this apply
	ReconcileReport maps;
	int ports_attached = 0;
	int ports_detached = 0;
	// Hooks this call found without ovx's program and attached, in words
	// ("XDP on eth1"): on a running instance, repairs.
	std::vector<std::string> attached;
	// The next-hop table as this apply refreshed it (not by a delta, nor
	// in a plan); for the agents' NextHopWatch.
	std::optional<NextHopState> nexthops;
	// The ports that take XDP_REDIRECT, as this apply decided (not by a
	// delta, nor in a plan).
	std::optional<DeliveryState> delivery;
};

// underlay.mode auto made concrete for @interface, by its driver: tc on a
// veth (an XDP program there turns TSO off on its peer, and mode tc moves
// more per core on it: docs/BENCHMARKS.md), native on drivers with native
// XDP, tc on the rest (generic XDP costs more than no XDP). Other modes
// stay as they are.
XdpMode effective_mode(XdpMode mode, const std::string &interface);

// The interfaces @config names, as this network namespace has them; a
// missing one is a ConfigError pointing at the file.
Resolved resolve(const Config &config);

// Whether @want has STT segments, which need the segmenter.
bool needs_segmenter(const DesiredState &want);

// Points @want's STT segments at @sg and adds its return side as the port
// of segment 0 (see loader/segmenter.h).
void use_segmenter(DesiredState &want, const Segmenter &sg);

// What an apply() wrote: the base apply_delta() writes its delta against.
struct Applied {
	XdpMode mode;
	Resolved resolved;
	DesiredState desired;
	// apply_delta()'s dataplane, kept open from one delta to the next
	// while its pins stay the same (Dataplane::pins_unchanged()).
	std::shared_ptr<Dataplane> dataplane = {};
};

// One change an apply makes outside the maps, in words: {"attach", "XDP
// (native)", "eth1"}, {"enable", "IPv4 forwarding", "eth1"}, {"create",
// "instance", ""}.
struct HookChange {
	std::string op;	  // attach detach create remove enable disable add delete
	std::string what;
	std::string interface; // empty when none
};

// What apply() would do: `ovx apply --dry-run`.
struct ApplyPlan {
	bool create = false; // nothing is pinned: the programs would be loaded
	std::vector<HookChange> hooks;
	std::vector<MapWrite> writes; // in the order reconcile() writes them
	ReconcileReport maps;

	// Whether applying would change anything. Learned entries that would
	// be reclaimed (aged) do not count: any apply or agent tick does that.
	bool changes() const { return create || !hooks.empty() || maps.changes(); }
};

// Loads and attaches the programs when needed, then makes the maps match
// @config. Bad input (a missing interface) throws ConfigError before anything
// changes; a refusal by the kernel throws SystemError after undoing what this
// call did.
// @observe hears of every map entry written.
// @applied, when given, receives what was written once it stands.
ApplyResult apply(const Config &config, const std::string &instance,
		  const WriteObserver &observe = {}, Applied *applied = nullptr);

// What apply() would do, decided by the same code and done not at all: no
// map written, no pin, hook, link, neighbour or sysctl changed, no change
// log. On an instance that is not up, the programs are loaded unpinned to
// diff against their empty maps, and freed. Bad input throws ConfigError,
// as apply() would. Takes no lock: it writes nothing, and what it reads may
// change after it returns anyway.
ApplyPlan plan_apply(const Config &config, const std::string &instance);

// @config as a delta against @last when it differs from it only in static
// FDB entries (a remote MAC bound, moved or gone) and VTEPs that join
// segments (delta_applicable()): no hook touched, no map read whole, all or
// nothing; @last then holds the new state. nullopt, with nothing written,
// when it changes more (a segment, a port, a VTEP leaving, an interface,
// the segmenter, the NIC program): apply() is the way then.
// The caller holds the writer lock, as for apply().
std::optional<ApplyResult> apply_delta(const Config &config, const std::string &instance,
				       Applied &last, const WriteObserver &observe = {});

// Detaches everything and removes the instance's pins; false if none existed.
bool down(const std::string &instance);

} // namespace ovx
