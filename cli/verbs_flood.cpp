// flood add|del|show
#include <iostream>

#include "agent/imperative.h"
#include "agent/inspect.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "maps/error.h"

namespace ovx::cli {

void add_flood_verbs(CLI::App &app, Commands &out)
{
	auto *group = app.add_subcommand(
		"flood", "Add, remove or show a segment's remote VTEPs for BUM traffic");
	group->require_subcommand(1);

	struct Args {
		std::string vtep, segment;
	};
	auto a = std::make_shared<Args>();
	auto *add = group->add_subcommand("add", "Add a remote VTEP to a segment's flood list");
	add->add_option("vtep", a->vtep, "Remote VTEP address")->required();
	add->add_option("--segment", a->segment, "Segment name")->required();
	add->footer("Example: ovx --netns host1 flood add 192.168.77.3 --segment blue-web");
	out.push_back({add, nullptr, [a](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx flood add",
					[&](Config &c) { flood_add(c, a->segment, a->vtep); });
		       },
		       Access::edits});

	auto d = std::make_shared<Args>();
	auto *del = group->add_subcommand("del", "Remove a remote VTEP from a segment's flood list");
	del->add_option("vtep", d->vtep, "Remote VTEP address")->required();
	del->add_option("--segment", d->segment, "Segment name")->required();
	del->footer("Example: ovx --netns host1 flood del 192.168.77.3 --segment blue-web");
	out.push_back({del, nullptr, [d](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx flood del",
					[&](Config &c) { flood_del(c, d->segment, d->vtep); });
		       },
		       Access::edits});

	auto only = std::make_shared<std::string>();
	auto *show = group->add_subcommand("show", "Show flood lists");
	show->add_option("--segment", *only, "Only this segment");
	show->footer("Example: ovx --netns host1 flood show --segment blue-web");
	out.push_back({show, nullptr, [only](const Globals &g, const std::string &instance) {
			       const auto state = inspect(open_existing(instance), false);
			       auto j = nlohmann::json::array();
			       bool found = only->empty();
			       for (const auto &s : state.segments) {
				       if (!only->empty() && s.name != *only)
					       continue;
				       found = true;
				       auto vteps = nlohmann::json::array();
				       for (const auto &ip : s.flood)
					       vteps.push_back(format_ip(ip));
				       if (g.json)
					       j.push_back({{"segment", s.name}, {"flood", vteps}});
				       else {
					       std::cout << s.name << ':';
					       for (const auto &ip : s.flood)
						       std::cout << ' ' << format_ip(ip);
					       std::cout << '\n';
				       }
			       }
			       if (!found)
				       throw ConfigError("--segment: no segment '" + *only + "'");
			       if (g.json)
				       std::cout << nlohmann::json{{"flood", j}}.dump(2) << '\n';
		       }});
	out.back().privilege = Privilege::group;
}

} // namespace ovx::cli
