// The cluster's segments: read from cluster.yaml (the file's own reader and
// validation, agent/config) and written to etcd all at once, or edited one
// at a time; and what the cluster looks like now, for the CLI.
#pragma once

#include <string>
#include <vector>

#include "agent/config.h"
#include "cluster/etcd_client.h"
#include "cluster/view.h"

namespace ovx::cluster {

// cluster.yaml holds `segments:` only, with the file's keys less ports,
// flood and remotes (the nodes publish those). Throws ConfigError
// "FILE:LINE:COLUMN: ..." (exit 1) on the first problem.
std::vector<Segment> load_cluster_file(const std::string &path);
std::vector<Segment> parse_cluster_file(const std::string &text, const std::string &path);

// A segment as etcd holds it (JSON, the file's keys), checked as a file's
// segment is; ConfigError "segment NAME: KEY: what is wrong".
Segment parse_segment(const std::string &name, const std::string &json);

struct SegmentsChange {
	std::vector<std::string> added, changed, removed, unchanged;
	std::int64_t revision = 0; // of the write; 0 when nothing changed
};

// Makes the cluster's segments exactly @segments in one transaction: all of
// it or, when someone else changed a segment meanwhile, none (EtcdError).
SegmentsChange apply_segments(Client &client, const std::vector<Segment> &segments);
// One segment more: refused (ConfigError) when its name or id is taken.
SegmentsChange add_segment(Client &client, const Segment &segment);
// ConfigError when there is no such segment.
SegmentsChange del_segment(Client &client, const std::string &name);

// The nodes with their VTEP's lease and the seconds it has left (-1: none).
struct NodeStatus {
	NodeInfo info;
	std::int64_t lease = 0;
	std::int64_t ttl = -1;
};
std::vector<NodeStatus> read_nodes(Client &client, const ClusterView &view);

// The whole cluster as a node named @local would see it now (no node: every
// MAC is remote).
ClusterView read_cluster(Client &client, const std::string &local = {});

} // namespace ovx::cluster
