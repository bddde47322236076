#include <iostream>

#include "agent/daemon.h"
#include "agent/events.h"
#include "agent/imperative.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "loader/permissions.h"
#include "maps/error.h"

namespace ovx::cli {

Dataplane open_existing(const std::string &instance, bool writes)
{
	auto dp = Dataplane::open(instance, !writes && !can_read_programs());
	if (!dp)
		throw ConfigError("instance '" + instance +
				  "' is not running (nothing pinned under " +
				  Dataplane::instance_dir(instance) + "); run 'ovx apply' first");
	return std::move(*dp);
}

void run_edit(const Globals &g, const std::string &instance, const std::string &verb,
	      const std::function<void(ovx::Config &)> &edit)
{
	refuse_if_agent(instance, verb);
	const ApplyResult r = edit_instance(instance, verb, edit);
	EventBus(instance).publish(apply_event(verb, r));
	if (g.json) {
		auto j = apply_json(r);
		j["verb"] = verb;
		std::cout << j.dump() << '\n';
	} else {
		print_apply(std::cout, verb, r);
	}
}

} // namespace ovx::cli
