#include "agent/imperative.h"

#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "agent/desired.h"
#include "maps/error.h"

namespace ovx {
namespace {

std::string ifname(std::uint32_t ifindex)
{
	char name[IF_NAMESIZE] = {};
	if (!if_indextoname(ifindex, name))
		throw SystemError("interface with ifindex " + std::to_string(ifindex) +
				  " is gone from this network namespace; apply a file that no "
				  "longer names it");
	return name;
}

std::string c_string(const char (&s)[OVX_NAME_LEN])
{
	return std::string(s, strnlen(s, OVX_NAME_LEN));
}

Segment &find_segment(Config &config, const std::string &name)
{
	for (Segment &s : config.segments)
		if (s.name == name)
			return s;
	throw ConfigError("no segment '" + name + "'");
}

Mac mac_arg(const std::string &text)
{
	auto mac = parse_mac(text);
	if (!mac)
		throw ConfigError("'" + text + "' is not a MAC address (like 02:00:00:00:01:01)");
	return *mac;
}

IpAddr ip_arg(const std::string &text)
{
	auto ip = parse_ip(text);
	if (!ip)
		throw ConfigError("'" + text + "' is not an IP address");
	return *ip;
}

// parse_config() locates errors as PATH:LINE:COLUMN in the text it read;
// here that text is generated, so only the key path and the reason help.
std::string without_location(const std::string &message, const std::string &path)
{
	if (message.rfind(path + ":", 0) != 0)
		return message;
	std::size_t pos = path.size() + 1;
	for (int field = 0; field < 2; field++) {
		const std::size_t colon = message.find(':', pos);
		if (colon == std::string::npos ||
		    !std::all_of(message.begin() + static_cast<long>(pos),
				 message.begin() + static_cast<long>(colon), ::isdigit))
			return message.substr(path.size() + 1);
		pos = colon + 1;
	}
	return message.substr(message[pos] == ' ' ? pos + 1 : pos);
}

} // namespace

Config current_config(const Dataplane &dp)
{
	const Tables &t = dp.tables();
	Config c;
	c.path = "instance " + dp.instance();
	const auto cfg = t.config.lookup(0);
	if (!cfg || !cfg->underlay_ifindex)
		throw ConfigError("instance '" + dp.instance() + "' has no underlay yet: apply a file first");
	c.underlay.interface = ifname(cfg->underlay_ifindex);
	c.underlay.address = from_abi(cfg->vtep4);
	c.underlay.vxlan_port = ntohs(cfg->vxlan_port);
	if (auto att = dp.xdp_attachment(static_cast<int>(cfg->underlay_ifindex)))
		c.underlay.mode = att->mode == XDP_ATTACHED_SKB	  ? XdpMode::generic
				  : att->mode == XDP_ATTACHED_HW ? XdpMode::offload
								  : XdpMode::native;
	c.limits.fdb_entries = t.fdb.max_entries();

	const auto names = t.seg_names.dump();
	std::map<std::uint32_t, std::size_t> index; // segment id -> c.segments
	std::map<std::uint32_t, ovx_segment> active;
	for (const auto &[sid, seg] : t.segments.dump()) {
		if (!(seg.flags & OVX_SEG_ACTIVE))
			continue;
		Segment s;
		s.name = c_string(names[sid].second.name);
		s.tenant = c_string(names[sid].second.tenant);
		s.encap = static_cast<ovx_encap>(seg.encap);
		s.id = seg.id;
		s.learning = seg.flags & OVX_SEG_LEARNING;
		s.aging_sec = seg.aging_sec;
		s.ports.resize(seg.n_ports);
		s.flood.resize(seg.n_vteps);
		index[sid] = c.segments.size();
		c.segments.push_back(std::move(s));
	}
	std::map<std::uint32_t, ovx_port> ports;
	for (const auto &[ifindex, port] : t.ports.dump())
		ports[ifindex] = port;
	for (const auto &[k, ifindex] : t.flood_ports.dump()) {
		auto it = index.find(k.segment);
		if (it == index.end() || k.index >= c.segments[it->second].ports.size())
			continue;
		Port &p = c.segments[it->second].ports[k.index];
		p.interface = ifname(ifindex);
		if (auto pit = ports.find(ifindex); pit != ports.end())
			std::memcpy(p.mac.data(), pit->second.mac, 6);
	}
	for (const auto &[k, addr] : t.flood_vteps.dump()) {
		auto it = index.find(k.segment);
		if (it != index.end() && k.index < c.segments[it->second].flood.size())
			c.segments[it->second].flood[k.index] = from_abi(addr);
	}
	t.fdb.for_each([&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		auto it = index.find(k.segment);
		if (it == index.end() || !(e.flags & OVX_FDB_STATIC) || e.kind != OVX_FDB_VTEP)
			return;
		Remote r;
		std::memcpy(r.mac.data(), k.mac, 6);
		r.vtep = from_abi(e.vtep);
		c.segments[it->second].remotes.push_back(r);
	});
	return c;
}

std::string to_yaml(const Config &c)
{
	YAML::Emitter out;
	out << YAML::BeginMap;
	out << YAML::Key << "underlay" << YAML::Value << YAML::BeginMap;
	out << YAML::Key << "interface" << YAML::Value << c.underlay.interface;
	out << YAML::Key << "address" << YAML::Value << format_ip(c.underlay.address);
	out << YAML::Key << "mode" << YAML::Value << xdp_mode_name(c.underlay.mode);
	out << YAML::Key << "port" << YAML::Value << c.underlay.vxlan_port;
	out << YAML::EndMap;
	out << YAML::Key << "limits" << YAML::Value << YAML::BeginMap;
	out << YAML::Key << "fdb_entries" << YAML::Value << c.limits.fdb_entries;
	out << YAML::EndMap;
	out << YAML::Key << "segments" << YAML::Value << YAML::BeginSeq;
	for (const Segment &s : c.segments) {
		out << YAML::BeginMap;
		out << YAML::Key << "name" << YAML::Value << s.name;
		out << YAML::Key << "tenant" << YAML::Value << s.tenant;
		out << YAML::Key << "encap" << YAML::Value << encap_name(s.encap);
		out << YAML::Key << "id" << YAML::Value << s.id;
		out << YAML::Key << "learning" << YAML::Value << (s.learning ? "true" : "false");
		out << YAML::Key << "aging" << YAML::Value << s.aging_sec;
		out << YAML::Key << "flood" << YAML::Value << YAML::Flow << YAML::BeginSeq;
		for (const IpAddr &a : s.flood)
			out << format_ip(a);
		out << YAML::EndSeq;
		out << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
		for (const Port &p : s.ports)
			out << YAML::Flow << YAML::BeginMap << YAML::Key << "interface"
			    << YAML::Value << p.interface << YAML::Key << "mac" << YAML::Value
			    << format_mac(p.mac) << YAML::EndMap;
		out << YAML::EndSeq;
		out << YAML::Key << "remotes" << YAML::Value << YAML::BeginSeq;
		for (const Remote &r : s.remotes)
			out << YAML::Flow << YAML::BeginMap << YAML::Key << "mac" << YAML::Value
			    << format_mac(r.mac) << YAML::Key << "vtep" << YAML::Value
			    << format_ip(r.vtep) << YAML::EndMap;
		out << YAML::EndSeq;
		out << YAML::EndMap;
	}
	out << YAML::EndSeq;
	out << YAML::EndMap;
	return std::string(out.c_str()) + "\n";
}

void segment_add(Config &config, const SegmentSpec &spec)
{
	for (const Segment &s : config.segments) {
		if (s.name == spec.name)
			throw ConfigError("segment '" + spec.name + "' exists already");
		if (s.encap == spec.encap && s.id == spec.id)
			throw ConfigError(std::string(encap_name(spec.encap)) + " id " +
					  std::to_string(spec.id) + " belongs to segment '" +
					  s.name + "' already");
	}
	Segment s;
	s.name = spec.name;
	s.tenant = spec.tenant;
	s.encap = spec.encap;
	s.id = spec.id;
	s.learning = spec.learning;
	s.aging_sec = spec.aging_sec;
	config.segments.push_back(std::move(s));
}

void segment_del(Config &config, const std::string &name)
{
	const Segment &s = find_segment(config, name);
	if (!s.ports.empty())
		throw ConfigError("segment '" + name + "' still has " +
				  std::to_string(s.ports.size()) + " port(s), first " +
				  s.ports.front().interface + ": 'ovx port del' them first");
	std::erase_if(config.segments, [&](const Segment &x) { return x.name == name; });
}

void port_add(Config &config, const std::string &segment, const std::string &interface,
	      const std::string &mac)
{
	for (const Segment &s : config.segments)
		for (const Port &p : s.ports)
			if (p.interface == interface)
				throw ConfigError("interface " + interface +
						  " is a port of segment '" + s.name + "' already");
	Segment &s = find_segment(config, segment);
	Port p;
	p.interface = interface;
	p.mac = mac_arg(mac);
	s.ports.push_back(p);
}

void port_del(Config &config, const std::string &interface)
{
	for (Segment &s : config.segments)
		if (std::erase_if(s.ports, [&](const Port &p) { return p.interface == interface; }))
			return;
	throw ConfigError("interface " + interface + " is not an ovx port");
}

void fdb_add(Config &config, const std::string &segment, const std::string &mac,
	     const std::string &vtep)
{
	Segment &s = find_segment(config, segment);
	Remote r;
	r.mac = mac_arg(mac);
	r.vtep = ip_arg(vtep);
	for (const Remote &x : s.remotes)
		if (x.mac == r.mac)
			throw ConfigError("segment '" + segment + "': " + format_mac(r.mac) +
					  " has a static entry already (to " + format_ip(x.vtep) +
					  "); 'ovx fdb del' it first");
	s.remotes.push_back(r);
}

void fdb_del(Config &config, const std::string &segment, const std::string &mac)
{
	Segment &s = find_segment(config, segment);
	const Mac m = mac_arg(mac);
	for (const Port &p : s.ports)
		if (p.mac == m)
			throw ConfigError("segment '" + segment + "': " + format_mac(m) +
					  " is the MAC of port " + p.interface +
					  "; 'ovx port del' removes it");
	if (!std::erase_if(s.remotes, [&](const Remote &r) { return r.mac == m; }))
		throw ConfigError("segment '" + segment + "': no static FDB entry for " +
				  format_mac(m));
}

void flood_add(Config &config, const std::string &segment, const std::string &vtep)
{
	Segment &s = find_segment(config, segment);
	const IpAddr a = ip_arg(vtep);
	if (std::find(s.flood.begin(), s.flood.end(), a) != s.flood.end())
		throw ConfigError("segment '" + segment + "': " + format_ip(a) +
				  " is in its flood list already");
	s.flood.push_back(a);
}

void flood_del(Config &config, const std::string &segment, const std::string &vtep)
{
	Segment &s = find_segment(config, segment);
	const IpAddr a = ip_arg(vtep);
	if (!std::erase(s.flood, a))
		throw ConfigError("segment '" + segment + "': " + format_ip(a) +
				  " is not in its flood list");
}

ApplyResult edit_instance(const std::string &instance, const std::string &verb,
			  const std::function<void(Config &)> &edit)
{
	auto dp = Dataplane::open(instance);
	if (!dp)
		throw ConfigError("instance '" + instance + "' is not running (nothing pinned under " +
				  Dataplane::instance_dir(instance) + "); run 'ovx apply' first");
	Config config = current_config(*dp);
	edit(config);
	// The file's own rules (names, ranges, duplicates, VTEP families) judge
	// the edited state, so that a verb can never make what a file cannot.
	Config checked;
	try {
		checked = parse_config(to_yaml(config), verb);
	} catch (const ConfigError &e) {
		throw ConfigError(without_location(e.what(), verb));
	}
	return ovx::apply(checked, instance);
}

} // namespace ovx
