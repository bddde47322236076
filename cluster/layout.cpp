// Keys <-> records. Segment and VTEP values are checked by the file's own
// reader (agent/config): each is placed, as JSON re-serialised by nlohmann
// (so nothing but that value can reach the reader), into a small document
// of the file's shape.
#include "cluster/layout.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "maps/error.h"

namespace ovx::cluster {
namespace {

using nlohmann::json;

// Names in keys follow the file's rule for names (agent/config), so that a
// key can name only what a file could.
bool valid_name(std::string_view s)
{
	if (s.empty() || s.size() >= OVX_NAME_LEN)
		return false;
	return std::all_of(s.begin(), s.end(), [](char c) {
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		       c == '_' || c == '.' || c == '-';
	});
}

std::vector<std::string_view> split(std::string_view s)
{
	std::vector<std::string_view> out;
	std::size_t start = 0;
	for (;;) {
		const std::size_t slash = s.find('/', start);
		out.push_back(s.substr(start, slash - start));
		if (slash == std::string_view::npos)
			return out;
		start = slash + 1;
	}
}

json object_of(const std::string &key, const std::string &value,
	       std::initializer_list<std::string_view> allowed)
{
	json j = json::parse(value, nullptr, false);
	if (j.is_discarded() || !j.is_object())
		throw BadRecord(key, "value is not a JSON object");
	for (const auto &[k, v] : j.items())
		if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
			throw BadRecord(key, "unknown field '" + k + "'");
	return j;
}

// The reader's message starts "FILE:LINE:COLUMN: " with the key as the file:
// a one-line document points at nothing useful, so that goes.
std::string reader_reason(const std::string &key, const ConfigError &e)
{
	std::string what = e.what();
	if (what.rfind(key + ":", 0) == 0) {
		std::size_t at = key.size() + 1;
		for (int colons = 0; colons < 2 && at != std::string::npos; colons++)
			at = what.find(':', at) + 1;
		what = what.substr(std::min(at, what.size()));
		while (!what.empty() && what.front() == ' ')
			what.erase(0, 1);
	}
	// The value is the document's only segment.
	if (what.rfind("segments[0].", 0) == 0)
		what.erase(0, std::string_view("segments[0].").size());
	return what;
}

Segment read_segment(const std::string &key, const KeyRef &ref, const std::string &value)
{
	const json j = object_of(key, value,
				 {"name", "tenant", "encap", "id", "learning", "aging"});
	Config cfg;
	try {
		cfg = parse_without_underlay("segments: [" + j.dump() + "]\n", key);
	} catch (const ConfigError &e) {
		throw BadRecord(key, reader_reason(key, e));
	}
	Segment s = std::move(cfg.segments.at(0));
	if (s.name != ref.segment)
		throw BadRecord(key, "name '" + s.name + "' is not the key's '" + ref.segment + "'");
	s.origin = {};
	return s;
}

VtepRecord read_vtep(const std::string &key, const KeyRef &ref, const std::string &value)
{
	const json j = object_of(key, value, {"address"});
	if (!j.contains("address"))
		throw BadRecord(key, "required field 'address' is missing");
	Config cfg;
	try {
		cfg = parse_config("underlay: {interface: ovx-cluster, address: " + j["address"].dump() +
					   "}\n",
				   key);
	} catch (const ConfigError &e) {
		throw BadRecord(key, reader_reason(key, e));
	}
	return {ref.node, cfg.underlay.address4, cfg.underlay.address6};
}

Binding read_binding(const std::string &key, const KeyRef &ref, const std::string &value)
{
	const json j = object_of(key, value, {"seq", "port", "ips"});
	Binding b{ref.node, ref.segment, ref.mac, 0, {}, {}};
	const auto seq = j.find("seq");
	if (seq == j.end())
		throw BadRecord(key, "required field 'seq' is missing");
	if (!seq->is_number_unsigned() ||
	    seq->get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max())
		throw BadRecord(key, "seq " + seq->dump() + " is not a number in 0..4294967295");
	b.seq = seq->get<std::uint32_t>();
	if (const auto port = j.find("port"); port != j.end()) {
		if (!port->is_string() || port->get<std::string>().empty() ||
		    port->get<std::string>().size() > 15)
			throw BadRecord(key, "port " + port->dump() + " is not an interface name");
		b.port = port->get<std::string>();
	}
	if (const auto ips = j.find("ips"); ips != j.end()) {
		if (!ips->is_array())
			throw BadRecord(key, "ips is not a list");
		for (const auto &ip : *ips) {
			const auto addr = ip.is_string() ? parse_ip(ip.get<std::string>()) : std::nullopt;
			if (!addr)
				throw BadRecord(key, "ips: " + ip.dump() + " is not an IP address");
			b.ips.push_back(*addr);
		}
	}
	return b;
}

} // namespace

Config parse_without_underlay(const std::string &text, const std::string &path)
{
	// Only the reader's checks of the segments are wanted; a valid underlay
	// lets it get to them. Its address is from TEST-NET-1, never a VTEP.
	// Appended, so that the lines of @text keep their numbers.
	const bool newline = text.empty() || text.back() == '\n';
	return parse_config(text + (newline ? "" : "\n") +
				    "underlay: {interface: ovx-cluster, address: 192.0.2.1}\n",
			    path);
}

BadRecord::BadRecord(const std::string &key, const std::string &reason)
	: std::runtime_error(key + ": " + reason), key_(key), reason_(reason)
{
}

std::string segments_prefix()
{
	return std::string(kRoot) + "segments/";
}

std::string segment_key(const std::string &segment)
{
	return segments_prefix() + segment;
}

std::string nodes_prefix()
{
	return std::string(kRoot) + "nodes/";
}

std::string node_prefix(const std::string &node)
{
	return nodes_prefix() + node + "/";
}

std::string vtep_key(const std::string &node)
{
	return node_prefix(node) + "vtep";
}

std::string binding_key(const std::string &node, const std::string &segment, const Mac &mac)
{
	return node_prefix(node) + "bindings/" + segment + "/" + format_mac(mac);
}

KeyRef parse_key(const std::string &key)
{
	if (key.rfind(kRoot, 0) != 0)
		throw BadRecord(key, "not under " + std::string(kRoot));
	const std::vector<std::string_view> parts = split(std::string_view(key).substr(kRoot.size()));
	KeyRef ref;
	if (parts.size() == 2 && parts[0] == "segments") {
		if (!valid_name(parts[1]))
			throw BadRecord(key, "'" + std::string(parts[1]) + "' is not a segment name");
		ref.kind = KeyRef::Kind::segment;
		ref.segment = parts[1];
		return ref;
	}
	if (parts.size() < 3 || parts[0] != "nodes")
		throw BadRecord(key, "not a key of the cluster layout");
	if (!valid_name(parts[1]))
		throw BadRecord(key, "'" + std::string(parts[1]) + "' is not a node name");
	ref.node = parts[1];
	if (parts.size() == 3 && parts[2] == "vtep") {
		ref.kind = KeyRef::Kind::vtep;
		return ref;
	}
	if (parts.size() != 5 || parts[2] != "bindings")
		throw BadRecord(key, "not a key of the cluster layout");
	if (!valid_name(parts[3]))
		throw BadRecord(key, "'" + std::string(parts[3]) + "' is not a segment name");
	ref.kind = KeyRef::Kind::binding;
	ref.segment = parts[3];
	const std::optional<Mac> mac = parse_mac(parts[4]);
	// One spelling per MAC, or two keys could bind the same one.
	if (!mac || format_mac(*mac) != parts[4])
		throw BadRecord(key, "'" + std::string(parts[4]) +
					     "' is not a MAC address in lower case (aa:bb:cc:dd:ee:ff)");
	if (((*mac)[0] & 1) || *mac == Mac{})
		throw BadRecord(key, "MAC address " + std::string(parts[4]) +
					     " is not one station's (multicast or all zero)");
	ref.mac = *mac;
	return ref;
}

Record parse_record(const std::string &key, const std::string &value)
{
	const KeyRef ref = parse_key(key);
	switch (ref.kind) {
	case KeyRef::Kind::segment:
		return read_segment(key, ref, value);
	case KeyRef::Kind::vtep:
		return read_vtep(key, ref, value);
	case KeyRef::Kind::binding:
		return read_binding(key, ref, value);
	}
	throw BadRecord(key, "not a key of the cluster layout");
}

std::string encode(const Segment &s)
{
	return json{{"name", s.name},         {"tenant", s.tenant},   {"encap", encap_name(s.encap)},
		    {"id", s.id},             {"learning", s.learning}, {"aging", s.aging_sec}}
		.dump();
}

std::string encode(const VtepRecord &v)
{
	json addresses = json::array();
	for (const IpAddr *a : {&v.address4, &v.address6})
		if (a->family)
			addresses.push_back(format_ip(*a));
	return json{{"address", addresses}}.dump();
}

std::string encode(const Binding &b)
{
	json j{{"seq", b.seq}};
	if (!b.port.empty())
		j["port"] = b.port;
	if (!b.ips.empty()) {
		json ips = json::array();
		for (const IpAddr &ip : b.ips)
			ips.push_back(format_ip(ip));
		j["ips"] = ips;
	}
	return j.dump();
}

} // namespace ovx::cluster
