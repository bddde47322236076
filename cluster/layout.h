// The cluster's keys in etcd and the records they hold (docs/ARCHITECTURE.md,
// "Cluster"):
//
//   /ovx/v1/segments/<segment>                     a segment, as in the file
//   /ovx/v1/nodes/<node>/vtep                      the node's VTEP addresses
//   /ovx/v1/nodes/<node>/bindings/<segment>/<mac>  a port bound on the node
//
// Values are JSON. Everything read back is validated as fully as the file is
// (by the file's own reader): a record that fails throws BadRecord naming
// the key, and the caller ignores it, logs it and counts it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/config.h"

namespace ovx::cluster {

inline constexpr std::string_view kRoot = "/ovx/v1/";

std::string segments_prefix();
std::string segment_key(const std::string &segment);
std::string nodes_prefix();
std::string node_prefix(const std::string &node);
std::string vtep_key(const std::string &node);
std::string binding_key(const std::string &node, const std::string &segment, const Mac &mac);

// A value in etcd that is not what the layout says. what() names the key.
class BadRecord : public std::runtime_error {
public:
	BadRecord(const std::string &key, const std::string &reason);
	const std::string &key() const { return key_; }
	const std::string &reason() const { return reason_; }

private:
	std::string key_;
	std::string reason_;
};

// A node's VTEP: at most one address per family, at least one.
struct VtepRecord {
	std::string node;
	IpAddr address4;
	IpAddr address6;

	const IpAddr &address(int family) const { return family == AF_INET6 ? address6 : address4; }
	bool operator==(const VtepRecord &) const = default;
};

// A MAC bound to a port on a node. seq is RFC 7432's MAC mobility sequence
// number: each move takes the highest number seen for the MAC plus one.
struct Binding {
	std::string node;
	std::string segment;
	Mac mac{};
	std::uint32_t seq = 0;
	std::string port;         // the node's interface, for people
	std::vector<IpAddr> ips;  // the VM's addresses on it, if known

	bool operator==(const Binding &) const = default;
};

// Which record a key names. Deletes carry no value: the key says what went.
struct KeyRef {
	enum class Kind { segment, vtep, binding };
	Kind kind = Kind::segment;
	std::string node;    // vtep, binding
	std::string segment; // segment, binding
	Mac mac{};           // binding
};

// Throws BadRecord for a key outside the layout.
KeyRef parse_key(const std::string &key);

// A segment value carries no ports, flood list or remotes: the nodes'
// bindings say those.
using Record = std::variant<Segment, VtepRecord, Binding>;
Record parse_record(const std::string &key, const std::string &value);

// The file reader (agent/config) on @text, a document of the file's shape
// without its underlay: a placeholder underlay is appended, so that the
// reader checks segments exactly as it does in a host's file.
Config parse_without_underlay(const std::string &text, const std::string &path);

std::string encode(const Segment &segment);
std::string encode(const VtepRecord &vtep);
std::string encode(const Binding &binding);

} // namespace ovx::cluster
