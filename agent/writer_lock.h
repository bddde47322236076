// One writer per instance. Every path that changes an instance's maps, pins
// or hooks (apply, down, the imperative verbs, upgrade, offload attach and
// detach, trace's flags, the agent's cycles) holds this lock while it does:
// two writers interleaving their read-modify-write of the same maps lose
// each other's changes, and one's rollback removes what the other made.
#pragma once

#include <string>

#include "maps/unique_fd.h"

namespace ovx {

// The directory of ovx's runtime state (locks, agent state): /run/ovx, or
// $OVX_RUN_DIR (tests).
std::string run_base_dir();

// Makes @dir (and its parents) for run-time state; the base and what this
// call made are group ovx's to read (loader/permissions.h), for status.
void create_run_dir(const std::string &dir);

class WriterLock {
public:
	// Takes @instance's writer lock for @verb ("ovx apply"). When another
	// writer holds it: throws SystemError naming that writer (exit 2), or,
	// with @wait, says once on stderr whom it waits for and blocks.
	static WriterLock take(const std::string &instance, const std::string &verb, bool wait);

	// The lock file: <run_base_dir()>/<instance>.lock. Never removed: a lock
	// taken on a file that another process unlinked and recreated guards
	// nothing.
	static std::string path(const std::string &instance);

	// Whether some process holds @instance's lock now (for status).
	static bool held(const std::string &instance);

private:
	explicit WriterLock(UniqueFd fd) : fd_(std::move(fd)) {}
	UniqueFd fd_;
};

} // namespace ovx
