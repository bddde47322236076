#include "cluster/status.h"

#include <spdlog/fmt/fmt.h>

#include <ctime>
#include <fstream>

#include "agent/daemon.h"
#include "cluster/agent.h"
#include "cluster/agent_config.h"
#include "maps/error.h"

namespace ovx::cluster {

ClusterStatus cluster_status(const std::string &instance)
{
	ClusterStatus st;
	const std::string path = cluster_state_path(instance);
	std::ifstream in(path);
	if (!in)
		throw ConfigError("instance '" + instance + "' has no cluster agent (no " + path +
				  "); start one with 'ovx agent --cluster FILE'");
	try {
		st.agent = nlohmann::json::parse(in);
	} catch (const nlohmann::json::exception &e) {
		throw SystemError(path + ": unreadable: " + e.what());
	}
	st.agent_running = agent_running(instance);
	// The agent's own file says how to reach etcd (TLS, user) from here.
	ClientOptions options;
	try {
		options = load_agent_config(st.agent.value("file", "")).etcd;
	} catch (const ConfigError &) {
		for (const auto &e : st.agent.value("endpoints", std::vector<std::string>{}))
			options.endpoints.push_back(e);
	}
	options.timeout = std::chrono::milliseconds(2000);
	Client client(options);
	st.etcd = client.status();
	std::size_t down = 0;
	for (const EndpointStatus &e : st.etcd) {
		st.head = std::max(st.head, e.revision);
		st.etcd_reachable = st.etcd_reachable || e.healthy;
		down += !e.healthy;
	}
	const std::int64_t lease = st.agent.value("lease", std::int64_t{0});
	// Out of reach, etcd cannot say either: not asked, not waited for.
	if (lease && st.etcd_reachable) {
		try {
			st.lease_ttl_left = client.time_to_live(lease);
		} catch (const EtcdError &) {
			st.lease_ttl_left = -1;
		}
	}
	st.lag = std::max<std::int64_t>(0, st.head - st.agent.value("revision", std::int64_t{0}));

	const auto since = [&](const char *field) {
		const auto t = st.agent.value(field, std::int64_t{0});
		return t ? " for " + std::to_string(std::max<std::int64_t>(0, std::time(nullptr) - t)) +
				   " s"
			 : std::string();
	};
	if (!st.agent_running)
		st.problems.push_back("the agent is not running: the maps no longer follow the cluster");
	if (!st.etcd_reachable)
		st.problems.push_back("etcd: no member of " + std::to_string(st.etcd.size()) +
				      " reachable (the maps keep their last state)");
	else if (down)
		st.warnings.push_back("etcd: " + std::to_string(down) + " of " +
				      std::to_string(st.etcd.size()) + " members unhealthy");
	if (st.etcd_reachable && lease && st.lease_ttl_left <= 0)
		st.problems.push_back(fmt::format("lease {:x} is gone: peers dropped this node's "
						  "VTEP and MACs",
						  lease));
	if (st.agent_running && !st.agent.value("etcd_connected", false))
		st.problems.push_back("the agent's watch has no etcd member" +
				      since("etcd_connected_changed"));
	st.ignored_keys = st.agent.value("bad_keys", nlohmann::json::object()).size() +
			  st.agent.value("orphan_bindings", nlohmann::json::array()).size();
	if (st.ignored_keys)
		st.warnings.push_back(std::to_string(st.ignored_keys) +
				      " key(s) in etcd ignored (bad_keys, orphan_bindings)");
	return st;
}

} // namespace ovx::cluster
