// `ovx cluster status`: this host's cluster agent and its etcd members. A
// verb of the instance (--netns, --instance), unlike the other cluster
// verbs, which speak to etcd only. Exit 2 when the host does not follow the
// cluster now (agent down, etcd out of reach, lease gone): what is wrong is
// printed first, then the details.
#include <iostream>

#include "cli/cli.h"
#include "cluster/status.h"
#include "maps/error.h"

namespace ovx::cli {
namespace {

void print_status(const cluster::ClusterStatus &s, const std::string &instance)
{
	const nlohmann::json &a = s.agent;
	std::cout << "node " << a.value("node", "") << " (instance " << instance
		  << "): " << (s.healthy() ? "following the cluster" : "NOT FOLLOWING THE CLUSTER")
		  << "; agent " << (s.agent_running ? "running" : "NOT RUNNING") << ", pid "
		  << a.value("pid", 0) << '\n';
	for (const auto &p : s.problems)
		std::cout << "  PROBLEM: " << p << '\n';
	for (const auto &w : s.warnings)
		std::cout << "  warning: " << w << '\n';
	if (!s.etcd_reachable)
		std::cout << "  etcd: UNREACHABLE\n";
	for (const auto &e : s.etcd)
		std::cout << "  etcd " << e.endpoint << ": "
			  << (e.healthy ? "healthy" : "UNHEALTHY: " + e.error)
			  << (e.healthy && e.leader == e.member_id ? " (leader)" : "")
			  << (e.healthy ? ", revision " + std::to_string(e.revision) : "") << '\n';
	std::cout << "  watch " << (a.value("etcd_connected", false) ? "connected" : "NOT CONNECTED")
		  << ", lease " << std::hex << a.value("lease", 0ll) << std::dec << ": "
		  << (s.lease_ttl_left >= 0 ? std::to_string(s.lease_ttl_left) + " s" : "?")
		  << " left of " << a.value("lease_ttl", 0) << '\n'
		  << "  revision applied " << a.value("revision", 0ll) << ", etcd at "
		  << (s.etcd_reachable ? std::to_string(s.head) + ": " + std::to_string(s.lag) + " behind"
				       : std::string("?"))
		  << '\n'
		  << "  events " << a.value("events", 0) << ", resyncs " << a.value("resyncs", 0)
		  << ", etcd errors " << a.value("etcd_errors", 0) << ", failovers "
		  << a.value("failovers", 0) << ", ignored keys " << s.ignored_keys << '\n';
	std::cout << "  nodes:";
	for (const auto &n : a.value("nodes", nlohmann::json::array()))
		std::cout << ' ' << n.value("name", "") << '(' << n.value("bindings", 0) << ')';
	std::cout << '\n';
	for (const auto &d : a.value("duplicate_macs", nlohmann::json::array()))
		std::cout << "  DUPLICATE " << d.value("segment", "") << ' ' << d.value("mac", "")
			  << " on " << d["nodes"].dump() << (d.value("frozen", false) ? " (frozen)" : "")
			  << '\n';
	for (const auto &[key, reason] : a.value("bad_keys", nlohmann::json::object()).items())
		std::cout << "  ignored " << key << ": " << reason.get<std::string>() << '\n';
	for (const auto &key : a.value("orphan_bindings", nlohmann::json::array()))
		std::cout << "  ignored " << key.get<std::string>()
			  << ": binding for a segment the cluster does not define\n";
	if (!a.value("last_error", "").empty())
		std::cout << "  last error: " << a.value("last_error", "") << '\n';
}

} // namespace

void add_cluster_status_verb(CLI::App &app, Commands &out)
{
	CLI::App *group = app.get_subcommand("cluster");
	auto *st = group->add_subcommand(
		"status", "This host's cluster agent: etcd health, lease, revision and lag, nodes, "
			  "duplicate MACs, ignored keys; exit 2 when it does not follow the cluster");
	st->footer("Example: ovx --netns host1 cluster status --json");
	out.push_back({st, nullptr, [](const Globals &g, const std::string &instance) {
			       const cluster::ClusterStatus s = cluster::cluster_status(instance);
			       if (g.json) {
				       nlohmann::json etcd = nlohmann::json::array();
				       for (const auto &e : s.etcd)
					       etcd.push_back({{"endpoint", e.endpoint},
							       {"healthy", e.healthy},
							       {"error", e.error},
							       {"leader", e.leader == e.member_id && e.healthy},
							       {"revision", e.revision},
							       {"db_size", e.db_size},
							       {"version", e.version}});
				       const nlohmann::json &a = s.agent;
				       std::cout << nlohmann::json{{"instance", instance},
								   {"agent_running", s.agent_running},
								   {"node", a.value("node", "")},
								   {"healthy", s.healthy()},
								   {"problems", s.problems},
								   {"warnings", s.warnings},
								   {"etcd_reachable", s.etcd_reachable},
								   {"etcd", etcd},
								   {"lease", a.value("lease", 0ll)},
								   {"lease_ttl_left", s.lease_ttl_left},
								   {"revision", a.value("revision", 0ll)},
								   {"head", s.head},
								   {"lag_revisions", s.lag},
								   {"ignored_keys", s.ignored_keys},
								   {"agent", a}}
							    .dump(2)
						 << '\n';
			       } else {
				       print_status(s, instance);
			       }
			       if (!s.healthy())
				       throw ExitStatus{kExitSystem};
		       }});
}

} // namespace ovx::cli
