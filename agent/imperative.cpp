#include "agent/imperative.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "agent/desired.h"
#include "agent/inspect.h"
#include "agent/offload.h"
#include "maps/error.h"

namespace ovx {
namespace {

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
	const StateView v = inspect(dp, false);
	if (!v.underlay_ifindex)
		throw ConfigError("instance '" + dp.instance() +
				  "' has no underlay yet: apply a file first");
	Config c;
	c.path = "instance " + dp.instance();
	c.underlay.interface = v.underlay;
	c.underlay.address4 = v.vtep;
	c.underlay.address6 = v.vtep6;
	c.underlay.vxlan_port = v.vxlan_port;
	c.underlay.geneve_port = v.geneve_port;
	for (const XdpMode m : kXdpModes)
		if (v.xdp_mode == xdp_mode_name(m))
			c.underlay.mode = m;
	c.underlay.offload_relay = c.underlay.mode == XdpMode::offload &&
				   offload_relay_on(offload_dir(dp.instance()));
	c.limits.fdb_entries = static_cast<std::uint32_t>(v.fdb_capacity);

	std::map<std::string, std::size_t> index; // segment name -> c.segments
	std::map<std::string, Mac> port_mac;
	for (const PortView &p : v.ports)
		port_mac[p.interface] = p.mac;
	for (const SegmentView &sv : v.segments) {
		Segment s;
		s.name = sv.name;
		s.tenant = sv.tenant;
		s.encap = sv.encap;
		s.id = sv.id;
		s.learning = sv.learning;
		s.aging_sec = sv.aging_sec;
		// Only a limit the file set: the default follows limits.fdb_entries.
		if (sv.learn_max != default_learn_limit(c.limits.fdb_entries))
			s.learn_limit = sv.learn_max;
		s.flood = sv.flood;
		for (const std::string &ifname : sv.ports)
			s.ports.push_back(Port{ifname, port_mac[ifname], Delivery::automatic, {}});
		index[s.name] = c.segments.size();
		c.segments.push_back(std::move(s));
	}
	std::map<std::string, Delivery> asked; // interface -> its port's `delivery`
	for_each_fdb(dp, [&](const FdbView &f) {
		auto it = index.find(f.segment);
		if (f.is_port)
			asked[f.port] = f.asked;
		else if (it != index.end() && !f.learned)
			c.segments[it->second].remotes.push_back(Remote{f.mac, f.vtep, {}});
	});
	for (Segment &s : c.segments)
		for (Port &p : s.ports)
			if (auto it = asked.find(p.interface); it != asked.end())
				p.delivery = it->second;
	return c;
}

nlohmann::ordered_json config_tree(const Config &c)
{
	using json = nlohmann::ordered_json;
	const auto ips = [](const std::vector<IpAddr> &list) {
		json out = json::array();
		for (const IpAddr &a : list)
			out.push_back(format_ip(a));
		return out;
	};
	std::vector<IpAddr> addresses;
	for (const IpAddr *a : {&c.underlay.address4, &c.underlay.address6})
		if (a->family)
			addresses.push_back(*a);
	json segments = json::array();
	for (const Segment &s : c.segments) {
		json seg = {{"name", s.name}, {"tenant", s.tenant}, {"encap", encap_name(s.encap)},
			    {"id", s.id},     {"learning", s.learning}, {"aging", s.aging_sec}};
		if (s.learn_limit)
			seg["learn_limit"] = *s.learn_limit;
		seg["flood"] = ips(s.flood);
		seg["ports"] = json::array();
		for (const Port &p : s.ports) {
			json port = {{"interface", p.interface}, {"mac", format_mac(p.mac)}};
			if (p.delivery != Delivery::automatic)
				port["delivery"] = delivery_name(p.delivery);
			seg["ports"].push_back(std::move(port));
		}
		seg["remotes"] = json::array();
		for (const Remote &r : s.remotes)
			seg["remotes"].push_back({{"mac", format_mac(r.mac)}, {"vtep", format_ip(r.vtep)}});
		segments.push_back(std::move(seg));
	}
	json underlay = {{"interface", c.underlay.interface},
			 {"address", ips(addresses)},
			 {"mode", xdp_mode_name(c.underlay.mode)},
			 {"port", c.underlay.vxlan_port},
			 {"geneve_port", c.underlay.geneve_port}};
	if (c.underlay.offload_relay)
		underlay["offload"] = {{"relay", true}};
	return {{"underlay", std::move(underlay)},
		{"limits", {{"fdb_entries", c.limits.fdb_entries}}},
		{"segments", std::move(segments)}};
}

namespace {

bool all_scalars(const nlohmann::ordered_json &j)
{
	return std::none_of(j.begin(), j.end(), [](const auto &v) { return v.is_structured(); });
}

// The file's style: lists of addresses and the small maps of a list (a
// port, a remote) on one line each; everything else a block.
void emit(YAML::Emitter &out, const nlohmann::ordered_json &j, bool in_list)
{
	if (j.is_object()) {
		if (in_list && all_scalars(j))
			out << YAML::Flow;
		out << YAML::BeginMap;
		for (const auto &[key, value] : j.items()) {
			out << YAML::Key << key << YAML::Value;
			emit(out, value, false);
		}
		out << YAML::EndMap;
	} else if (j.is_array()) {
		if (all_scalars(j))
			out << YAML::Flow;
		out << YAML::BeginSeq;
		for (const auto &value : j)
			emit(out, value, true);
		out << YAML::EndSeq;
	} else if (j.is_string()) {
		out << j.get<std::string>();
	} else if (j.is_boolean()) {
		out << (j.get<bool>() ? "true" : "false");
	} else {
		out << j.dump(); // a number, as JSON writes it
	}
}

} // namespace

std::string to_yaml(const Config &c)
{
	YAML::Emitter out;
	emit(out, config_tree(c), false);
	return std::string(out.c_str()) + "\n";
}

void segment_add(Config &config, const Segment &spec)
{
	for (const Segment &s : config.segments) {
		if (s.name == spec.name)
			throw ConfigError("segment '" + spec.name + "' exists already");
		if (s.encap == spec.encap && s.id == spec.id)
			throw ConfigError(std::string(encap_name(spec.encap)) + " id " +
					  std::to_string(spec.id) + " belongs to segment '" +
					  s.name + "' already");
	}
	config.segments.push_back(spec);
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
