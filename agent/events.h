// Control-plane events for `ovx monitor` (agent/monitor.h): what they look
// like on the wire and on screen, and how writers (the agent, `ovx apply`)
// hand them to the monitors running for an instance.
//
// Every monitor listens on a SOCK_SEQPACKET socket of its own in
// <run dir>/<instance>/monitors/; a writer connects to each and sends one
// event per message, never blocking: a monitor that does not read (stopped,
// stuck, slow) loses events, which the next event it gets counts ("lost").
// Monitors listen rather than the agent, so that writers without an agent
// (`ovx apply`) reach them too, and a monitor started before the agent
// hears it start.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "maps/unique_fd.h"

namespace ovx {

// The kinds: learn, move, age-out, flush (FDB, from the monitor's own
// reads), drift, apply, down, agent-start, agent-reload, agent-stop (from
// writers), lost (events a monitor missed).
struct Event {
	std::string kind;
	std::uint64_t unix_ms = 0; // when it happened (or was seen)
	// What the kind says, in the order it is shown: segment, tenant, mac,
	// vtep or port first for FDB events.
	nlohmann::ordered_json fields = nlohmann::ordered_json::object();
};

std::uint64_t unix_ms_now();

// @kind with @fields, now.
Event event_now(std::string kind, nlohmann::ordered_json fields);

struct ApplyResult;
// An apply this process made: by whom ("agent", "ovx apply"), its pid, the
// map entries it added, changed and removed.
Event apply_event(const std::string &by, const ApplyResult &r);

// `ovx down` by this process took the instance down: its programs, maps and
// pins are gone (FDB events start afresh when it is applied again).
Event down_event(const std::string &by);

// One JSON object, no newline: {"time": "2026-12-05T20:30:01.123Z",
// "event": KIND, FIELDS...}.
std::string event_json(const Event &e);
// One line for people: TIME KIND [TENANT/SEGMENT] [MAC] [vtep A|port P]
// [key=value...].
std::string event_text(const Event &e);
// What event_json() wrote; nullopt for anything else.
std::optional<Event> parse_event(std::string_view json);

// The directory monitors listen in.
std::string monitor_dir(const std::string &instance);

// A writer's connections to the monitors of an instance. Not thread-safe.
class EventBus {
public:
	explicit EventBus(std::string instance) : instance_(std::move(instance)) {}

	// Sends @e to every monitor listening now; never blocks.
	void publish(const Event &e);

	// Events not delivered because a monitor did not read in time.
	std::uint64_t dropped() const { return dropped_; }

private:
	struct Peer {
		UniqueFd fd;
		std::uint64_t lost = 0; // since its last delivered event
	};
	void connect_new();

	std::string instance_;
	std::map<std::string, Peer> peers_; // socket path -> connection
	std::uint64_t dropped_ = 0;
};

} // namespace ovx
