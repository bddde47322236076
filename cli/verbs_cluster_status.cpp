// `ovx cluster status`: this host's cluster agent and its etcd members. A
// verb of the instance (--netns, --instance), unlike the other cluster
// verbs, which speak to etcd only.
#include <iostream>

#include "cli/cli.h"
#include "cluster/status.h"

namespace ovx::cli {

void add_cluster_status_verb(CLI::App &app, Globals &g, Commands &out)
{
	CLI::App *group = app.get_subcommand("cluster");
	auto *st = group->add_subcommand(
		"status", "This host's cluster agent: etcd health, lease, revision and lag, nodes, "
			  "duplicate MACs");
	json_flag(st, g);
	st->footer("Example: ovx --netns host1 cluster status --json");
	out.push_back({st, nullptr, [](const Globals &g, const std::string &instance) {
			       const cluster::ClusterStatus s = cluster::cluster_status(instance);
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
			       if (g.json) {
				       std::cout << nlohmann::json{{"instance", instance},
								   {"agent_running", s.agent_running},
								   {"node", a.value("node", "")},
								   {"etcd", etcd},
								   {"lease", a.value("lease", 0ll)},
								   {"lease_ttl_left", s.lease_ttl_left},
								   {"revision", a.value("revision", 0ll)},
								   {"head", s.head},
								   {"lag_revisions", s.lag},
								   {"agent", a}}
							    .dump(2)
						 << '\n';
				       return;
			       }
			       std::cout << "node " << a.value("node", "") << " (instance " << instance
					 << "): agent " << (s.agent_running ? "running" : "NOT RUNNING")
					 << ", pid " << a.value("pid", 0) << '\n';
			       for (const auto &e : s.etcd)
				       std::cout << "  etcd " << e.endpoint << ": "
						 << (e.healthy ? "healthy" : "UNHEALTHY: " + e.error)
						 << (e.healthy && e.leader == e.member_id ? " (leader)" : "")
						 << (e.healthy ? ", revision " + std::to_string(e.revision) : "")
						 << '\n';
			       std::cout << "  lease " << std::hex << a.value("lease", 0ll) << std::dec
					 << ": " << s.lease_ttl_left << " s left of "
					 << a.value("lease_ttl", 0) << '\n'
					 << "  revision applied " << a.value("revision", 0ll) << ", etcd at "
					 << s.head << ": " << s.lag << " behind\n"
					 << "  events " << a.value("events", 0) << ", resyncs "
					 << a.value("resyncs", 0) << ", etcd errors "
					 << a.value("etcd_errors", 0) << ", failovers "
					 << a.value("failovers", 0) << '\n';
			       std::cout << "  nodes:";
			       for (const auto &n : a.value("nodes", nlohmann::json::array()))
				       std::cout << ' ' << n.value("name", "") << '('
						 << n.value("bindings", 0) << ')';
			       std::cout << '\n';
			       for (const auto &d : a.value("duplicate_macs", nlohmann::json::array()))
				       std::cout << "  DUPLICATE " << d.value("segment", "") << ' '
						 << d.value("mac", "") << " on " << d["nodes"].dump()
						 << (d.value("frozen", false) ? " (frozen)" : "") << '\n';
			       if (!a.value("last_error", "").empty())
				       std::cout << "  last error: " << a.value("last_error", "") << '\n';
		       }});
}

} // namespace ovx::cli
