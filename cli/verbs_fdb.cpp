// fdb add|del|show
#include <iostream>

#include "agent/imperative.h"
#include "agent/inspect.h"
#include "cli/cli.h"
#include "cli/output.h"

namespace ovx::cli {

void add_fdb_verbs(CLI::App &app, Commands &out)
{
	auto *group = app.add_subcommand("fdb", "Add, remove or show forwarding entries");
	group->require_subcommand(1);

	struct Args {
		std::string mac, segment, vtep;
	};
	auto a = std::make_shared<Args>();
	auto *add = group->add_subcommand(
		"add", "Static entry: MAC behind a remote VTEP (like bridge fdb add ... dst ... vni ...)");
	add->add_option("mac", a->mac, "The remote VM's MAC")->required();
	add->add_option("--segment", a->segment, "Segment name")->required();
	add->add_option("--vtep,--dst", a->vtep, "The VTEP it sits behind")->required();
	add->footer("Example: ovx --netns host1 fdb add 02:00:00:00:02:01 --segment blue-web --vtep 192.168.77.2\n"
		    "A local port's MAC is its static entry already: see 'ovx port add'.");
	out.push_back({add, nullptr, [a](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx fdb add",
					[&](Config &c) { fdb_add(c, a->segment, a->mac, a->vtep); });
		       },
		       Access::edits});

	auto d = std::make_shared<Args>();
	auto *del = group->add_subcommand("del", "Remove a static entry");
	del->add_option("mac", d->mac, "MAC")->required();
	del->add_option("--segment", d->segment, "Segment name")->required();
	del->footer("Example: ovx --netns host1 fdb del 02:00:00:00:02:01 --segment blue-web");
	out.push_back({del, nullptr, [d](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx fdb del",
					[&](Config &c) { fdb_del(c, d->segment, d->mac); });
		       },
		       Access::edits});

	auto only = std::make_shared<std::string>();
	auto *show = group->add_subcommand(
		"show", "Stream the FDB, static and learned entries (O(n), one map batch in memory)");
	show->add_option("--segment", *only, "Only this segment");
	show->footer("Example: ovx --netns host1 fdb show --segment blue-web --json");
	out.push_back({show, nullptr, [only](const Globals &g, const std::string &instance) {
			       const Dataplane dp = open_existing(instance);
			       bool first = true;
			       if (g.json)
				       std::cout << "{\"fdb\": [";
			       for_each_fdb(dp, [&](const FdbView &f) {
				       if (!only->empty() && f.segment != *only)
					       return;
				       if (!g.json) {
					       print_fdb(std::cout, f);
					       return;
				       }
				       std::cout << (first ? "\n  " : ",\n  ") << fdb_json(f).dump();
				       first = false;
			       });
			       if (g.json)
				       std::cout << "\n]}\n";
		       }});
	out.back().privilege = Privilege::group;
}

} // namespace ovx::cli
