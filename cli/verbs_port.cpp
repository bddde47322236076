// port add|del|show
#include <iostream>

#include "agent/imperative.h"
#include "agent/inspect.h"
#include "cli/cli.h"
#include "cli/output.h"

namespace ovx::cli {

void add_port_verbs(CLI::App &app, Commands &out)
{
	auto *group = app.add_subcommand("port", "Add, remove or show VM ports");
	group->require_subcommand(1);

	struct Args {
		std::string interface, segment, mac;
	};
	auto a = std::make_shared<Args>();
	auto *add = group->add_subcommand("add", "Make an interface (a VM's veth/tap) a port of a segment");
	add->add_option("interface", a->interface, "Host side of the VM's veth or tap")->required();
	add->add_option("--segment", a->segment, "Segment name")->required();
	add->add_option("--mac", a->mac, "The VM's MAC: the only source MAC it may send")->required();
	add->footer("Example: ovx --netns host1 port add vm1 --segment blue-web --mac 02:00:00:00:01:01");
	out.push_back({add, nullptr, [a](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx port add", [&](Config &c) {
				       port_add(c, a->segment, a->interface, a->mac);
			       });
		       },
		       Access::edits});

	auto iface = std::make_shared<std::string>();
	auto *del = group->add_subcommand("del", "Remove a port (its TC program is detached)");
	del->add_option("interface", *iface, "The port's interface")->required();
	del->footer("Example: ovx --netns host1 port del vm1");
	out.push_back({del, nullptr, [iface](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx port del",
					[&](Config &c) { port_del(c, *iface); });
		       },
		       Access::edits});

	auto *show = group->add_subcommand("show", "Show ports");
	show->footer("Example: ovx --netns host1 port show --json");
	out.push_back({show, nullptr, [](const Globals &g, const std::string &instance) {
			       const auto state = inspect(open_existing(instance), false);
			       auto j = nlohmann::json::array();
			       for (const auto &p : state.ports)
				       if (g.json)
					       j.push_back(port_json(p));
				       else
					       std::cout << p.interface << "  segment " << p.segment
							 << "  mac " << format_mac(p.mac) << "  delivery "
							 << p.delivery << '\n';
			       if (g.json)
				       std::cout << nlohmann::json{{"ports", j}}.dump(2) << '\n';
		       }});
	out.back().privilege = Privilege::group;
}

} // namespace ovx::cli
