// `ovx cluster status`: how this host's cluster agent is doing (its state
// file) and how the etcd members it uses answer now.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cluster/etcd_client.h"

namespace ovx::cluster {

struct ClusterStatus {
	nlohmann::json agent;		    // the agent's own report (cluster.json)
	bool agent_running = false;	    // it holds the instance
	std::vector<EndpointStatus> etcd;   // each endpoint, asked on its own
	std::int64_t lease_ttl_left = -1;   // from etcd itself; -1: gone
	std::int64_t head = 0;		    // the highest revision a member reports
	std::int64_t lag = 0;		    // head - the agent's last applied revision
	bool etcd_reachable = false;	    // a member answered and has a leader
	// What keeps this host from following the cluster now (agent down,
	// etcd out of reach, lease gone, the agent's watch cut): not healthy.
	std::vector<std::string> problems;
	// Worth a look, but the host follows the cluster: members down,
	// keys in etcd the agent ignores.
	std::vector<std::string> warnings;
	std::size_t ignored_keys = 0; // bad values and bindings of undefined segments
	bool healthy() const { return problems.empty(); }
};

// ConfigError when no cluster agent ever ran for @instance.
ClusterStatus cluster_status(const std::string &instance);

} // namespace ovx::cluster
