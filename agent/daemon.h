// `ovx agent -f FILE`: keeps an instance equal to a desired-state file, in
// the foreground (systemd style), until SIGTERM.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/config.h"
#include "maps/unique_fd.h"

namespace ovx {

struct AgentOptions {
	std::string file;
	std::string instance;
	double interval_sec = 10;     // reconcile (drift repair, learned reclaim)
	bool upgrade = false;	      // swap in this binary's programs at start
	std::string metrics_listen;   // "ADDR:PORT" to serve /metrics on, empty = none
	double fdb_interval_sec = 15; // between the exporter's FDB counts
	std::optional<Config> config; // @file, read already (a million entries take a while)
};

// Runs until SIGTERM or SIGINT; the dataplane stays as it is when it ends.
// An apply that fails (an interface not there yet) is retried every
// interval. Returns the exit status: 1 when the file is bad at start, 2
// when another agent holds the instance or --upgrade fails.
int run_agent(const AgentOptions &options);

// What a running agent last wrote about itself (/run/ovx/<instance>/agent.json).
struct AgentState {
	bool running = false; // its lock is held: the process is alive
	int pid = 0;
	std::string file;
	std::uint64_t started = 0;	  // unix seconds
	std::uint64_t last_reconcile = 0; // unix seconds
	std::uint64_t reconciles = 0;
	std::uint64_t applies = 0;	  // file changes (and SIGHUPs) applied
	std::uint64_t repairs = 0;	  // drift found and repaired
	std::uint64_t reclaimed = 0;	  // aged learned entries removed
	std::string last_error;		  // empty when the last cycle went well
};

std::string agent_run_dir(const std::string &instance);

// Where a cluster-mode agent reports how it is doing (cluster/agent.cpp):
// read by `ovx cluster status` and the exporter.
std::string cluster_state_path(const std::string &instance);

// Makes the calling process @instance's agent for as long as the returned
// lock is open: taken under the writer lock, so that no `down` (which
// removes the agent's directory) runs between the check and the claim;
// @announce then writes the agent's state. An empty fd: another agent
// owns the instance.
UniqueFd own_instance(const std::string &instance, const std::function<void()> &announce);

// Whether an agent owns @instance now (holds its agent.lock).
bool agent_running(const std::string &instance);

// Writes @s as the agent's state (agent.json, replaced atomically).
void write_agent_state(const std::string &instance, const AgentState &s);

// The agent's state; nullopt when no agent ever ran for @instance.
std::optional<AgentState> agent_state(const std::string &instance);

// `ovx down`: removes what agents left of @instance under /run/ovx (an agent
// still running refuses `down` before this is reached).
void forget_agent(const std::string &instance);

// Imperative changes and `ovx apply` are refused while an agent owns the
// instance: its file is the desired state, and the next reconcile would
// silently revert them. Throws ConfigError saying so.
void refuse_if_agent(const std::string &instance, const std::string &what);

} // namespace ovx
