// apply, show, down, export: the desired-state file and what is applied.
#include <iostream>
#include <optional>

#include "agent/apply.h"
#include "agent/daemon.h"
#include "agent/imperative.h"
#include "agent/inspect.h"
#include "cli/cli.h"
#include "cli/output.h"

namespace ovx::cli {

void add_apply_verbs(CLI::App &app, Commands &out)
{
	struct Args {
		std::string file;
		std::optional<Config> config;
	};
	auto args = std::make_shared<Args>();

	auto *apply = app.add_subcommand("apply", "Make the dataplane match a desired-state file");
	apply->add_option("-f,--file", args->file, "YAML desired state")->required();
	apply->footer("Example: ovx --netns host1 apply -f host1.yaml");
	out.push_back({apply, [args] { args->config = load_config(args->file); },
		       [args](const Globals &g, const std::string &instance) {
			       refuse_if_agent(instance, "ovx apply");
			       const auto result = ovx::apply(*args->config, instance);
			       if (g.json)
				       std::cout << apply_json(result).dump() << '\n';
			       else
				       print_apply(std::cout, args->file, result);
		       },
		       Access::edits});

	auto *show = app.add_subcommand("show", "Show what is applied: underlay, segments, FDB");
	show->footer("Example: ovx --netns host1 show --json");
	out.push_back({show, nullptr, [](const Globals &g, const std::string &instance) {
			       const auto state = inspect(open_existing(instance), true);
			       if (g.json)
				       std::cout << show_json(state).dump(2) << '\n';
			       else
				       print_show(std::cout, state);
		       }});

	auto *exp = app.add_subcommand(
		"export", "Print the applied desired state as a file (imperative changes included); "
			  "with --json as JSON, which apply reads too");
	exp->footer("Example: ovx --netns host1 export > host1.yaml   # then: ovx agent -f host1.yaml");
	out.push_back({exp, nullptr, [](const Globals &g, const std::string &instance) {
			       const Config c = current_config(open_existing(instance));
			       if (g.json)
				       std::cout << config_json(c).dump(2) << '\n';
			       else
				       std::cout << to_yaml(c);
		       }});

	auto *down = app.add_subcommand("down", "Detach everything and remove the pins");
	down->footer("Example: ovx --netns host1 down");
	out.push_back({down, nullptr, [](const Globals &g, const std::string &instance) {
			       refuse_if_agent(instance, "ovx down");
			       const bool was_up = ovx::down(instance);
			       forget_agent(instance);
			       if (g.json)
				       std::cout << nlohmann::json{{"instance", instance}, {"down", was_up}}
							    .dump()
						 << '\n';
			       else
				       std::cout << "instance " << instance << ": "
						 << (was_up ? "down" : "nothing to take down") << '\n';
		       },
		       Access::edits});
}

} // namespace ovx::cli
