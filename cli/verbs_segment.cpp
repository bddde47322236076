// segment add|del|show
#include <iostream>

#include "agent/imperative.h"
#include "agent/inspect.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "maps/error.h"

namespace ovx::cli {
namespace {

ovx_encap encap_arg(const std::string &text)
{
	for (ovx_encap e : {OVX_ENCAP_VXLAN, OVX_ENCAP_NVGRE, OVX_ENCAP_STT, OVX_ENCAP_GENEVE})
		if (text == encap_name(e))
			return e;
	throw ConfigError("--encap: unknown encapsulation '" + text +
			  "' (vxlan, nvgre, stt or geneve)");
}

} // namespace

void add_segment_verbs(CLI::App &app, Commands &out)
{
	auto *group = app.add_subcommand("segment", "Add, remove or show L2 segments");
	group->require_subcommand(1);

	struct Args {
		Segment spec;
		std::string encap = "vxlan";
		std::string learning = "true";
	};
	auto a = std::make_shared<Args>();
	auto *add = group->add_subcommand("add", "Add a segment (no ports yet)");
	add->add_option("name", a->spec.name, "Segment name")->required();
	add->add_option("--tenant", a->spec.tenant, "Tenant it belongs to")->required();
	add->add_option("--id,--vni", a->spec.id, "VNI (or VSID / context id)")->required();
	add->add_option("--encap", a->encap, "vxlan (default), nvgre, stt, geneve")
		->check(CLI::IsMember({"vxlan", "nvgre", "stt", "geneve"}));
	add->add_option("--learning", a->learning, "true (default) or false")
		->check(CLI::IsMember({"true", "false"}));
	add->add_option("--aging", a->spec.aging_sec, "Seconds a learned MAC lives (default 300)");
	add->footer("Example: ovx --netns host1 segment add blue-web --tenant blue --vni 5001");
	out.push_back({add, nullptr, [a](const Globals &g, const std::string &instance) {
			       Segment spec = a->spec;
			       spec.encap = encap_arg(a->encap);
			       spec.learning = a->learning == "true";
			       run_edit(g, instance, "ovx segment add", [&](Config &c) {
				       segment_add(c, spec);
			       });
		       },
		       Access::edits});

	auto name = std::make_shared<std::string>();
	auto *del = group->add_subcommand("del", "Remove a segment (its ports first)");
	del->add_option("name", *name, "Segment name")->required();
	del->footer("Example: ovx --netns host1 segment del blue-web");
	out.push_back({del, nullptr, [name](const Globals &g, const std::string &instance) {
			       run_edit(g, instance, "ovx segment del",
					[&](Config &c) { segment_del(c, *name); });
		       },
		       Access::edits});

	auto only = std::make_shared<std::string>();
	auto *show = group->add_subcommand("show", "Show segments");
	show->add_option("name", *only, "Only this segment");
	show->footer("Example: ovx --netns host1 segment show blue-web --json");
	out.push_back({show, nullptr, [only](const Globals &g, const std::string &instance) {
			       auto state = inspect(open_existing(instance), false);
			       if (!only->empty()) {
				       std::erase_if(state.segments,
						     [&](const auto &s) { return s.name != *only; });
				       if (state.segments.empty())
					       throw ConfigError("no segment '" + *only + "'");
			       }
			       auto j = nlohmann::json::array();
			       for (const auto &s : state.segments)
				       if (g.json)
					       j.push_back(segment_json(s));
				       else
					       print_segment(std::cout, s);
			       if (g.json)
				       std::cout << nlohmann::json{{"segments", j}}.dump(2) << '\n';
		       }});
	out.back().privilege = Privilege::group;
}

} // namespace ovx::cli
