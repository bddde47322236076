// ovx: the command-line face of the dataplane. Thin: parses the command
// line, enters the namespace, calls agent/, renders the result.
#include <CLI/CLI.hpp>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdlib>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <regex>

#include "agent/apply.h"
#include "agent/config.h"
#include "agent/inspect.h"
#include "cli/output.h"
#include "cli/verbs_offload.h"
#include "loader/dataplane.h"
#include "loader/netns.h"
#include "maps/error.h"

namespace {

struct Globals {
	std::string netns;
	std::string instance;
	bool json = false;
};

std::string instance_name(const Globals &g)
{
	std::string name = !g.instance.empty() ? g.instance : !g.netns.empty() ? g.netns : "default";
	static const std::regex valid("[A-Za-z0-9_.-]{1,64}");
	if (!std::regex_match(name, valid) || name == "." || name == "..")
		throw ovx::ConfigError("--instance: invalid name '" + name +
				       "' (1-64 of A-Z a-z 0-9 _ . -)");
	return name;
}

ovx::Dataplane open_existing(const std::string &instance)
{
	auto dp = ovx::Dataplane::open(instance);
	if (!dp)
		throw ovx::ConfigError("instance '" + instance +
				       "' is not running (nothing pinned under " +
				       ovx::Dataplane::instance_dir(instance) + "); run 'ovx apply' first");
	return std::move(*dp);
}

int fail(const Globals &g, int status, const std::string &message)
{
	if (g.json)
		std::cerr << nlohmann::json{{"error", message}, {"status", status}}.dump() << '\n';
	else
		std::cerr << "ovx: " << message << '\n';
	return status;
}

} // namespace

// libbpf's own chatter (kernel extack notes, probe results) is noise next
// to ovx's messages, which say what failed and where; OVX_DEBUG=1 shows it.
int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	static const bool debug = std::getenv("OVX_DEBUG") != nullptr;
	(void)level;
	return debug ? std::vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(libbpf_log);
	Globals g;
	CLI::App app{"ovx: multi-tenant overlay (VXLAN) dataplane on XDP and TC"};
	app.set_version_flag("--version", std::string("ovx 0.1.0, map ABI v") +
						  std::to_string(OVX_ABI_VERSION));
	app.require_subcommand(1);
	app.add_option("--netns", g.netns, "Network namespace to act in, like ip -n");
	app.add_option("--instance", g.instance,
		       "Instance name: pins under /sys/fs/bpf/ovx/NAME (default: the netns, or "
		       "'default')");

	std::string file;
	auto *apply = app.add_subcommand("apply", "Make the dataplane match a desired-state file");
	apply->add_option("-f,--file", file, "YAML desired state")->required();
	apply->add_flag("--json", g.json, "Report as JSON");
	apply->footer("Example: ovx --netns host1 apply -f host1.yaml");

	auto *show = app.add_subcommand("show", "Show what is applied: underlay, segments, FDB");
	show->add_flag("--json", g.json, "JSON output");
	show->footer("Example: ovx --netns host1 show --json");

	std::string segment;
	auto *stats = app.add_subcommand("stats", "Per-segment counters and drops by reason");
	stats->add_flag("--json", g.json, "JSON output");
	stats->add_option("--segment", segment, "Only this segment");
	stats->footer("Example: ovx --netns host1 stats --segment blue-web");

	auto *downcmd = app.add_subcommand("down", "Detach everything and remove the pins");
	downcmd->footer("Example: ovx --netns host1 down");

	const auto run_offload = ovx::cli::add_offload_verbs(app, g.json, g.netns,
							       [&] { return instance_name(g); });

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? ovx::kExitOk : ovx::kExitInvalid;
	}

	try {
		if (const auto status = run_offload())
			return *status;
		const std::string instance = instance_name(g);
		// The file is read before entering the namespace: a relative path
		// means the caller's working directory, and bad input fails first.
		std::optional<ovx::Config> config;
		if (apply->parsed())
			config = ovx::load_config(file);
		// Everything past parsing needs BPF and netlink: say so plainly
		// rather than let the first syscall fail with EPERM somewhere.
		if (geteuid() != 0)
			throw ovx::SystemError("ovx needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
		if (!g.netns.empty())
			ovx::enter_netns(g.netns);

		if (apply->parsed()) {
			const auto result = ovx::apply(*config, instance);
			if (g.json)
				std::cout << ovx::apply_json(result).dump() << '\n';
			else
				ovx::print_apply(std::cout, file, result);
		} else if (show->parsed()) {
			const auto state = ovx::inspect(open_existing(instance), true);
			if (g.json)
				std::cout << ovx::show_json(state).dump(2) << '\n';
			else
				ovx::print_show(std::cout, state);
		} else if (stats->parsed()) {
			auto state = ovx::inspect(open_existing(instance), false);
			if (!segment.empty()) {
				std::erase_if(state.segments,
					      [&](const auto &s) { return s.name != segment; });
				if (state.segments.empty())
					throw ovx::ConfigError("--segment: no segment '" + segment + "'");
			}
			if (g.json)
				std::cout << ovx::stats_json(state).dump(2) << '\n';
			else
				ovx::print_stats(std::cout, state);
		} else if (downcmd->parsed()) {
			if (!ovx::down(instance))
				std::cout << "instance " << instance << ": nothing to take down\n";
			else
				std::cout << "instance " << instance << ": down\n";
		}
	} catch (const ovx::ConfigError &e) {
		return fail(g, ovx::kExitInvalid, e.what());
	} catch (const ovx::SystemError &e) {
		return fail(g, ovx::kExitSystem, e.what());
	} catch (const std::exception &e) {
		return fail(g, ovx::kExitSystem, e.what());
	}
	return ovx::kExitOk;
}
