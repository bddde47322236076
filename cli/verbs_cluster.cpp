// cluster apply | segment add|del|show | nodes | fdb show
#include "cli/verbs_cluster.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>

#include "agent/log.h"
#include "cluster/cluster_config.h"
#include "cluster/etcd_client.h"
#include "cluster/log.h"
#include "maps/error.h"

namespace ovx::cli {
namespace {

using nlohmann::json;

struct Connection {
	std::vector<std::string> endpoints;
	std::string cacert, cert, key, user;
};

// Every leaf takes the connection flags, so they can follow the verb.
void connection_flags(CLI::App *sub, Connection &c)
{
	sub->add_option("--endpoints", c.endpoints, "etcd client URLs, comma-separated")
		->delimiter(',')
		->envname("OVX_ETCD_ENDPOINTS")
		->required();
	sub->add_option("--cacert", c.cacert, "CA of the etcd members' certificates (TLS)")
		->envname("OVX_ETCD_CACERT");
	sub->add_option("--cert", c.cert, "Client certificate (TLS)")->envname("OVX_ETCD_CERT");
	sub->add_option("--key", c.key, "Client certificate's key (TLS)")->envname("OVX_ETCD_KEY");
	sub->add_option("--user", c.user,
			"etcd user (RBAC); the password comes from OVX_ETCD_PASSWORD")
		->envname("OVX_ETCD_USER");
}

cluster::ClientOptions client_options(const Connection &c)
{
	cluster::ClientOptions o;
	o.endpoints = c.endpoints;
	if (!c.cacert.empty())
		o.tls = cluster::TlsFiles{c.cacert, c.cert, c.key};
	else if (!c.cert.empty() || !c.key.empty())
		throw ConfigError("--cert and --key need --cacert");
	if (c.cert.empty() != c.key.empty())
		throw ConfigError("--cert and --key go together");
	if (!c.user.empty()) {
		const char *password = std::getenv("OVX_ETCD_PASSWORD");
		if (!password || !*password)
			throw ConfigError("--user " + c.user + ": set OVX_ETCD_PASSWORD");
		o.user = c.user;
		o.password = password;
	}
	return o;
}

json change_json(const cluster::SegmentsChange &c)
{
	return {{"added", c.added},
		{"changed", c.changed},
		{"removed", c.removed},
		{"unchanged", c.unchanged},
		{"revision", c.revision}};
}

void print_change(const std::string &what, const cluster::SegmentsChange &c)
{
	const auto list = [](const std::vector<std::string> &names) {
		std::string out;
		for (const auto &n : names)
			out += (out.empty() ? " (" : ", ") + n;
		return names.empty() ? out : out + ")";
	};
	std::cout << what << ": " << c.added.size() << " added" << list(c.added) << ", "
		  << c.changed.size() << " changed" << list(c.changed) << ", " << c.removed.size()
		  << " removed" << list(c.removed) << ", " << c.unchanged.size() << " unchanged";
	if (c.revision)
		std::cout << "; etcd revision " << c.revision;
	std::cout << '\n';
}

void report_change(bool as_json, const std::string &what, const cluster::SegmentsChange &c)
{
	if (as_json)
		std::cout << change_json(c).dump() << '\n';
	else
		print_change(what, c);
}

json ips_json(const std::vector<IpAddr> &ips)
{
	json out = json::array();
	for (const IpAddr &ip : ips)
		out.push_back(format_ip(ip));
	return out;
}

// Values in etcd that were ignored: on stderr for people, in the JSON for
// scripts.
json bad_json(const cluster::ClusterView &view)
{
	json out = json::array();
	for (const auto &[key, reason] : view.bad_keys())
		out.push_back({{"key", key}, {"reason", reason}});
	for (const auto &key : view.orphan_bindings())
		out.push_back({{"key", key}, {"reason", "binding for a segment that is not defined"}});
	return out;
}

void warn_bad(const cluster::ClusterView &view)
{
	for (const auto &b : bad_json(view))
		std::cerr << "ovx: ignored " << b["key"].get<std::string>() << ": "
			  << b["reason"].get<std::string>() << '\n';
}

json segment_json(const Segment &s)
{
	return {{"name", s.name},
		{"tenant", s.tenant},
		{"encap", encap_name(s.encap)},
		{"id", s.id},
		{"learning", s.learning},
		{"aging", s.aging_sec},
		{"member_vteps", ips_json(s.flood)},
		{"macs", s.remotes.size()}};
}

void show_segments(bool as_json, const cluster::ClusterView &view, const std::string &only)
{
	std::vector<Segment> segs = view.segments();
	if (!only.empty()) {
		std::erase_if(segs, [&](const Segment &s) { return s.name != only; });
		if (segs.empty())
			throw ConfigError("no segment '" + only + "' in the cluster");
	}
	if (as_json) {
		json list = json::array();
		for (const Segment &s : segs)
			list.push_back(segment_json(s));
		std::cout << json{{"segments", list}, {"revision", view.revision()},
				  {"ignored", bad_json(view)}}
				     .dump(2)
			  << '\n';
		return;
	}
	std::cout << std::left << std::setw(20) << "SEGMENT" << std::setw(16) << "TENANT"
		  << std::setw(8) << "ENCAP" << std::setw(10) << "ID" << std::setw(9) << "LEARN"
		  << std::setw(7) << "AGING" << std::setw(6) << "VTEPS"
		  << "MACS\n";
	for (const Segment &s : segs)
		std::cout << std::setw(20) << s.name << std::setw(16) << s.tenant << std::setw(8)
			  << encap_name(s.encap) << std::setw(10) << s.id << std::setw(9)
			  << (s.learning ? "on" : "off") << std::setw(7) << s.aging_sec
			  << std::setw(6) << s.flood.size() << s.remotes.size() << '\n';
	warn_bad(view);
}

void show_nodes(bool as_json, cluster::Client &client, const cluster::ClusterView &view)
{
	const auto nodes = cluster::read_nodes(client, view);
	if (as_json) {
		json list = json::array();
		for (const auto &n : nodes) {
			json addrs = json::array();
			if (n.info.vtep)
				for (const IpAddr *a : {&n.info.vtep->address4, &n.info.vtep->address6})
					if (a->family)
						addrs.push_back(format_ip(*a));
			list.push_back({{"name", n.info.name},
					{"vtep", addrs},
					{"bindings", n.info.bindings},
					{"lease", n.lease},
					{"ttl", n.ttl}});
		}
		std::cout << json{{"nodes", list}, {"revision", view.revision()},
				  {"ignored", bad_json(view)}}
				     .dump(2)
			  << '\n';
		return;
	}
	std::cout << std::left << std::setw(24) << "NODE" << std::setw(40) << "VTEP"
		  << std::setw(10) << "BINDINGS"
		  << "LEASE TTL\n";
	for (const auto &n : nodes) {
		std::string vtep = "-";
		if (n.info.vtep) {
			vtep.clear();
			for (const IpAddr *a : {&n.info.vtep->address4, &n.info.vtep->address6})
				if (a->family)
					vtep += (vtep.empty() ? "" : ",") + format_ip(*a);
		}
		std::cout << std::setw(24) << n.info.name << std::setw(40) << vtep << std::setw(10)
			  << n.info.bindings << (n.ttl >= 0 ? std::to_string(n.ttl) + " s" : "-")
			  << '\n';
	}
	warn_bad(view);
}

void show_fdb(bool as_json, const cluster::ClusterView &view, const std::string &segment)
{
	std::vector<cluster::RemoteMac> macs = view.remote_macs();
	if (!segment.empty())
		std::erase_if(macs, [&](const auto &m) { return m.segment != segment; });
	auto dups = view.duplicates();
	if (!segment.empty())
		std::erase_if(dups, [&](const auto &d) { return d.segment != segment; });
	if (as_json) {
		json list = json::array();
		for (const auto &m : macs)
			list.push_back({{"segment", m.segment},
					{"mac", format_mac(m.mac)},
					{"node", m.node},
					{"vtep", format_ip(m.vtep)},
					{"seq", m.seq},
					{"frozen", m.frozen}});
		json dlist = json::array();
		for (const auto &d : dups)
			dlist.push_back({{"segment", d.segment},
					 {"mac", format_mac(d.mac)},
					 {"nodes", d.nodes},
					 {"owner", d.owner},
					 {"frozen", d.frozen}});
		std::cout << json{{"fdb", list}, {"duplicates", dlist}, {"revision", view.revision()},
				  {"ignored", bad_json(view)}}
				     .dump(2)
			  << '\n';
		return;
	}
	std::cout << std::left << std::setw(20) << "SEGMENT" << std::setw(19) << "MAC"
		  << std::setw(24) << "NODE" << std::setw(40) << "VTEP" << std::setw(11) << "SEQ"
		  << "FLAGS\n";
	for (const auto &m : macs)
		std::cout << std::setw(20) << m.segment << std::setw(19) << format_mac(m.mac)
			  << std::setw(24) << m.node << std::setw(40) << format_ip(m.vtep)
			  << std::setw(11) << m.seq << (m.frozen ? "frozen" : "") << '\n';
	for (const auto &d : dups) {
		std::string nodes;
		for (const auto &n : d.nodes)
			nodes += (nodes.empty() ? "" : ", ") + n;
		std::cerr << "ovx: duplicate MAC " << format_mac(d.mac) << " in segment " << d.segment
			  << ": bound on " << nodes << (d.frozen ? " (frozen on " + d.owner + ")" : "")
			  << '\n';
	}
	warn_bad(view);
}

} // namespace

std::function<std::optional<int>()> add_cluster_verbs(CLI::App &app, const bool &json_out)
{
	auto *group = app.add_subcommand(
		"cluster", "Many hosts as one overlay switch: the cluster's segments in etcd");
	group->require_subcommand(1);

	struct Args {
		Connection conn;
		std::string file;
		std::string name;
		std::string tenant;
		std::uint64_t id = 0;
		std::string encap = "vxlan";
		std::string learning = "true";
		std::uint32_t aging = 300;
		std::string segment;
	};
	auto a = std::make_shared<Args>();

	auto *apply = group->add_subcommand(
		"apply", "Make the cluster's segments those of a file, in one etcd transaction");
	apply->add_option("-f,--file", a->file, "cluster.yaml: segments only")->required();
	connection_flags(apply, a->conn);
	apply->footer("Example: ovx cluster apply -f cluster.yaml --endpoints "
		      "https://10.0.0.1:2379,https://10.0.0.2:2379 --cacert ca.pem --cert admin.pem "
		      "--key admin-key.pem");

	auto *segment = group->add_subcommand("segment", "Add, remove or show the cluster's segments");
	segment->require_subcommand(1);
	auto *add = segment->add_subcommand("add", "Define a segment for the whole cluster");
	add->add_option("name", a->name, "Segment name")->required();
	add->add_option("--tenant", a->tenant, "Tenant it belongs to")->required();
	add->add_option("--id,--vni", a->id, "VNI (or VSID / context id)")->required();
	add->add_option("--encap", a->encap, "vxlan (default), nvgre, stt, geneve")
		->check(CLI::IsMember({"vxlan", "nvgre", "stt", "geneve"}));
	add->add_option("--learning", a->learning, "true (default) or false")
		->check(CLI::IsMember({"true", "false"}));
	add->add_option("--aging", a->aging, "Seconds a learned MAC lives (default 300)");
	connection_flags(add, a->conn);
	add->footer("Example: ovx cluster segment add blue-web --tenant blue --vni 5001 "
		    "--endpoints 127.0.0.1:2379");
	auto *del = segment->add_subcommand("del", "Remove a segment from the cluster");
	del->add_option("name", a->name, "Segment name")->required();
	connection_flags(del, a->conn);
	auto *show = segment->add_subcommand("show", "Show the cluster's segments");
	show->add_option("name", a->name, "Only this segment");
	connection_flags(show, a->conn);

	auto *nodes = group->add_subcommand("nodes", "Show the nodes: VTEPs, bindings, lease TTL");
	connection_flags(nodes, a->conn);

	auto *fdb = group->add_subcommand("fdb", "The cluster's MACs");
	fdb->require_subcommand(1);
	auto *fdb_show = fdb->add_subcommand(
		"show", "Show where each MAC is bound (the winner of its bindings), and duplicates");
	fdb_show->add_option("--segment", a->segment, "Only this segment");
	connection_flags(fdb_show, a->conn);

	return [=, &json_out]() -> std::optional<int> {
		// `cluster status` is the instance's (cli/verbs_cluster_status.cpp).
		if (!apply->parsed() && !add->parsed() && !del->parsed() && !show->parsed() &&
		    !nodes->parsed() && !fdb_show->parsed())
			return std::nullopt;
		// What the cluster library would log (a bad value, a failover) the
		// verbs report themselves, or fail with; --log-level shows it.
		if (!log_level_chosen())
			cluster::log().set_level(spdlog::level::err);
		// A bad file fails before etcd is asked anything.
		std::vector<Segment> segments;
		if (apply->parsed())
			segments = cluster::load_cluster_file(a->file);
		// The flags as the fields of a file's segment, checked as those are.
		Segment spec;
		if (add->parsed())
			spec = cluster::parse_segment(a->name, json{{"name", a->name},
								    {"tenant", a->tenant},
								    {"encap", a->encap},
								    {"id", a->id},
								    {"learning", a->learning},
								    {"aging", a->aging}}
								       .dump());
		cluster::Client client(client_options(a->conn));
		if (apply->parsed())
			report_change(json_out, "ovx cluster apply " + a->file,
				      cluster::apply_segments(client, segments));
		else if (add->parsed())
			report_change(json_out, "ovx cluster segment add",
				      cluster::add_segment(client, spec));
		else if (del->parsed())
			report_change(json_out, "ovx cluster segment del",
				      cluster::del_segment(client, a->name));
		else if (show->parsed())
			show_segments(json_out, cluster::read_cluster(client), a->name);
		else if (nodes->parsed())
			show_nodes(json_out, client, cluster::read_cluster(client));
		else if (fdb_show->parsed())
			show_fdb(json_out, cluster::read_cluster(client), a->segment);
		return kExitOk;
	};
}

} // namespace ovx::cli
