#include "cli/output.h"

#include <cstdio>
#include <iomanip>

namespace ovx {
namespace {

using nlohmann::json;

json drops_json(const ovx_seg_stats &s)
{
	json drops = json::object();
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		drops[drop_reason_name(r)] = s.drops[r];
	return drops;
}

std::uint64_t total_drops(const ovx_seg_stats &s)
{
	std::uint64_t n = 0;
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		n += s.drops[r];
	return n;
}

void print_drops(std::ostream &out, const ovx_seg_stats &s)
{
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		if (s.drops[r])
			out << ' ' << drop_reason_name(r) << '=' << s.drops[r];
}

} // namespace

namespace {

// The underlay's VTEP addresses, IPv4 first.
std::vector<std::string> vtep_addresses(const StateView &v)
{
	std::vector<std::string> out;
	for (const IpAddr *a : {&v.vtep, &v.vtep6})
		if (a->family)
			out.push_back(format_ip(*a));
	return out;
}

} // namespace

json segment_json(const SegmentView &s)
{
	json flood = json::array();
	for (const auto &a : s.flood)
		flood.push_back(format_ip(a));
	return {{"name", s.name},	  {"tenant", s.tenant},	    {"encap", encap_name(s.encap)},
		{"id", s.id},		  {"learning", s.learning}, {"aging", s.aging_sec},
		{"inner_mtu", s.inner_mtu}, {"ports", s.ports},	    {"flood", flood}};
}

json port_json(const PortView &p)
{
	return {{"interface", p.interface}, {"segment", p.segment}, {"mac", format_mac(p.mac)}};
}

json fdb_json(const FdbView &f)
{
	json e = {{"segment", f.segment},
		  {"mac", format_mac(f.mac)},
		  {"kind", f.is_port ? "port" : "vtep"},
		  {"learned", f.learned}};
	if (f.is_port)
		e["port"] = f.port;
	else
		e["vtep"] = format_ip(f.vtep);
	if (f.learned) {
		e["age"] = f.age_sec;
		e["expired"] = f.expired;
	}
	return e;
}

json show_json(const StateView &v)
{
	json j;
	j["instance"] = v.instance;
	j["underlay"] = {{"interface", v.underlay},
			 {"ifindex", v.underlay_ifindex},
			 {"mtu", v.underlay_mtu},
			 {"addresses", vtep_addresses(v)},
			 {"vxlan_port", v.vxlan_port},
			 {"geneve_port", v.geneve_port},
			 {"xdp_mode", v.xdp_mode}};
	j["segments"] = json::array();
	for (const auto &s : v.segments)
		j["segments"].push_back(segment_json(s));
	j["ports"] = json::array();
	for (const auto &p : v.ports)
		j["ports"].push_back(port_json(p));
	j["fdb_capacity"] = v.fdb_capacity;
	j["fdb"] = json::array();
	for (const auto &f : v.fdb)
		j["fdb"].push_back(fdb_json(f));
	return j;
}

json stats_json(const StateView &v)
{
	json j;
	j["instance"] = v.instance;
	j["segments"] = json::array();
	for (const auto &s : v.segments) {
		const ovx_seg_stats &st = s.stats;
		j["segments"].push_back({{"name", s.name},
					 {"tenant", s.tenant},
					 {"encap", encap_name(s.encap)},
					 {"id", s.id},
					 {"rx_packets", st.rx_packets},
					 {"rx_bytes", st.rx_bytes},
					 {"tx_packets", st.tx_packets},
					 {"tx_bytes", st.tx_bytes},
					 {"local_packets", st.local_packets},
					 {"local_bytes", st.local_bytes},
					 {"flood_copies", st.flood_copies},
					 {"learned", st.learned},
					 {"stt_segments", st.stt_segments},
					 {"stt_reassembled", st.stt_reassembled},
					 {"drops", drops_json(st)}});
	}
	j["unassigned_drops"] = drops_json(v.unassigned);
	return j;
}

json apply_json(const ApplyResult &r)
{
	return {{"loaded", r.created},
		{"added", r.maps.added},
		{"changed", r.maps.changed},
		{"removed", r.maps.removed},
		{"learned_reclaimed", r.maps.learned_reclaimed},
		{"ports_attached", r.ports_attached},
		{"ports_detached", r.ports_detached}};
}

void print_show(std::ostream &out, const StateView &v)
{
	out << "instance " << v.instance << ": underlay " << v.underlay << " (mtu "
	    << v.underlay_mtu << ", xdp " << v.xdp_mode << "), vtep";
	for (const std::string &a : vtep_addresses(v))
		out << ' ' << a;
	out << ", vxlan port " << v.vxlan_port << ", geneve port " << v.geneve_port << '\n';
	for (const auto &s : v.segments)
		print_segment(out, s);
	out << "fdb: " << v.fdb.size() << " of " << v.fdb_capacity << " entries\n";
	for (const auto &f : v.fdb)
		print_fdb(out, f);
}

void print_segment(std::ostream &out, const SegmentView &s)
{
	out << "segment " << s.name << "  tenant " << s.tenant << "  " << encap_name(s.encap) << ' '
	    << id_name(s.encap) << ' ' << s.id << "  learning " << (s.learning ? "on" : "off");
	if (s.learning)
		out << " (aging " << s.aging_sec << "s)";
	out << "  inner mtu " << s.inner_mtu << "\n  ports:";
	for (const auto &p : s.ports)
		out << ' ' << p;
	out << "\n  flood:";
	for (const auto &a : s.flood)
		out << ' ' << format_ip(a);
	out << '\n';
}

void print_fdb(std::ostream &out, const FdbView &f)
{
	out << "  " << std::left << std::setw(16) << f.segment << ' ' << format_mac(f.mac) << ' ';
	if (f.is_port)
		out << "port " << f.port;
	else
		out << "vtep " << format_ip(f.vtep);
	if (f.learned)
		out << "  learned, age " << std::fixed << std::setprecision(1) << f.age_sec << "s"
		    << (f.expired ? " (expired)" : "");
	else
		out << "  static";
	out << '\n';
}

void print_stats(std::ostream &out, const StateView &v)
{
	char line[256];
	std::snprintf(line, sizeof(line), "%-16s %-10s %-6s %9s %10s %9s %10s %9s %8s %8s %8s\n",
		      "SEGMENT", "TENANT", "ID", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES",
		      "LOCAL", "FLOOD", "LEARNED", "DROPS");
	out << line;
	for (const auto &s : v.segments) {
		const ovx_seg_stats &st = s.stats;
		std::snprintf(line, sizeof(line),
			      "%-16s %-10s %-6llu %9llu %10llu %9llu %10llu %9llu %8llu %8llu %8llu\n",
			      s.name.c_str(), s.tenant.c_str(), (unsigned long long)s.id,
			      (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes,
			      (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
			      (unsigned long long)st.local_packets,
			      (unsigned long long)st.flood_copies, (unsigned long long)st.learned,
			      (unsigned long long)total_drops(st));
		out << line;
		if (total_drops(st)) {
			out << "  drops:";
			print_drops(out, st);
			out << '\n';
		}
	}
	if (total_drops(v.unassigned)) {
		out << "(no segment) drops:";
		print_drops(out, v.unassigned);
		out << '\n';
	}
}

void print_apply(std::ostream &out, const std::string &path, const ApplyResult &r)
{
	out << "applied " << path << ": ";
	if (r.created)
		out << "programs loaded, ";
	if (!r.maps.changes() && !r.ports_attached && !r.ports_detached && !r.created) {
		out << "no changes\n";
		return;
	}
	out << r.maps.added << " added, " << r.maps.changed << " changed, " << r.maps.removed
	    << " removed map entries; " << r.ports_attached << " ports attached, "
	    << r.ports_detached << " detached";
	if (r.maps.learned_reclaimed)
		out << "; " << r.maps.learned_reclaimed << " aged learned entries reclaimed";
	out << '\n';
}

} // namespace ovx
