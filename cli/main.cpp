// ovx: the command-line face of the dataplane. Thin: the verb groups
// register themselves (cli/verbs_*.cpp); this parses, enters the namespace,
// runs the chosen verb, and turns errors into exit statuses.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <iostream>
#include <optional>
#include <regex>
#include <unistd.h>

#include "cli/cli.h"
#include "agent/daemon.h"
#include "agent/log.h"
#include "cli/docs.h"
#include "agent/writer_lock.h"
#include "cli/verbs_cluster.h"
#include "cli/verbs_offload.h"
#include "loader/netns.h"
#include "loader/permissions.h"
#include "maps/error.h"

namespace {

using ovx::cli::Globals;

std::string instance_name(const Globals &g)
{
	std::string name = !g.instance.empty() ? g.instance : !g.netns.empty() ? g.netns : "default";
	static const std::regex valid("[A-Za-z0-9_.-]{1,64}");
	if (!std::regex_match(name, valid) || name == "." || name == "..")
		throw ovx::ConfigError("--instance: invalid name '" + name +
				       "' (1-64 of A-Z a-z 0-9 _ . -)");
	return name;
}

// "ovx fdb add", for messages about who holds the writer lock.
std::string verb_name(const CLI::App &sub)
{
	std::string name = sub.get_name();
	for (const CLI::App *p = sub.get_parent(); p && p->get_parent(); p = p->get_parent())
		name = p->get_name() + " " + name;
	return "ovx " + name;
}

// With --json, one object on stderr: the message as text would print it,
// the exit status, and for bad input in a file where it is, as fields.
int fail(bool json, int status, const std::string &message,
	 const std::optional<ovx::Location> &at = std::nullopt)
{
	if (!json) {
		std::cerr << "ovx: " << message << '\n';
		return status;
	}
	nlohmann::json j = {{"error", message}, {"status", status}};
	if (at) {
		j["file"] = at->file;
		j["line"] = at->line;
		j["column"] = at->column;
		if (!at->key.empty())
			j["key"] = at->key;
	}
	std::cerr << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
	return status;
}

} // namespace

int main(int argc, char **argv)
{
	Globals g;
	// Known before parsing, so that even a usage error comes out as JSON.
	for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; i++)
		g.json = g.json || std::strcmp(argv[i], "--json") == 0;

	CLI::App app{"ovx: multi-tenant overlay (VXLAN) dataplane on XDP and TC"};
	app.set_version_flag("--version", ovx::cli::version_line());
	app.require_subcommand(1);
	// Inherited by the verbs made below: an option they do not know goes up
	// to ovx's own, so the global options work after the verb too
	// (`ovx show --json`, `ovx agent -f F --log-level debug`).
	app.fallthrough();
	app.add_flag("--json", g.json,
		     "JSON output for every verb: one object, or one per line for streams; errors as "
		     "one object on stderr");
	app.add_option("--log-level", g.log.level,
		       "trace, debug, info (default; trace when OVX_DEBUG is set), warn, error, off")
		->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
	auto *log_format = app.add_option(
		"--log-format", g.log.format,
		"text (default) or json: one object per line (time, level, message, instance); "
		"json with --json")
		->check(CLI::IsMember({"text", "json"}));
	app.add_option("--netns", g.netns, "Network namespace to act in, like ip -n");
	app.add_option("--instance", g.instance,
		       "Instance name: pins under /sys/fs/bpf/ovx/NAME (default: the netns, or "
		       "'default')");
	app.add_flag("--wait", g.wait,
		     "When another ovx changes the instance, wait for it instead of exiting 2");
	app.footer("Exit status: 0 success, 1 usage or validation error (nothing changed), "
		   "2 the system refused, 3 apply --dry-run: something would change.\nEvery verb has --help with an example.");

	ovx::cli::Commands commands;
	ovx::cli::add_apply_verbs(app, commands);
	ovx::cli::add_observe_verbs(app, commands);
	ovx::cli::add_segment_verbs(app, commands);
	ovx::cli::add_port_verbs(app, commands);
	ovx::cli::add_fdb_verbs(app, commands);
	ovx::cli::add_flood_verbs(app, commands);
	ovx::cli::add_agent_verbs(app, commands);
	ovx::cli::add_monitor_verbs(app, commands);

	const auto run_offload = ovx::cli::add_offload_verbs(app, g, [&] { return instance_name(g); });
	const auto run_cluster = ovx::cli::add_cluster_verbs(app, g.json);
	ovx::cli::add_cluster_status_verb(app, commands);
	const auto run_docs = ovx::cli::add_docs_verbs(app, g.json);
	const auto run_validate = ovx::cli::add_validate_verb(app, g);

	try {
		app.parse(argc, argv);
	} catch (const CLI::CallForHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForAllHelp &e) {
		return app.exit(e);
	} catch (const CLI::CallForVersion &e) {
		return app.exit(e);
	} catch (const CLI::ParseError &e) {
		if (g.json)
			return fail(true, ovx::kExitInvalid, e.what());
		app.exit(e);
		return ovx::kExitInvalid;
	}

	try {
		if (g.json && !log_format->count())
			g.log.format = "json";
		ovx::configure_logging(g.log);
		if (const auto status = run_docs())
			return *status;
		if (const auto status = run_validate())
			return *status;
		if (const auto status = run_offload())
			return *status;
		if (const auto status = run_cluster())
			return *status;
		const std::string instance = instance_name(g);
		const ovx::cli::Command *cmd = nullptr;
		for (const auto &c : commands)
			if (c.sub->parsed())
				cmd = &c;
		if (!cmd)
			throw ovx::ConfigError("missing a verb; see ovx --help");
		if (cmd->prepare)
			cmd->prepare();
		// A verb that changes the dataplane says what it lacks plainly
		// rather than let the first syscall fail with EPERM somewhere; one
		// that reads is up to the pins' permissions.
		if (cmd->privilege != ovx::cli::Privilege::group)
			ovx::require_write_capabilities(verb_name(*cmd->sub));
		if (!g.netns.empty())
			ovx::enter_netns(g.netns);
		std::optional<ovx::WriterLock> writer;
		if (cmd->access == ovx::cli::Access::edits)
			ovx::refuse_if_agent(instance, verb_name(*cmd->sub));
		if (cmd->access != ovx::cli::Access::reads)
			writer.emplace(ovx::WriterLock::take(instance, verb_name(*cmd->sub), g.wait));
		cmd->run(g, instance);
	} catch (const ovx::ConfigError &e) {
		return fail(g.json, ovx::kExitInvalid, e.what(), e.location());
	} catch (const ovx::SystemError &e) {
		return fail(g.json, ovx::kExitSystem, e.what());
	} catch (const ovx::cli::ExitStatus &e) {
		return e.status;
	} catch (const std::exception &e) {
		return fail(g.json, ovx::kExitSystem, e.what());
	}
	return ovx::kExitOk;
}
