// What every verb file under cli/ shares: the global options, the command
// table main() dispatches from, and helpers. Each verb group registers its
// subcommands with an add_*_verbs() function called from main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/log.h"
#include "loader/dataplane.h"

namespace ovx::cli {

// ovx's own options, given before or after the verb.
struct Globals {
	std::string netns;
	std::string instance;
	bool json = false; // every verb's output, and errors
	bool wait = false; // for the instance's writer lock instead of failing
	LogOptions log;
};

// Whether a verb changes the instance (maps, pins, hooks): such verbs run
// under the instance's writer lock (agent/writer_lock.h). Edits change the
// desired state, which an agent owns: they are refused while one runs
// (exit 1), before the lock is asked for, however busy the agent is.
enum class Access { reads, writes, edits };

// Who may run a verb. Verbs that change anything need capabilities
// (CAP_BPF, CAP_NET_ADMIN: loader/permissions.h), whatever the uid;
// verbs that only read the pins run for any user the pins' permissions
// let in (group ovx). Capabilities unless a verb says otherwise.
enum class Privilege { capabilities, group };

// Thrown by a verb to end with a status of its own (the agent's), after
// it has said why.
struct ExitStatus {
	int status;
};

// One runnable (leaf) subcommand.
struct Command {
	CLI::App *sub = nullptr;
	// Runs before the namespace is entered and before the root check:
	// reads files (relative to the caller) so that bad input fails first.
	std::function<void()> prepare;
	// Runs in the namespace; @instance is the validated instance name.
	std::function<void(const Globals &, const std::string &instance)> run;
	Access access = Access::reads;
	Privilege privilege = Privilege::capabilities;
};
using Commands = std::vector<Command>;

// Registration, one per file (cli/verbs_*.cpp).
void add_apply_verbs(CLI::App &app, Commands &out);   // apply show down export
void add_observe_verbs(CLI::App &app, Commands &out); // stats trace metrics
void add_segment_verbs(CLI::App &app, Commands &out); // segment add|del|show
void add_port_verbs(CLI::App &app, Commands &out);	  // port add|del|show
void add_fdb_verbs(CLI::App &app, Commands &out);	  // fdb add|del|show
void add_flood_verbs(CLI::App &app, Commands &out);	  // flood add|del|show
void add_agent_verbs(CLI::App &app, Commands &out);	  // agent status upgrade
void add_monitor_verbs(CLI::App &app, Commands &out); // monitor
// cluster status (the other cluster verbs: cli/verbs_cluster.h); after them.
void add_cluster_status_verb(CLI::App &app, Commands &out);
// validate: runs before the instance and the namespace (no privileges, no
// kernel); the status once it ran, nullopt for another verb.
std::function<std::optional<int>()> add_validate_verb(CLI::App &app, const Globals &g);

// The pinned dataplane of @instance; ConfigError (exit 1) when none.
// Read-only (Dataplane::open) for a reader that may not look programs up
// by id, unless the verb @writes to a map.
Dataplane open_existing(const std::string &instance, bool writes = false);

// `ovx <verb> ...` that edits the desired state: refused while an agent
// owns the instance; prints what changed (text or JSON).
void run_edit(const Globals &g, const std::string &instance, const std::string &verb,
	      const std::function<void(ovx::Config &)> &edit);

} // namespace ovx::cli
