// agent, status, upgrade: running ovx as a service.
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agent/config.h"
#include "agent/daemon.h"
#include "agent/migrate.h"
#include "agent/status.h"
#include "agent/metrics.h"
#include "cli/cli.h"
#include "cluster/agent.h"
#include "cluster/agent_config.h"
#include "maps/error.h"

namespace ovx::cli {
namespace {

nlohmann::json agent_json(const std::optional<AgentState> &a)
{
	if (!a)
		return nullptr;
	return {{"running", a->running},	 {"pid", a->pid},
		{"file", a->file},		 {"started", a->started},
		{"last_reconcile", a->last_reconcile}, {"reconciles", a->reconciles},
		{"applies", a->applies},	 {"repairs", a->repairs},
		{"reclaimed", a->reclaimed},	 {"last_error", a->last_error}};
}

nlohmann::json status_json(const StatusView &v)
{
	nlohmann::json j = {{"instance", v.instance},	  {"pin_dir", v.pin_dir},
			    {"pinned", v.pinned},	  {"abi_pinned", v.abi_pinned},
			    {"abi_binary", v.abi_binary}, {"healthy", v.healthy()},
			    {"agent", agent_json(v.agent)}};
	j["programs"] = nlohmann::json::array();
	for (const auto &p : v.programs)
		j["programs"].push_back({{"name", p.name}, {"id", p.id}});
	j["hooks"] = nlohmann::json::array();
	for (const auto &h : v.hooks)
		j["hooks"].push_back({{"hook", h.hook},
				      {"interface", h.interface},
				      {"program", h.program},
				      {"attached", h.attached},
				      {"mode", h.mode},
				      {"libxdp_dispatcher", h.shared}});
	j["maps"] = nlohmann::json::array();
	for (const auto &m : v.maps)
		j["maps"].push_back({{"name", m.name},
				     {"entries", m.entries ? nlohmann::json(*m.entries) : nullptr},
				     {"max_entries", m.max_entries}});
	return j;
}

void print_status(const StatusView &v)
{
	std::cout << "instance " << v.instance << ": ";
	if (!v.pinned)
		std::cout << "not running (nothing pinned under " << v.pin_dir << ")\n";
	else
		std::cout << (v.healthy() ? "healthy" : "DEGRADED") << ", map ABI v" << v.abi_pinned
			  << " (this ovx: v" << v.abi_binary << ")\n";
	for (const auto &p : v.programs)
		std::cout << "  program " << p.name << "  id " << p.id << '\n';
	for (const auto &h : v.hooks)
		std::cout << "  " << h.hook << " on " << h.interface << ": " << h.program << ' '
			  << (h.attached ? "attached" : "NOT ATTACHED")
			  << (h.mode.empty() ? ""
					      : " (" + h.mode +
							(h.shared ? ", in libxdp's dispatcher)" : ", alone)"))
			  << '\n';
	for (const auto &m : v.maps)
		std::cout << "  map " << m.name << ": "
			  << (m.entries ? std::to_string(*m.entries) : std::string("?")) << " / "
			  << m.max_entries << '\n';
	if (!v.agent) {
		std::cout << "  agent: none has run\n";
		return;
	}
	const AgentState &a = *v.agent;
	std::cout << "  agent: " << (a.running ? "running, pid " + std::to_string(a.pid) : "not running")
		  << ", file " << a.file << "\n    " << a.reconciles << " reconciles, " << a.applies
		  << " applies, " << a.repairs << " repairs, " << a.reclaimed
		  << " learned entries reclaimed, last reconcile "
		  << (a.last_reconcile ? std::to_string(std::time(nullptr) - static_cast<std::time_t>(a.last_reconcile)) + "s ago" : "never")
		  << '\n';
	if (!a.last_error.empty())
		std::cout << "    last error: " << a.last_error << '\n';
}

} // namespace

void add_agent_verbs(CLI::App &app, Commands &out)
{
	auto o = std::make_shared<AgentOptions>();
	auto *agent = app.add_subcommand(
		"agent", "Keep the dataplane equal to a file, in the foreground (for systemd)");
	auto cluster = std::make_shared<std::string>();
	auto *file_opt = agent->add_option("-f,--file", o->file,
					   "YAML desired state; re-applied when it changes and on SIGHUP");
	auto *cluster_opt = agent->add_option(
		"--cluster", *cluster,
		"Cluster mode: this host's file (etcd endpoints, node name, underlay, ports); "
		"segments, remote MACs and flood lists come from etcd");
	file_opt->excludes(cluster_opt);
	agent->callback([file_opt, cluster_opt] {
		if (!file_opt->count() && !cluster_opt->count())
			throw CLI::RequiredError("-f,--file or --cluster");
	});
	agent->add_option("--interval", o->interval_sec,
			  "Seconds between reconciles: drift repair, learned-entry reclaim (default 10)");
	agent->add_option("--metrics", o->metrics_listen,
			  "Serve Prometheus metrics at /metrics on ADDR:PORT, or PORT on 127.0.0.1 "
			  "(e.g. 9587); 0.0.0.0 or [::] expose them to every network, without "
			  "authentication (a warning says so)");
	agent->add_option("--fdb-interval", o->fdb_interval_sec,
			  "Seconds between the exporter's FDB counts (a full read of the table)")
		->check(CLI::Range(0.0, 86400.0));
	agent->add_flag("--upgrade", o->upgrade,
			"At start, swap this binary's programs in for the pinned ones (maps kept)");
	agent->footer(
		"Example: ovx --netns host1 agent -f /etc/ovx/host1.yaml --interval 5\n"
		"While it runs, the file is the desired state: imperative verbs and 'ovx apply' are\n"
		"refused for its instance. SIGTERM stops the agent and leaves the dataplane running;\n"
		"'ovx down' removes it. Its log: --log-level, --log-format json (one object per line).");
	out.push_back({agent,
		       [o, cluster] {
			       // Bad input fails before the root check, like apply.
			       if (!cluster->empty()) {
				       cluster::load_agent_config(*cluster);
				       if (!o->metrics_listen.empty() || o->upgrade)
					       throw ConfigError("--cluster: --metrics and --upgrade are "
								 "file mode's (use metrics serve, upgrade)");
				       return;
			       }
			       o->config = load_config(o->file);
			       if (!o->metrics_listen.empty())
				       parse_listen(o->metrics_listen);
		       },
		       [o, cluster](const Globals &, const std::string &instance) {
			       if (!cluster->empty()) {
				       const cluster::ClusterAgentOptions co{*cluster, instance,
									      o->interval_sec};
				       if (int rc = cluster::run_cluster_agent(co))
					       throw ExitStatus{rc};
				       return;
			       }
			       AgentOptions opts = *o;
			       opts.instance = instance;
			       if (int rc = run_agent(opts))
				       throw ExitStatus{rc};
		       }});

	auto *st = app.add_subcommand(
		"status", "Programs, hooks and attach modes, map fill levels, ABI version, agent state");
	st->footer("Example: ovx --netns host1 status --json\n"
		   "Exit status 0 whatever the health; see \"healthy\" in the output.");
	out.push_back({st, nullptr, [](const Globals &g, const std::string &instance) {
			       const StatusView v = status(instance);
			       if (g.json)
				       std::cout << status_json(v).dump(2) << '\n';
			       else
				       print_status(v);
		       }});
	out.back().privilege = Privilege::group;

	auto migrate = std::make_shared<bool>(false);
	auto *up = app.add_subcommand(
		"upgrade", "Replace the running programs by this binary's; maps keep their contents");
	up->add_flag("--migrate", *migrate,
		     "Carry maps pinned with an older ABI layout (v1) over to this one");
	up->footer("Example: ovx --netns host1 upgrade            # same ABI: programs only\n"
		   "         ovx --netns host1 upgrade --migrate  # pins of ABI v1\n"
		   "Each hook switches atomically (XDP link update, TC filter replace): no packet is "
		   "lost.");
	out.push_back({up, nullptr, [migrate](const Globals &g, const std::string &instance) {
			       const auto swap = upgrade_instance(instance, *migrate);
			       if (!swap)
				       throw ConfigError("instance '" + instance +
							 "' is not running (nothing pinned under " +
							 Dataplane::instance_dir(instance) + ")");
			       if (g.json)
				       std::cout << nlohmann::json{{"xdp_old", swap->old_xdp_id},
								   {"xdp_new", swap->new_xdp_id},
								   {"tc_port_old", swap->old_tc_port_id},
								   {"tc_port_new", swap->new_tc_port_id},
								   {"xdp_replaced", swap->xdp_replaced},
								   {"tc_replaced", swap->tc_replaced}}
							    .dump()
						 << '\n';
			       else
				       std::cout << "instance " << instance << ": programs replaced (xdp id "
						 << swap->old_xdp_id << " -> " << swap->new_xdp_id
						 << ", tc_port id " << swap->old_tc_port_id << " -> "
						 << swap->new_tc_port_id << "), "
						 << (swap->xdp_replaced ? "XDP link switched, " : "")
						 << swap->tc_replaced << " TC filter(s) switched\n";
		       },
		       Access::writes});
}

} // namespace ovx::cli
