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
	json j = {{"name", s.name},	  {"tenant", s.tenant},	    {"encap", encap_name(s.encap)},
		{"id", s.id},		  {"learning", s.learning}, {"aging", s.aging_sec},
		{"inner_mtu", s.inner_mtu}, {"ports", s.ports},	    {"flood", flood}};
	if (s.encap == OVX_ENCAP_STT)
		j["segmented_mtu"] = OVX_STT_SEGMENTED_MAX;
	return j;
}

json port_json(const PortView &p)
{
	return {{"interface", p.interface},
		{"segment", p.segment},
		{"mac", format_mac(p.mac)},
		{"delivery", p.delivery}};
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
	if (f.forwarding)
		e["forward_sec"] = f.forward_sec;
	return e;
}

json show_json(const StateView &v)
{
	json j;
	j["schema"] = kShowSchema;
	j["instance"] = v.instance;
	j["underlay"] = {{"interface", v.underlay},
			 {"ifindex", v.underlay_ifindex},
			 {"mtu", v.underlay_mtu},
			 {"addresses", vtep_addresses(v)},
			 {"vxlan_port", v.vxlan_port},
			 {"geneve_port", v.geneve_port},
			 {"xdp_mode", v.xdp_mode}};
	j["trace"] = v.trace;
	j["nexthops"] = json::array();
	for (const auto &h : v.nexthops)
		j["nexthops"].push_back({{"vtep", format_ip(h.vtep)},
					 {"interface", h.interface},
					 {"mac", format_mac(h.mac)},
					 {"live", h.live}});
	j["nexthop_fallbacks"] = {{"miss", v.datapath.nexthop_miss},
				  {"stale", v.datapath.nexthop_stale}};
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

namespace {

struct SegField {
	const char *name;
	__u64 ovx_seg_stats::*field;
};
constexpr SegField kSegFields[] = {
	{"rx_packets", &ovx_seg_stats::rx_packets},
	{"rx_bytes", &ovx_seg_stats::rx_bytes},
	{"tx_packets", &ovx_seg_stats::tx_packets},
	{"tx_bytes", &ovx_seg_stats::tx_bytes},
	{"local_packets", &ovx_seg_stats::local_packets},
	{"local_bytes", &ovx_seg_stats::local_bytes},
	{"flood_copies", &ovx_seg_stats::flood_copies},
	{"learned", &ovx_seg_stats::learned},
	{"learn_refused", &ovx_seg_stats::learn_refused},
	{"stt_segments", &ovx_seg_stats::stt_segments},
	{"stt_reassembled", &ovx_seg_stats::stt_reassembled},
	{"forwarded", &ovx_seg_stats::forwarded},
};

struct PortField {
	const char *name;
	__u64 ovx_port_stats::*field;
};
constexpr PortField kPortFields[] = {
	{"rx_packets", &ovx_port_stats::rx_packets}, {"rx_bytes", &ovx_port_stats::rx_bytes},
	{"tx_packets", &ovx_port_stats::tx_packets}, {"tx_bytes", &ovx_port_stats::tx_bytes},
	{"spoof_drops", &ovx_port_stats::spoof_drops},
};

// Readings of one segment / port in @before, matched by name.
const SegmentView *find_segment(const StateView &v, const std::string &name)
{
	for (const auto &s : v.segments)
		if (s.name == name)
			return &s;
	return nullptr;
}

const PortView *find_port(const StateView &v, const std::string &interface)
{
	for (const auto &p : v.ports)
		if (p.interface == interface)
			return &p;
	return nullptr;
}

// Per second; a counter that went backwards (the instance was re-created)
// starts again from zero.
double rate(std::uint64_t before, std::uint64_t after, double seconds)
{
	return seconds > 0 ? static_cast<double>(after >= before ? after - before : after) / seconds
			   : 0;
}

// 1234567 -> "1.23M": rates are read at a glance, not copied.
std::string si(double x)
{
	static const char *const units[] = {"", "k", "M", "G", "T"};
	unsigned u = 0;
	while (x >= 1000 && u < 4) {
		x /= 1000;
		u++;
	}
	char buf[32];
	std::snprintf(buf, sizeof(buf), u ? "%.2f%s" : "%.0f%s", x, units[u]);
	return buf;
}

json drop_rates_json(const ovx_seg_stats &before, const ovx_seg_stats &after, double seconds)
{
	json drops = json::object();
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		drops[drop_reason_name(r)] = rate(before.drops[r], after.drops[r], seconds);
	return drops;
}

// " reason=rate" for every reason that moved.
std::string drop_rates_text(const ovx_seg_stats &before, const ovx_seg_stats &after,
			    double seconds)
{
	std::string out;
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		if (after.drops[r] != before.drops[r])
			out += std::string(" ") + drop_reason_name(r) + '=' +
			       si(rate(before.drops[r], after.drops[r], seconds));
	return out;
}

} // namespace

json stats_json(const StateView &v)
{
	json j;
	j["schema"] = kStatsSchema;
	j["instance"] = v.instance;
	j["segments"] = json::array();
	for (const auto &s : v.segments) {
		json seg = {{"name", s.name},
			    {"tenant", s.tenant},
			    {"encap", encap_name(s.encap)},
			    {"id", s.id}};
		for (const auto &f : kSegFields)
			seg[f.name] = s.stats.*f.field;
		seg["drops"] = drops_json(s.stats);
		if (!v.maps.empty())
			seg["fdb_entries"] = s.fdb_entries;
		j["segments"].push_back(std::move(seg));
	}
	if (!v.maps.empty()) {
		j["maps"] = json::array();
		for (const auto &m : v.maps)
			j["maps"].push_back(
				{{"name", m.map}, {"entries", m.entries}, {"capacity", m.capacity}});
	}
	j["ports"] = json::array();
	for (const auto &p : v.ports) {
		json port = {{"interface", p.interface}, {"segment", p.segment}, {"tenant", p.tenant}};
		for (const auto &f : kPortFields)
			port[f.name] = p.stats.*f.field;
		j["ports"].push_back(std::move(port));
	}
	j["unassigned_drops"] = drops_json(v.unassigned);
	j["nexthop_fallbacks"] = {{"miss", v.datapath.nexthop_miss},
				  {"stale", v.datapath.nexthop_stale}};
	return j;
}

json rates_json(const StateView &before, const StateView &after, double seconds)
{
	json j;
	j["instance"] = after.instance;
	j["interval"] = seconds;
	j["segments"] = json::array();
	for (const auto &s : after.segments) {
		const SegmentView *b = find_segment(before, s.name);
		const ovx_seg_stats zero{}, &old = b ? b->stats : zero;
		json seg = {{"name", s.name}, {"tenant", s.tenant}};
		for (const auto &f : kSegFields)
			seg[f.name] = rate(old.*f.field, s.stats.*f.field, seconds);
		seg["drops"] = drop_rates_json(old, s.stats, seconds);
		j["segments"].push_back(std::move(seg));
	}
	j["unassigned_drops"] = drop_rates_json(before.unassigned, after.unassigned, seconds);
	j["ports"] = json::array();
	for (const auto &p : after.ports) {
		const PortView *b = find_port(before, p.interface);
		const ovx_port_stats zero{}, &old = b ? b->stats : zero;
		json port = {{"interface", p.interface}, {"segment", p.segment}};
		for (const auto &f : kPortFields)
			port[f.name] = rate(old.*f.field, p.stats.*f.field, seconds);
		j["ports"].push_back(std::move(port));
	}
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
	for (const auto &p : v.ports)
		out << "port " << p.interface << "  segment " << p.segment << "  delivery "
		    << p.delivery << '\n';
	for (const auto &h : v.nexthops)
		out << "next hop to " << format_ip(h.vtep) << ": " << h.interface << ' '
		    << format_mac(h.mac) << (h.live ? "" : " (expired: the FIB path serves)") << '\n';
	if (v.datapath.nexthop_miss || v.datapath.nexthop_stale)
		out << "sends without a live next hop (FIB path): " << v.datapath.nexthop_miss
		    << " missed, " << v.datapath.nexthop_stale << " expired\n";
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
	out << "  inner mtu " << s.inner_mtu;
	if (s.encap == OVX_ENCAP_STT) // larger frames leave in STT segments
		out << " (" << OVX_STT_SEGMENTED_MAX << " in segments)";
	out << "\n  ports:";
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
	if (f.forwarding) {
		out << "  forwarding pointer, ";
		if (f.forward_sec > 0)
			out << std::fixed << std::setprecision(1) << f.forward_sec << "s left";
		else
			out << "lapsed";
	}
	out << '\n';
}

namespace {

void print_port_table(std::ostream &out, const StateView &v)
{
	if (v.ports.empty())
		return;
	char line[256];
	std::snprintf(line, sizeof(line), "%-16s %-16s %9s %10s %9s %10s %8s\n", "PORT", "SEGMENT",
		      "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "SPOOF");
	out << line;
	for (const auto &p : v.ports) {
		std::snprintf(line, sizeof(line), "%-16s %-16s %9llu %10llu %9llu %10llu %8llu\n",
			      p.interface.c_str(), p.segment.c_str(),
			      (unsigned long long)p.stats.rx_packets,
			      (unsigned long long)p.stats.rx_bytes,
			      (unsigned long long)p.stats.tx_packets,
			      (unsigned long long)p.stats.tx_bytes,
			      (unsigned long long)p.stats.spoof_drops);
		out << line;
	}
}

} // namespace

void print_stats(std::ostream &out, const StateView &v)
{
	char line[256];
	std::snprintf(line, sizeof(line),
		      "%-16s %-10s %-6s %9s %10s %9s %10s %9s %8s %8s %8s %8s\n", "SEGMENT", "TENANT",
		      "ID", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "LOCAL", "FLOOD", "LEARNED",
		      "DROPS", "FDB");
	out << line;
	for (const auto &s : v.segments) {
		const ovx_seg_stats &st = s.stats;
		std::snprintf(line, sizeof(line),
			      "%-16s %-10s %-6llu %9llu %10llu %9llu %10llu %9llu %8llu %8llu %8llu "
			      "%8llu\n",
			      s.name.c_str(), s.tenant.c_str(), (unsigned long long)s.id,
			      (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes,
			      (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
			      (unsigned long long)st.local_packets,
			      (unsigned long long)st.flood_copies, (unsigned long long)st.learned,
			      (unsigned long long)total_drops(st), (unsigned long long)s.fdb_entries);
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
	print_port_table(out, v);
	if (!v.maps.empty()) {
		out << "maps (entries/capacity):";
		for (const auto &m : v.maps)
			out << ' ' << m.map << ' ' << m.entries << '/' << m.capacity;
		out << '\n';
	}
}

void print_rates(std::ostream &out, const StateView &before, const StateView &v, double seconds)
{
	char line[256];
	std::snprintf(line, sizeof(line), "%-16s %-10s %9s %9s %9s %9s %9s %9s %8s\n",
		      "SEGMENT/s", "TENANT", "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "LOCAL",
		      "FLOOD", "DROPS");
	out << line;
	for (const auto &s : v.segments) {
		const SegmentView *b = find_segment(before, s.name);
		const ovx_seg_stats zero{}, &o = b ? b->stats : zero, &n = s.stats;
		std::snprintf(line, sizeof(line), "%-16s %-10s %9s %9s %9s %9s %9s %9s %8s\n",
			      s.name.c_str(), s.tenant.c_str(),
			      si(rate(o.rx_packets, n.rx_packets, seconds)).c_str(),
			      si(rate(o.rx_bytes, n.rx_bytes, seconds)).c_str(),
			      si(rate(o.tx_packets, n.tx_packets, seconds)).c_str(),
			      si(rate(o.tx_bytes, n.tx_bytes, seconds)).c_str(),
			      si(rate(o.local_packets, n.local_packets, seconds)).c_str(),
			      si(rate(o.flood_copies, n.flood_copies, seconds)).c_str(),
			      si(rate(total_drops(o), total_drops(n), seconds)).c_str());
		out << line;
		if (const std::string reasons = drop_rates_text(o, n, seconds); !reasons.empty())
			out << "  drops/s:" << reasons << '\n';
	}
	if (const std::string reasons = drop_rates_text(before.unassigned, v.unassigned, seconds);
	    !reasons.empty())
		out << "(no segment) drops/s:" << reasons << '\n';
	if (v.ports.empty())
		return;
	std::snprintf(line, sizeof(line), "%-16s %-16s %9s %9s %9s %9s %8s\n", "PORT/s", "SEGMENT",
		      "RX_PKTS", "RX_BYTES", "TX_PKTS", "TX_BYTES", "SPOOF");
	out << line;
	for (const auto &p : v.ports) {
		const PortView *b = find_port(before, p.interface);
		const ovx_port_stats zero{}, &o = b ? b->stats : zero, &n = p.stats;
		std::snprintf(line, sizeof(line), "%-16s %-16s %9s %9s %9s %9s %8s\n",
			      p.interface.c_str(), p.segment.c_str(),
			      si(rate(o.rx_packets, n.rx_packets, seconds)).c_str(),
			      si(rate(o.rx_bytes, n.rx_bytes, seconds)).c_str(),
			      si(rate(o.tx_packets, n.tx_packets, seconds)).c_str(),
			      si(rate(o.tx_bytes, n.tx_bytes, seconds)).c_str(),
			      si(rate(o.spoof_drops, n.spoof_drops, seconds)).c_str());
		out << line;
	}
}

json trace_json(const TraceEventView &e)
{
	json j = {{"time", e.ts_sec}, {"kind", e.kind}, {"len", e.len}};
	if (!e.reason.empty())
		j["reason"] = e.reason;
	if (!e.segment.empty()) {
		j["segment"] = e.segment;
		j["tenant"] = e.tenant;
	}
	if (!e.port.empty())
		j["port"] = e.port;
	if (!e.encap.empty())
		j["encap"] = e.encap;
	j["src_mac"] = format_mac(e.src);
	j["dst_mac"] = format_mac(e.dst);
	if (e.outer_src.family)
		j["outer_src"] = format_ip(e.outer_src);
	if (e.outer_dst.family)
		j["outer_dst"] = format_ip(e.outer_dst);
	return j;
}

void print_trace(std::ostream &out, const TraceEventView &e)
{
	char ts[32];
	std::snprintf(ts, sizeof(ts), "%.6f", e.ts_sec);
	out << ts << ' ' << e.kind;
	if (!e.reason.empty())
		out << ' ' << e.reason;
	out << "  segment " << (e.segment.empty() ? "-" : e.segment);
	if (!e.tenant.empty())
		out << " (" << e.tenant << ')';
	out << "  in " << (e.port.empty() ? "-" : e.port);
	if (!e.encap.empty())
		out << "  " << e.encap;
	if (e.outer_src.family || e.outer_dst.family)
		out << "  " << (e.outer_src.family ? format_ip(e.outer_src) : "-") << " > "
		    << (e.outer_dst.family ? format_ip(e.outer_dst) : "-");
	out << "  " << format_mac(e.src) << " > " << format_mac(e.dst) << "  len " << e.len
	    << '\n';
}

void print_apply(std::ostream &out, const std::string &path, const ApplyResult &r)
{
	out << "applied " << path << ": ";
	if (r.created)
		out << "programs loaded, ";
	if (!r.maps.changes() && !r.maps.learned_reclaimed && !r.ports_attached &&
	    !r.ports_detached && !r.created) {
		out << "no changes\n";
		return;
	}
	out << r.maps.added << " added, " << r.maps.changed << " changed, " << r.maps.removed
	    << " removed map entries; " << r.ports_attached << " ports attached, "
	    << r.ports_detached << " detached";
	if (r.maps.learned_reclaimed)
		out << "; " << r.maps.learned_reclaimed
		    << " learned entries reclaimed (aged, or behind a VTEP that left)";
	out << '\n';
}

} // namespace ovx
