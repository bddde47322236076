#include "cluster/agent_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/yaml_doc.h"
#include "maps/error.h"

namespace ovx::cluster {
namespace {

class Reader {
public:
	explicit Reader(std::string path) : path_(std::move(path)) {}

	[[noreturn]] void fail(const yaml::Node &at, const std::string &what) const
	{
		const yaml::Mark m = at.mark();
		throw ConfigError(Location{path_, m.is_null() ? 1 : m.line + 1,
					   m.is_null() ? 1 : m.column + 1, ""},
				  what);
	}

	std::string scalar(const yaml::Node &n, const std::string &key) const
	{
		if (!n.is_scalar())
			fail(n, key + ": expected a value");
		const std::string_view t = n.text();
		if (t.find('\0') != std::string_view::npos)
			fail(n, key + ": contains a NUL byte");
		if (t.empty())
			fail(n, key + ": empty");
		return std::string(t);
	}

	// key -> value pairs of a map, each key once, all of them in @known.
	template <typename Fn>
	void fields(const yaml::Node &map, const std::string &what,
		    std::initializer_list<std::string_view> known, Fn &&fn) const
	{
		if (!map.is_map())
			fail(map, what + ": expected a map");
		std::set<std::string, std::less<>> seen;
		const auto kids = map.children();
		for (auto it = kids.begin(); it != kids.end(); ++it) {
			const yaml::Node key = *it;
			const yaml::Node value = *++it;
			const std::string name = scalar(key, what);
			if (std::find(known.begin(), known.end(), name) == known.end()) {
				std::string list;
				for (std::string_view k : known)
					list += (list.empty() ? "" : ", ") + std::string(k);
				fail(key, what + ": unknown key '" + name + "' (known: " + list + ")");
			}
			if (!seen.insert(name).second)
				fail(key, what + "." + name + ": given twice");
			fn(name, key, value);
		}
	}

	long number(const yaml::Node &n, const std::string &key, long min, long max) const
	{
		const std::string t = scalar(n, key);
		long v = 0;
		try {
			std::size_t used = 0;
			v = std::stol(t, &used);
			if (used != t.size())
				throw std::invalid_argument(t);
		} catch (const std::exception &) {
			fail(n, key + ": not a number");
		}
		if (v < min || v > max)
			fail(n, key + ": " + std::to_string(min) + "-" + std::to_string(max));
		return v;
	}

	std::vector<std::string> strings(const yaml::Node &n, const std::string &key) const
	{
		std::vector<std::string> out;
		if (n.is_scalar())
			return {scalar(n, key)};
		if (!n.is_list())
			fail(n, key + ": expected a list");
		for (const yaml::Node item : n.children())
			out.push_back(scalar(item, key));
		return out;
	}

