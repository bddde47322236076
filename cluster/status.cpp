#include "cluster/status.h"

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
	for (const EndpointStatus &e : st.etcd)
		st.head = std::max(st.head, e.revision);
	if (const std::int64_t lease = st.agent.value("lease", std::int64_t{0})) {
		try {
			st.lease_ttl_left = client.time_to_live(lease);
		} catch (const EtcdError &) {
			st.lease_ttl_left = -1;
		}
	}
	st.lag = std::max<std::int64_t>(0, st.head - st.agent.value("revision", std::int64_t{0}));
	return st;
}

} // namespace ovx::cluster
