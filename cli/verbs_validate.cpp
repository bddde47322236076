// validate: a desired-state file checked as apply's reader checks it, with
// no privileges, no kernel and no instance (a laptop, a CI pipeline), and
// the interfaces it names looked up only when asked to (--host, --netns).
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "agent/apply.h"
#include "agent/config.h"
#include "cli/cli.h"
#include "loader/netns.h"
#include "maps/error.h"

namespace ovx::cli {

std::function<std::optional<int>()> add_validate_verb(CLI::App &app, const Globals &g)
{
	struct Args {
		std::string file;
		bool host = false;
	};
	auto args = std::make_shared<Args>();
	auto *sub = app.add_subcommand(
		"validate", "Check a desired-state file without applying it; needs no privileges");
	sub->add_option("-f,--file", args->file, "YAML desired state")->required();
	sub->add_flag("--host", args->host,
		      "Also check that its interfaces exist in this network namespace (implied by "
		      "the global --netns, which needs CAP_SYS_ADMIN to enter it)");
	sub->footer("Example: ovx validate -f host1.yaml            # syntax, ranges, clashes\n"
		    "         ovx --netns host1 validate -f host1.yaml  # and host1's interfaces\n"
		    "Exit status 0 valid, 1 invalid (FILE:LINE:COLUMN: what is wrong).");

	return [&g, sub, args]() -> std::optional<int> {
		if (!sub->parsed())
			return std::nullopt;
		const Config config = load_config(args->file);
		const bool interfaces = args->host || !g.netns.empty();
		if (!g.netns.empty())
			enter_netns(g.netns);
		if (interfaces)
			resolve(config); // ConfigError at the interface's FILE:LINE:COLUMN
		std::size_t ports = 0;
		for (const Segment &s : config.segments)
			ports += s.ports.size();
		if (g.json)
			std::cout << nlohmann::json{{"file", args->file},
						    {"valid", true},
						    {"segments", config.segments.size()},
						    {"ports", ports},
						    {"interfaces_checked", interfaces}}
					     .dump()
				  << '\n';
		else
			std::cout << args->file << ": valid (" << config.segments.size()
				  << " segment(s), " << ports << " port(s)"
				  << (interfaces ? ", interfaces present" : ", interfaces not checked")
				  << ")\n";
		return kExitOk;
	};
}

} // namespace ovx::cli
