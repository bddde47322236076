// apply, show, down, export: the desired-state file and what is applied.
#include <iostream>
#include <optional>

#include "agent/apply.h"
#include "agent/daemon.h"
#include "agent/events.h"
#include "agent/imperative.h"
#include "agent/inspect.h"
#include "agent/writer_lock.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/output_plan.h"
#include "maps/error.h"

namespace ovx::cli {

void add_apply_verbs(CLI::App &app, Commands &out)
{
	struct Args {
		std::string file;
		bool dry_run = false;
		bool diff = false;
		std::optional<Config> config;
	};
	auto args = std::make_shared<Args>();

	auto *apply = app.add_subcommand("apply", "Make the dataplane match a desired-state file");
	apply->add_option("-f,--file", args->file, "YAML desired state")->required();
	apply->add_flag("--dry-run", args->dry_run,
			"Change nothing; print what would be added, changed and removed, map by map "
			"and hook by hook (exit 3 when something would change, 0 when nothing)");
	apply->add_flag("--diff", args->diff,
			"A dry run printed as a unified diff: '-' what is applied, '+' what FILE asks");
	apply->footer("Example: ovx --netns host1 apply -f host1.yaml\n"
		      "         ovx --netns host1 apply --dry-run -f host1.yaml   # exit 3: would change");
	// Access::reads in the table: a dry run changes nothing, so it runs
	// beside an agent and takes no lock; the real apply asks for both here.
	out.push_back({apply, [args] { args->config = load_config(args->file); },
		       [args](const Globals &g, const std::string &instance) {
			       if (args->dry_run || args->diff) {
				       const ApplyPlan plan = plan_apply(*args->config, instance);
				       if (g.json)
					       std::cout << plan_json(args->file, instance, plan).dump(2)
							 << '\n';
				       else if (args->diff)
					       print_plan_diff(std::cout, args->file, instance, plan);
				       else
					       print_plan(std::cout, args->file, instance, plan);
				       if (plan.changes())
					       throw ExitStatus{kExitChanges};
				       return;
			       }
			       refuse_if_agent(instance, "ovx apply");
			       const WriterLock writer = WriterLock::take(instance, "ovx apply", g.wait);
			       const auto result = ovx::apply(*args->config, instance);
			       EventBus(instance).publish(apply_event("ovx apply", result));
			       if (g.json)
				       std::cout << apply_json(result).dump() << '\n';
			       else
				       print_apply(std::cout, args->file, result);
		       }});

	auto *show = app.add_subcommand("show", "Show what is applied: underlay, segments, FDB");
	show->footer("Example: ovx --netns host1 show --json");
	out.push_back({show, nullptr, [](const Globals &g, const std::string &instance) {
			       const auto state = inspect(open_existing(instance), true);
			       if (g.json)
				       std::cout << show_json(state).dump(2) << '\n';
			       else
				       print_show(std::cout, state);
		       }});
	out.back().privilege = Privilege::group;

	auto *exp = app.add_subcommand(
		"export", "Print the applied desired state as a file (imperative changes included); "
			  "with --json as JSON, which apply reads too");
	exp->footer("Example: ovx --netns host1 export > host1.yaml   # then: ovx agent -f host1.yaml");
	out.push_back({exp, nullptr, [](const Globals &g, const std::string &instance) {
			       const Config c = current_config(open_existing(instance));
			       if (g.json)
				       std::cout << config_tree(c).dump(2) << '\n';
			       else
				       std::cout << to_yaml(c);
		       }});
	out.back().privilege = Privilege::group;

	auto *down = app.add_subcommand("down", "Detach everything and remove the pins");
	down->footer("Example: ovx --netns host1 down");
	out.push_back({down, nullptr, [](const Globals &g, const std::string &instance) {
			       refuse_if_agent(instance, "ovx down");
			       const bool was_up = ovx::down(instance);
			       // Before forget_agent(), which removes the monitors' sockets.
			       if (was_up)
				       EventBus(instance).publish(down_event("ovx down"));
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