	std::string file(const yaml::Node &n, const std::string &key) const
	{
		const std::string p = scalar(n, key);
		std::ifstream in(p);
		if (!in)
			fail(n, key + ": cannot read '" + p + "'");
		return p;
	}

private:
	std::string path_;
};

std::string read_all(const std::string &path)
{
	std::ifstream in(path);
	std::ostringstream s;
	s << in.rdbuf();
	return s.str();
}

Origin origin_of(const yaml::Node &n)
{
	const yaml::Mark m = n.mark();
	return {m.line + 1, m.column + 1};
}

} // namespace

AgentConfig parse_agent_config(const std::string &text, const std::string &path)
{
	yaml::Document doc;
	try {
		doc = yaml::parse(text);
	} catch (const yaml::Error &e) {
		throw ConfigError(Location{path, e.mark.line + 1, e.mark.column + 1, ""}, e.what());
	}
	const Reader r(path);
	AgentConfig cfg;
	cfg.path = path;
	if (doc.items.empty())
		throw ConfigError(Location{path, 1, 1, ""},
				  "empty file (cluster, underlay and ports expected)");
	const yaml::Node root(doc, 0);
	if (!root.is_map())
		r.fail(root, "expected a map of cluster, underlay, limits, ports");

	// The host's part (underlay, limits) goes to the host file's own reader
	// on the same text with the other sections blanked out, so that its
	// messages keep their line numbers.
	std::vector<std::pair<int, std::string>> top; // line, key
	bool have_cluster = false;
	const auto kids = root.children();
	for (auto it = kids.begin(); it != kids.end(); ++it) {
		const yaml::Node key = *it;
		const yaml::Node value = *++it;
		const std::string name = r.scalar(key, "top level");
		top.emplace_back(key.mark().line, name);
		if (name == "cluster") {
			have_cluster = true;
			r.fields(value, "cluster",
				 {"endpoints", "node", "lease_ttl", "tls", "user", "password_file",
				  "timeout_ms", "mobility"},
				 [&](const std::string &k, const yaml::Node &, const yaml::Node &v) {
					 const std::string what = "cluster." + k;
					 if (k == "endpoints") {
						 cfg.etcd.endpoints = r.strings(v, what);
						 if (cfg.etcd.endpoints.empty())
							 r.fail(v, what + ": at least one");
					 } else if (k == "node") {
						 cfg.node = r.scalar(v, what);
						 if (cfg.node.size() > 64 ||
						     cfg.node.find_first_not_of(
							     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
							     std::string::npos)
							 r.fail(v, what + ": 1-64 of A-Z a-z 0-9 _ . -");
					 } else if (k == "lease_ttl") {
						 cfg.lease_ttl = r.number(v, what, 2, 3600);
					 } else if (k == "timeout_ms") {
						 cfg.etcd.timeout = std::chrono::milliseconds(r.number(v, what, 100, 600000));
					 } else if (k == "tls") {
						 TlsFiles tls;
						 r.fields(v, what, {"ca", "cert", "key"},
							  [&](const std::string &f, const yaml::Node &,
							      const yaml::Node &fv) {
								  const std::string p = r.file(fv, what + "." + f);
								  (f == "ca" ? tls.ca : f == "cert" ? tls.cert : tls.key) = p;
							  });
						 if (tls.ca.empty())
							 r.fail(v, what + ".ca: required");
						 if (tls.cert.empty() != tls.key.empty())
							 r.fail(v, what + ": cert and key go together");
						 cfg.etcd.tls = tls;
					 } else if (k == "mobility") {
						 r.fields(v, what,
							  {"duplicate_grace_ms", "freeze_moves", "freeze_window",
							   "forward_ms"},
							  [&](const std::string &f, const yaml::Node &,
							      const yaml::Node &fv) {
								  const long n = r.number(fv, what + "." + f, 0,
											  f == "duplicate_grace_ms" ? 3600000 :
											  f == "forward_ms"	    ? 60000 :
															      100000);
								  if (f == "forward_ms")
									  cfg.mobility.forward_hold = std::chrono::milliseconds(n);
								  else if (f == "duplicate_grace_ms")
									  cfg.mobility.duplicate_grace = std::chrono::milliseconds(n);
								  else if (f == "freeze_moves")
									  cfg.mobility.freeze_moves = static_cast<unsigned>(n);
								  else
									  cfg.mobility.freeze_window = std::chrono::seconds(n);
							  });
					 } else if (k == "user") {
						 cfg.etcd.user = r.scalar(v, what);
					 } else if (k == "password_file") {
						 std::string pw = read_all(r.file(v, what));
						 while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r'))
							 pw.pop_back();
						 cfg.etcd.password = pw;
					 }
				 });
			if (cfg.etcd.endpoints.empty())
				r.fail(value, "cluster.endpoints: required");
			if (cfg.node.empty())
				r.fail(value, "cluster.node: required");
			if (cfg.etcd.user.empty() != cfg.etcd.password.empty())
				r.fail(value, "cluster: user and password_file go together");
		} else if (name == "ports") {
			if (!value.is_list())
				r.fail(value, "ports: expected a list");
			std::set<std::string> interfaces;
			std::size_t i = 0;
			for (const yaml::Node item : value.children()) {
				const std::string what = "ports[" + std::to_string(i++) + "]";
				LocalPort p;
				p.origin = origin_of(item);
				bool have_mac = false;
				r.fields(item, what, {"interface", "segment", "mac", "ips"},
					 [&](const std::string &k, const yaml::Node &, const yaml::Node &v) {
						 if (k == "interface")
							 p.interface = r.scalar(v, what + ".interface");
						 else if (k == "segment")
							 p.segment = r.scalar(v, what + ".segment");
						 else if (k == "mac") {
							 const auto mac = parse_mac(r.scalar(v, what + ".mac"));
							 if (!mac || ((*mac)[0] & 1) ||
							     *mac == Mac{})
								 r.fail(v, what + ".mac: not a unicast MAC address");
							 p.mac = *mac;
							 have_mac = true;
						 } else {
							 for (const std::string &ip : r.strings(v, what + ".ips")) {
								 const auto a = parse_ip(ip);
								 if (!a)
									 r.fail(v, what + ".ips: '" + ip +
											   "' is not an IP address");
								 p.ips.push_back(*a);
							 }
						 }
					 });
				if (p.interface.empty() || p.interface.size() >= 16)
					r.fail(item, what + ".interface: required, at most 15 characters");
				if (p.segment.empty())
					r.fail(item, what + ".segment: required");
				if (!have_mac)
					r.fail(item, what + ".mac: required");
				if (!interfaces.insert(p.interface).second)
					r.fail(item, what + ".interface: '" + p.interface + "' is a port twice");
				cfg.ports.push_back(std::move(p));
			}
		} else if (name == "segments") {
			r.fail(key, "segments: defined once for the cluster (ovx cluster apply -f "
				    "cluster.yaml), not in a host's file; name each port's segment under "
				    "ports");
		} else if (name != "underlay" && name != "limits") {
			r.fail(key, "unknown key '" + name + "' (known: cluster, underlay, limits, ports)");
		}
	}
	if (!have_cluster)
		throw ConfigError(path + ":1:1: cluster: required (endpoints and node)");

	std::vector<std::string> lines;
	{
		std::istringstream in(text);
		for (std::string l; std::getline(in, l);)
			lines.push_back(l);
	}
	std::sort(top.begin(), top.end());
	for (std::size_t i = 0; i < top.size(); i++) {
		if (top[i].second != "cluster" && top[i].second != "ports")
			continue;
		const int end = i + 1 < top.size() ? top[i + 1].first : static_cast<int>(lines.size());
		for (int l = top[i].first; l < end && l < static_cast<int>(lines.size()); l++)
			lines[static_cast<std::size_t>(l)].clear();
	}
	std::string host;
	for (const std::string &l : lines)
		host += l + "\n";
	cfg.host = parse_config(host + "segments: []\n", path);
	return cfg;
}

AgentConfig load_agent_config(const std::string &path)
{
	std::ifstream in(path);
	if (!in)
		throw ConfigError(path + ": cannot read the file");
	std::ostringstream s;
	s << in.rdbuf();
	return parse_agent_config(s.str(), path);
}

Config host_config(const AgentConfig &cfg, std::vector<Segment> segments,
		   std::vector<std::string> *unbound)
{
	Config c = cfg.host;
	for (const LocalPort &p : cfg.ports) {
		auto it = std::find_if(segments.begin(), segments.end(),
				       [&](const Segment &s) { return s.name == p.segment; });
		if (it == segments.end()) {
			if (unbound)
				unbound->push_back(p.interface + " (segment " + p.segment + ")");
			continue;
		}
		it->ports.push_back(Port{p.interface, p.mac, Delivery::automatic, p.origin});
		// A local MAC is the port's: a remote entry the view computed
		// for it (another node binding it too) gives way here.
		std::erase_if(it->remotes, [&](const Remote &r) { return r.mac == p.mac; });
	}
	c.segments = std::move(segments);
	return c;
}

} // namespace ovx::cluster
