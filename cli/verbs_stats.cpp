// stats: per-segment counters.
#include <iostream>

#include "agent/inspect.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "maps/error.h"

namespace ovx::cli {

void add_stats_verbs(CLI::App &app, Globals &g, Commands &out)
{
	auto segment = std::make_shared<std::string>();
	auto *stats = app.add_subcommand("stats", "Per-segment counters and drops by reason");
	json_flag(stats, g);
	stats->add_option("--segment", *segment, "Only this segment");
	stats->footer("Example: ovx --netns host1 stats --segment blue-web");
	out.push_back({stats, nullptr, [segment](const Globals &g, const std::string &instance) {
			       auto state = inspect(open_existing(instance), false);
			       if (!segment->empty()) {
				       std::erase_if(state.segments, [&](const auto &s) {
					       return s.name != *segment;
				       });
				       if (state.segments.empty())
					       throw ConfigError("--segment: no segment '" + *segment +
								 "'");
			       }
			       if (g.json)
				       std::cout << stats_json(state).dump(2) << '\n';
			       else
				       print_stats(std::cout, state);
		       }});
}

} // namespace ovx::cli
