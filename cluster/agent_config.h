// A host's file in cluster mode (`ovx agent --cluster FILE`): how to reach
// etcd and who this node is, its underlay and limits (as in a host's file,
// read by the same reader), and its local ports, each naming the cluster
// segment it joins. Segments themselves are the cluster's (cluster.yaml).
//
//   cluster:
//     endpoints: [10.0.0.1:2379, 10.0.0.2:2379]
//     node: host1
//     lease_ttl: 10                 # seconds
//     tls: {ca: ca.pem, cert: host1.pem, key: host1-key.pem}
//     user: host1                   # etcd RBAC, with password_file
//     password_file: /etc/ovx/etcd-password
//     mobility: {duplicate_grace_ms: 5000, freeze_moves: 5, freeze_window: 180, forward_ms: 2000}
//   underlay: {interface: eth1, address: 192.168.77.1}
//   ports:
//     - {interface: vm1, segment: blue-web, mac: "02:00:00:00:01:01", ips: [10.0.0.1]}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/config.h"
#include "cluster/etcd_client.h"
#include "cluster/view.h"

namespace ovx::cluster {

struct LocalPort {
	std::string interface;
	std::string segment;
	Mac mac{};
	std::vector<IpAddr> ips;
	Origin origin;
};

struct AgentConfig {
	std::string path;
	ClientOptions etcd;
	std::string node;
	std::int64_t lease_ttl = 10;
	ViewOptions mobility; // duplicate grace, freeze rule, forwarding pointers
	Config host; // underlay and limits; no segments
	std::vector<LocalPort> ports;
};

// Throws ConfigError "FILE:LINE:COLUMN: key: what" (exit 1).
AgentConfig load_agent_config(const std::string &path);
AgentConfig parse_agent_config(const std::string &text, const std::string &path);

// The host's desired state: @cfg's underlay and limits, @segments (the
// cluster's, flood lists and remotes filled in for this node) with the
// local ports of each added. Ports of a segment the cluster does not
// define are left out and named in @unbound.
Config host_config(const AgentConfig &cfg, std::vector<Segment> segments,
		   std::vector<std::string> *unbound = nullptr);

} // namespace ovx::cluster
