#include "agent/inspect.h"

#include "agent/offload.h"

#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "agent/delivery.h"
#include "agent/desired.h"
#include "agent/offload.h"
#include "agent/reconcile.h"
#include "loader/netdev.h"
#include "maps/error.h"
#include "maps/stats.h"

namespace ovx {
namespace {

std::string c_string(const char (&s)[OVX_NAME_LEN])
{
	return std::string(s, strnlen(s, OVX_NAME_LEN));
}

// The counters of the slots of @array that @want names (slot -> position),
// summed over CPUs, to @visit(position, sum): one batched read of the whole
// array (a syscall per 4096 slots) when many are wanted; when few are, a
// lookup each copies far less than every slot times the CPUs.
template <typename V, typename Visit>
void read_counters(const PerCpuArray<V> &array, const std::map<std::uint32_t, std::size_t> &want,
		   Visit visit)
{
	if (want.size() * 8 < array.max_entries()) {
		for (const auto &[slot, i] : want)
			visit(i, sum_per_cpu(array.lookup(slot)));
		return;
	}
	array.for_each([&](std::uint32_t slot, const std::vector<V> &per_cpu) {
		if (auto it = want.find(slot); it != want.end())
			visit(it->second, sum_per_cpu(per_cpu));
	});
}

} // namespace

const char *drop_reason_name(unsigned reason)
{
	static const char *const names[OVX_DROP_MAX] = {
		"malformed",	     "unknown_vni",	"not_our_vtep",	  "unknown_vtep",
		"spoofed_src",	     "unsupported_flags", "no_route",	  "mtu_exceeded",
		"no_port",	     "split_horizon",	"fragment",	  "not_configured",
		"tx_error",	     "hairpin",		"unsupported_proto", "critical_option",
		"reassembly",	     "map_full",	"vlan_tags",
	};
	return reason < OVX_DROP_MAX ? names[reason] : "unknown";
}

StateView inspect(const Dataplane &dp, bool with_fdb)
{
	const Tables &t = dp.tables();
	StateView v;
	v.instance = dp.instance();
	if (auto cfg = t.config.lookup(0)) {
		v.underlay_ifindex = static_cast<int>(cfg->underlay_ifindex);
		v.underlay = cfg->underlay_ifindex ? interface_name(cfg->underlay_ifindex) : "";
		v.underlay_mtu = cfg->underlay_mtu;
		v.vtep = from_abi(cfg->vtep4);
		v.vtep6 = from_abi(cfg->vtep6);
		v.vxlan_port = ntohs(cfg->vxlan_port);
		v.geneve_port = ntohs(cfg->geneve_port);
		v.trace = (cfg->flags & OVX_CFG_TRACE_ALL)     ? "all"
			  : (cfg->flags & OVX_CFG_TRACE_DROPS) ? "drops"
							       : "off";
	}
	const XdpAttachment att = v.underlay_ifindex
					  ? dp.xdp_attachment(v.underlay_ifindex).value_or(XdpAttachment{})
					  : XdpAttachment{};
	const auto cfg = t.config.lookup(0);
	// Mode offload runs the host program natively beside the NIC's one,
	// whose pins say that the mode is offload; export and the imperative
	// verbs (which re-apply what this says) must not make it native.
	std::error_code ec;
	if (cfg && (cfg->flags & OVX_CFG_TC_ONLY))
		v.xdp_mode = xdp_mode_name(XdpMode::tc);
	else if (!att.mode)
		v.xdp_mode = "none";
	else if (att.mode == XDP_ATTACHED_DRV &&
		 std::filesystem::exists(offload_dir(dp.instance()), ec))
		v.xdp_mode = xdp_mode_name(XdpMode::offload);
	else
		v.xdp_mode = attach_mode_name(att.mode);
	const std::uint64_t now = monotonic_ns();
	for (const auto &[addr, nh] : t.nexthops.dump()) {
		NextHopView h;
		h.vtep = from_abi(addr);
		h.interface = interface_name(nh.ifindex);
		std::memcpy(h.mac.data(), nh.hdr + OVX_NEXTHOP_DMAC, h.mac.size());
		h.live = now < nh.expires_ns;
		v.nexthops.push_back(std::move(h));
	}
	v.datapath = sum_per_cpu(t.dp_stats.lookup(0));

	std::map<std::uint32_t, std::size_t> index; // segment id -> v.segments
	const auto names = t.seg_names.dump();
	for (const auto &[sid, seg] : t.segments.dump()) {
		if (!(seg.flags & OVX_SEG_ACTIVE))
			continue;
		SegmentView s;
		s.sid = sid;
		s.name = c_string(names[sid].second.name);
		s.tenant = c_string(names[sid].second.tenant);
		s.encap = static_cast<ovx_encap>(seg.encap);
		s.id = seg.id;
		s.learning = seg.flags & OVX_SEG_LEARNING;
		s.aging_sec = seg.aging_sec;
		s.learn_max = seg.learn_max;
		s.inner_mtu = seg.inner_mtu;
		s.ports.resize(seg.n_ports);
		s.flood.resize(seg.n_vteps);
		index[sid] = v.segments.size();
		v.segments.push_back(std::move(s));
	}
	v.unassigned = sum_per_cpu(t.seg_stats.lookup(0));
	read_counters(t.seg_stats, index, [&](std::size_t i, const ovx_seg_stats &sum) {
		v.segments[i].stats = sum;
	});
	auto segment_name = [&](std::uint32_t sid) {
		auto it = index.find(sid);
		return it == index.end() ? "#" + std::to_string(sid) : v.segments[it->second].name;
	};

	for (const auto &[k, port] : t.flood_ports.dump()) {
		auto it = index.find(k.segment);
		if (it != index.end() && k.index < v.segments[it->second].ports.size())
			v.segments[it->second].ports[k.index] = interface_name(port.ifindex);
	}
	for (const auto &[k, addr] : t.flood_vteps.dump()) {
		auto it = index.find(k.segment);
		if (it != index.end() && k.index < v.segments[it->second].flood.size())
			v.segments[it->second].flood[k.index] = from_abi(addr);
	}
	std::set<std::uint32_t> redirected;
	for (const auto &[ifindex, value] : t.port_devmap.dump())
		redirected.insert(ifindex);
	for (const auto &[ifindex, port] : t.ports.dump()) {
		if (!port.segment) // the STT segmenter's return side, not a VM's port
			continue;
		PortView p;
		p.delivery = delivery_path(redirected.contains(ifindex));
		p.interface = interface_name(ifindex);
		p.ifindex = static_cast<int>(ifindex);
		p.segment = segment_name(port.segment);
		auto it = index.find(port.segment);
		if (it != index.end())
			p.tenant = v.segments[it->second].tenant;
		std::memcpy(p.mac.data(), port.mac, 6);
		p.index = port.index;
		v.ports.push_back(std::move(p));
	}
	std::sort(v.ports.begin(), v.ports.end(),
		  [](const PortView &a, const PortView &b) { return a.interface < b.interface; });
	std::map<std::uint32_t, std::size_t> by_index;
	for (std::size_t i = 0; i < v.ports.size(); i++)
		if (v.ports[i].index != OVX_PORT_NONE)
			by_index[v.ports[i].index] = i;
	read_counters(t.port_stats, by_index, [&](std::size_t i, const ovx_port_stats &sum) {
		v.ports[i].stats = sum;
	});

	v.fdb_capacity = t.fdb.max_entries();
	if (with_fdb)
		for_each_fdb(dp, [&](const FdbView &f) { v.fdb.push_back(f); });
	return v;
}

void for_each_fdb(const Dataplane &dp, const std::function<void(const FdbView &)> &visit)
{
	const Tables &t = dp.tables();
	struct Seg {
		std::string name;
		std::uint32_t aging_sec;
	};
	std::map<std::uint32_t, Seg> segs;
	const auto names = t.seg_names.dump();
	for (const auto &[sid, seg] : t.segments.dump())
		if (seg.flags & OVX_SEG_ACTIVE)
			segs[sid] = Seg{c_string(names[sid].second.name), seg.aging_sec};
	std::map<std::uint32_t, std::string> ifnames; // a handful of ports, a million lookups
	auto port_name = [&](std::uint32_t ifindex) -> const std::string & {
		auto it = ifnames.find(ifindex);
		if (it == ifnames.end())
			it = ifnames.emplace(ifindex, interface_name(ifindex)).first;
		return it->second;
	};
	const std::uint64_t now = monotonic_ns();
	t.fdb.for_each([&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		FdbView f;
		auto seg = segs.find(k.segment);
		f.segment = seg != segs.end() ? seg->second.name : "#" + std::to_string(k.segment);
		std::memcpy(f.mac.data(), k.mac, 6);
		f.is_port = e.kind == OVX_FDB_PORT;
		if (f.is_port) {
			f.port = port_name(e.ifindex);
			f.asked = (e.flags & OVX_FDB_ASKED_XDP)	 ? Delivery::xdp
				  : (e.flags & OVX_FDB_ASKED_TC) ? Delivery::tc
								 : Delivery::automatic;
		} else
			f.vtep = from_abi(e.vtep);
		f.learned = e.flags & OVX_FDB_LEARNED;
		if (f.learned) {
			f.age_sec = now > e.seen_ns ? static_cast<double>(now - e.seen_ns) / 1e9 : 0;
			f.expired = seg != segs.end() && seg->second.aging_sec &&
				    f.age_sec > seg->second.aging_sec;
		}
		f.forwarding = e.flags & OVX_FDB_FORWARD;
		if (f.forwarding && e.forward_until_ns > now)
			f.forward_sec = static_cast<double>(e.forward_until_ns - now) / 1e9;
		visit(f);
	});
}

FdbCensus count_fdb(const Tables &t)
{
	FdbCensus c;
	const auto start = std::chrono::steady_clock::now();
	t.fdb.for_each([&](const ovx_fdb_key &k, const ovx_fdb_entry &) {
		c.by_segment[k.segment]++;
		c.total++;
	});
	c.scan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
				 .count();
	return c;
}

namespace {

template <typename M> MapFill count_entries(const M &map)
{
	MapFill f{map.name(), 0, map.max_entries()};
	map.for_each([&](const auto &, const auto &) { f.entries++; });
	return f;
}

} // namespace

void add_fill(StateView &v, const Tables &t, const FdbCensus &fdb)
{
	for (auto &s : v.segments) {
		auto it = fdb.by_segment.find(s.sid);
		s.fdb_entries = it == fdb.by_segment.end() ? 0 : it->second;
	}
	v.maps = {
		count_entries(t.vni),
		// id 0 is never a segment
		{t.segments.name(), v.segments.size(), t.segments.max_entries() - 1},
		{t.ports.name(), v.ports.size(), t.ports.max_entries()},
		{t.fdb.name(), fdb.total, t.fdb.max_entries()},
		count_entries(t.flood_ports),
		count_entries(t.flood_vteps),
		count_entries(t.vteps),
		// slot 0 is never a port's
		{t.port_stats.name(), v.ports.size(), t.port_stats.max_entries() - 1},
	};
}

} // namespace ovx
