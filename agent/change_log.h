// The write-ahead log of one change to an instance outside its maps: hooks,
// sysctls, links, neighbours, pins. Each step is recorded, with how to take
// it back, before it is made, in <run_base_dir()>/<instance>.pending; a
// change that commits records what it leaves to release afterwards (the old
// underlay's hooks, removed ports). A writer killed at any point (kill -9,
// power cut of the process) thus leaves a file that says what to undo, or,
// once committed, what to finish: the next writer (apply, down) does it
// under the instance's writer lock before anything else (recover()).
//
// Map contents are not in this log: reconcile() journals them in memory,
// and after a crash the next apply makes the maps whole again anyway.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ovx {

struct Action {
	enum class Op {
		destroy,	  // the dataplane this change created: everything goes
		forwarding_off,	  // ip forwarding of @family on @ifindex
		detach_xdp,	  // this instance's XDP program from @ifindex
		attach_xdp,	  // this instance's XDP program on @ifindex, @flags
		detach_tc,	  // this instance's TC filter from @ifindex
		remove_segmenter, // the instance's segmenter link pair
		del_neighbour,	  // the managed neighbour @addr on @ifindex
		offload_remove,	  // ovx's NIC program on @ifindex
	};
	Op op;
	int ifindex = 0;
	int family = 0;
	std::uint32_t flags = 0;
	std::array<std::uint8_t, 16> addr{};
};

class ChangeLog {
public:
	explicit ChangeLog(std::string instance);
	ChangeLog(const ChangeLog &) = delete;
	ChangeLog &operator=(const ChangeLog &) = delete;
	// Not committed: every recorded undo runs, newest first.
	~ChangeLog();

	// How to take back the step the caller is about to make; on disk when
	// this returns.
	void undo(const Action &a);
	// What to do once the change has committed.
	void release(const Action &a);
	// The change stands: releases run (failures are warnings on stderr:
	// the new state is in place) and the log goes.
	void commit();

	// Finishes or undoes what a killed writer of @instance left; true when
	// there was something. Call with the writer lock held.
	static bool recover(const std::string &instance);

private:
	void save() const;

	std::string instance_;
	std::vector<Action> undo_, release_;
	bool committed_ = false;
};

// Performs one action on @instance, quietly doing nothing when what it
// names is gone already (actions are replayed after crashes).
void perform(const std::string &instance, const Action &a);

// Fault injection for the crash tests: with OVX_CRASH_AT=N in the
// environment, the N-th crash point this process reaches ends it at once
// (_exit, as kill -9 would: no destructors, no cleanup). @step names the
// point in the message to stderr.
void crash_point(const char *step);

} // namespace ovx
