// `ovx agent --cluster FILE`: one host of a cluster. The agent publishes
// this node's VTEP and its local ports' bindings under an etcd lease,
// watches everyone else's, and keeps its dataplane equal to what the
// cluster says this node needs (remote MACs, flood lists of member VTEPs),
// through the same all-or-nothing apply as file mode. See
// docs/ARCHITECTURE.md, "Cluster".
#pragma once

#include <string>

namespace ovx::cluster {

struct ClusterAgentOptions {
	std::string file;
	std::string instance;
	double interval_sec = 10;	// drift repair and duplicate timers
};

// Runs until SIGTERM or SIGINT; the dataplane and the lease stay (a restart
// within the lease's TTL takes the lease over, and no peer sees a change).
// Returns the exit status: 1 bad file, 2 another agent owns the instance.
int run_cluster_agent(const ClusterAgentOptions &options);

} // namespace ovx::cluster
