#include "cli/verbs_offload.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "agent/inspect.h"
#include "agent/writer_lock.h"
#include "agent/offload.h"
#include "loader/netns.h"
#include "loader/offload.h"
#include "maps/error.h"
#include "offload/check.h"

namespace ovx::cli {
namespace {

nlohmann::json report_json(const offload::Report &r)
{
	nlohmann::json programs = nlohmann::json::array(), maps = nlohmann::json::array(),
		       findings = nlohmann::json::array();
	for (const auto &p : r.programs)
		programs.push_back({{"name", p.name},
				    {"section", p.section},
				    {"instructions", p.instructions},
				    {"nfp_instructions", p.nfp_instructions},
				    {"max_nfp_instructions", r.caps.max_program_length},
				    {"stack_bytes", p.stack_bytes},
				    {"max_stack_bytes", r.caps.stack_bytes}});
	for (const auto &m : r.maps)
		maps.push_back({{"name", m.name},
				{"type", offload::map_type_name(m.type)},
				{"key_size", m.key_size},
				{"value_size", m.value_size},
				{"element_bytes", m.element_bytes},
				{"max_element_bytes", r.caps.max_element_size},
				{"max_entries", m.max_entries},
				{"flags", m.flags}});
	for (const auto &f : r.findings) {
		nlohmann::json j = {{"rule", f.rule},
				    {"policy", offload::is_policy(f.rule)},
				    {"program", f.program},
				    {"reason", f.reason}};
		j["insn"] = f.insn >= 0 ? nlohmann::json(f.insn) : nlohmann::json(nullptr);
		j["map"] = f.map.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.map);
		findings.push_back(j);
	}
	return {{"object", r.object}, {"caps", r.caps.source}, {"clean", r.clean()},
		{"programs", programs}, {"maps", maps},	       {"findings", findings}};
}

void print_report(std::ostream &out, const offload::Report &r)
{
	for (const auto &p : r.programs)
		out << r.object << ": program " << p.name << " (" << p.section << "): " << p.instructions
		    << " instructions, about " << p.nfp_instructions << " NFP instructions of "
		    << r.caps.max_program_length << ", stack " << p.stack_bytes << " of "
		    << r.caps.stack_bytes << " bytes\n";
	for (const auto &m : r.maps)
		out << r.object << ": map " << m.name << ": " << offload::map_type_name(m.type)
		    << ", key " << m.key_size << " + value " << m.value_size << " = "
		    << m.element_bytes << " of " << r.caps.max_element_size << " bytes, "
		    << m.max_entries << (m.max_entries == 1 ? " entry\n" : " entries\n");
	for (const auto &f : r.findings) {
		out << r.object << ": ";
		if (!f.program.empty())
			out << f.program << (f.insn >= 0 ? ":" + std::to_string(f.insn) : "") << ": ";
		out << f.rule << (offload::is_policy(f.rule) ? " (policy)" : "") << ": " << f.reason << '\n';
	}
	out << r.object << ": "
	    << (r.clean() ? "keeps every NFP offload rule"
			  : std::to_string(r.findings.size()) + " rule violation(s)")
	    << '\n';
}

nlohmann::json attach_json(const OffloadAttachResult &r)
{
	return {{"interface", r.interface},
		{"ifindex", r.ifindex},
		{"program",
		 {{"id", r.program.id},
		  {"name", r.program.name},
		  {"bound_ifindex", r.program.ifindex},
		  {"xlated_insns", r.program.xlated_insns}}},
		{"hw_program_id", r.hw_program_id},
		{"offloaded", r.program.ifindex == static_cast<std::uint32_t>(r.ifindex) &&
				      r.hw_program_id == r.program.id},
		{"maps",
		 {{"max_entries", r.max_entries},
		  {"vni", r.vni_entries},
		  {"vteps", r.vtep_entries},
		  {"relay", r.relay_entries}}}};
}

nlohmann::json counters_json(const OffloadCounters &c)
{
	nlohmann::json drops = nlohmann::json::object();
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		drops[drop_reason_name(r)] = {{"packets", c.drops[r].packets}, {"bytes", c.drops[r].bytes}};
	return {{"drops", drops},
		{"relayed", {{"packets", c.relayed.packets}, {"bytes", c.relayed.bytes}}}};
}

void print_counters(std::ostream &out, const std::string &instance, const OffloadCounters &c)
{
	out << "instance " << instance << ": NIC relayed " << c.relayed.packets << " packets, "
	    << c.relayed.bytes << " bytes\n";
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		if (c.drops[r].packets)
			out << "  dropped " << drop_reason_name(r) << ": " << c.drops[r].packets
			    << " packets, " << c.drops[r].bytes << " bytes\n";
}

// For the verbs that touch a device: root, then the namespace it lives in.
void enter(const std::string &netns)
{
	if (geteuid() != 0)
		throw SystemError("ovx needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
	if (!netns.empty())
		enter_netns(netns);
}

} // namespace

std::function<std::optional<int>()> add_offload_verbs(CLI::App &app, const Globals &g,
						      std::function<std::string()> instance)
{
	struct Args {
		std::string object, file, interface, caps;
		bool no_policies = false;
		std::optional<std::uint32_t> max_entries;
		bool relay = false;
	};
	auto args = std::make_shared<Args>();

	auto *offload = app.add_subcommand("offload", "The NIC (hardware offload) part of the dataplane");
	offload->require_subcommand(1);

	auto *check = offload->add_subcommand(
		"check", "Check a BPF object against the NFP offload rules (exit 1 when it breaks any)");
	check->add_option("OBJECT", args->object,
			  "Compiled BPF object (default: the offload program shipped in ovx)");
	check->add_option("--caps", args->caps,
			  "The card's firmware limits, \"KEY VALUE\" lines (default: the built-in table; "
			  "docs/OFFLOAD.md)");
	check->add_flag("--no-policies", args->no_policies,
			"The driver's rules only, not ovx's policies (verdict, bpf-call)");
	check->footer("Example: ovx offload check --caps card.caps build/gen/bpf/xdp_offload.bpf.o");

	auto *attach = offload->add_subcommand(
		"attach", "Load the offload program onto the underlay NIC (XDP hardware mode) and read it back");
	attach->add_option("-f,--file", args->file, "YAML desired state")->required();
	attach->add_option("--max-entries", args->max_entries,
			   "Size of every offload map (test devices hold few; netdevsim: 2)");
	attach->add_flag("--relay", args->relay,
			 "Relay on the NIC: frames for a static remote MAC go straight back out "
			 "toward its VTEP (XDP_TX) instead of being dropped by the host");
	attach->footer("Example: ovx offload attach -f host1.yaml --relay");

	auto *stats = offload->add_subcommand(
		"stats", "The NIC's counters (mode: offload): drops by reason, relayed frames");
	stats->footer("Example: ovx --netns host1 offload stats --json");

	auto *detach = offload->add_subcommand("detach", "Remove the hardware-mode XDP program");
	detach->add_option("--interface", args->interface, "The NIC")->required();
	detach->footer("Example: ovx offload detach --interface eth1");

	return [=, &g]() -> std::optional<int> {
		const bool json = g.json;
		if (check->parsed()) {
			offload::Options options;
			if (!args->caps.empty())
				options.caps = offload::parse_caps(args->caps);
			options.policies = !args->no_policies;
			const offload::Report r =
				args->object.empty()
					? offload::check_object("ovx:xdp_offload", offload_object(), options)
					: offload::check_file(args->object, options);
			if (json)
				std::cout << report_json(r).dump(2) << '\n';
			else
				print_report(std::cout, r);
			return r.clean() ? kExitOk : kExitInvalid;
		}
		if (attach->parsed()) {
			const Config config = load_config(args->file);
			enter(g.netns);
			const WriterLock writer = WriterLock::take(instance(), "ovx offload attach", g.wait);
			const OffloadAttachResult r = offload_attach(config, args->max_entries, args->relay);
			if (json)
				std::cout << attach_json(r).dump(2) << '\n';
			else
				std::cout << "offload program " << r.program.name << " (id " << r.program.id
					  << ") offloaded to " << r.interface << ", maps of "
					  << r.max_entries << " entries: " << r.vni_entries << " VNI, "
					  << r.vtep_entries << " VTEP, " << r.relay_entries << " relay\n";
			return kExitOk;
		}
		if (stats->parsed()) {
			const std::string name = instance();
			enter(g.netns);
			const auto c = offload_counters(offload_dir(name));
			if (!c)
				throw ConfigError("instance '" + name +
						  "' has no offload program (apply with underlay.mode: offload)");
			if (json)
				std::cout << counters_json(*c).dump(2) << '\n';
			else
				print_counters(std::cout, name, *c);
			return kExitOk;
		}
		if (detach->parsed()) {
			enter(g.netns);
			const WriterLock writer = WriterLock::take(instance(), "ovx offload detach", g.wait);
			const bool detached = offload_detach(args->interface);
			if (json)
				std::cout << nlohmann::json{{"interface", args->interface},
							    {"detached", detached}}
						     .dump()
					  << '\n';
			else
				std::cout << args->interface << ": "
					  << (detached ? "offload program detached"
						       : "no offload program attached")
					  << '\n';
			return kExitOk;
		}
		return std::nullopt;
	};
}

} // namespace ovx::cli
