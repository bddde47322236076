#include "agent/desired.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "maps/error.h"

namespace ovx {

ovx_addr to_abi(const IpAddr &addr)
{
	ovx_addr out{};
	out.family = static_cast<std::uint8_t>(addr.family);
	if (addr.family)
		std::memcpy(out.a, addr.bytes.data(), addr.family == AF_INET ? 4 : 16);
	return out;
}

IpAddr from_abi(const ovx_addr &addr)
{
	IpAddr out;
	out.family = addr.family;
	if (addr.family)
		std::memcpy(out.bytes.data(), addr.a, addr.family == AF_INET ? 4 : 16);
	return out;
}

ovx_vni_key vni_key(ovx_encap encap, std::uint64_t id)
{
	ovx_vni_key key{};
	key.id = id;
	key.encap = static_cast<std::uint8_t>(encap);
	return key;
}

ovx_rx_key rx_key(ovx_encap encap, std::uint64_t id, const ovx_addr &src)
{
	ovx_rx_key key{};
	key.id = id;
	key.encap = static_cast<std::uint8_t>(encap);
	key.src = src;
	return key;
}

std::uint32_t encap_overhead(ovx_encap encap, int family)
{
	std::uint32_t tun = 0;
	switch (encap) {
	case OVX_ENCAP_VXLAN:
		tun = OVX_VXLAN_HLEN;
		break;
	case OVX_ENCAP_GENEVE:
		tun = OVX_GENEVE_HLEN;
		break;
	case OVX_ENCAP_NVGRE:
		tun = OVX_NVGRE_HLEN;
		break;
	case OVX_ENCAP_STT:
		tun = OVX_STT_HLEN;
		break;
	}
	return (family == AF_INET6 ? OVX_OUTER_IPV6 : OVX_OUTER_IPV4) + tun;
}

std::uint32_t inner_mtu(std::uint32_t underlay_mtu, ovx_encap encap, int family)
{
	// The inner Ethernet header rides in the underlay's IP payload too, so
	// it comes off the inner IP MTU with the encapsulation's headers.
	const std::uint32_t overhead = encap_overhead(encap, family) + OVX_OUTER_ETH;
	return underlay_mtu > overhead ? underlay_mtu - overhead : 0;
}

namespace {

void copy_name(char (&dst)[OVX_NAME_LEN], const std::string &src)
{
	std::memset(dst, 0, sizeof(dst));
	std::memcpy(dst, src.data(), std::min(src.size(), sizeof(dst) - 1));
}

ovx_fdb_key fdb_key(std::uint32_t segment, const Mac &mac)
{
	ovx_fdb_key key{};
	key.segment = segment;
	std::memcpy(key.mac, mac.data(), mac.size());
	return key;
}

ovx_fdb_entry static_entry(ovx_fdb_kind kind)
{
	ovx_fdb_entry e{};
	e.kind = static_cast<std::uint8_t>(kind);
	e.flags = OVX_FDB_STATIC;
	return e;
}

// The lowest numbers from 1 up that @in_use does not hold, below @limit;
// @what names them in the error when none is left.
class IdAllocator {
public:
	IdAllocator(const std::map<std::uint32_t, bool> &in_use, std::uint32_t limit,
		    std::string what, std::string things)
		: in_use_(in_use), limit_(limit), what_(std::move(what)), things_(std::move(things))
	{
	}
	std::uint32_t next()
	{
		while (next_ < limit_ && (in_use_.contains(next_) || taken_.contains(next_)))
			next_++;
		if (next_ >= limit_)
			throw ConfigError("no free " + what_ + ": at most " +
					  std::to_string(limit_ - 1) + " " + things_);
		taken_[next_] = true;
		return next_++;
	}
	void take(std::uint32_t id) { taken_[id] = true; }

private:
	const std::map<std::uint32_t, bool> &in_use_;
	std::uint32_t limit_;
	std::string what_, things_;
	std::map<std::uint32_t, bool> taken_;
	std::uint32_t next_ = 1;
};

// Every port's index: the one it has in @current, or one no port in
// @current holds (a removed port's slot is reused only once a later apply
// has zeroed it, never while frames may still count into it).
std::map<std::uint32_t, std::uint16_t>
assign_port_indexes(const Config &config, const Resolved &resolved,
	     const std::map<std::uint32_t, std::uint16_t> &current)
{
	std::map<std::uint32_t, bool> held;
	for (const auto &[ifindex, index] : current)
		if (index != OVX_PORT_NONE)
			held[index] = true;
	IdAllocator ids(held, OVX_MAX_PORTS, "port index", "ports");
	std::map<std::uint32_t, std::uint16_t> out;
	std::vector<std::uint32_t> fresh;
	for (const Segment &s : config.segments)
		for (const Port &port : s.ports) {
			const auto ifindex = static_cast<std::uint32_t>(
				resolved.port_ifindex.at(port.interface));
			auto it = current.find(ifindex);
			if (it != current.end() && it->second != OVX_PORT_NONE)
				out[ifindex] = it->second;
			else
				fresh.push_back(ifindex);
		}
	for (std::uint32_t ifindex : fresh)
		out[ifindex] = static_cast<std::uint16_t>(ids.next());
	return out;
}

} // namespace

DesiredState build_desired(const Config &config, const Resolved &resolved,
			   const AbiMap<ovx_vni_key, std::uint32_t> &current_vni,
			   const std::map<std::uint32_t, bool> &in_use,
			   const std::map<std::uint32_t, std::uint16_t> &current_ports)
{
	DesiredState d;
	d.config.abi_version = OVX_ABI_VERSION;
	d.config.underlay_ifindex = static_cast<std::uint32_t>(resolved.underlay_ifindex);
	d.config.underlay_mtu = resolved.underlay_mtu;
	d.config.vxlan_port = htons(config.underlay.vxlan_port);
	d.config.geneve_port = htons(config.underlay.geneve_port);
	d.config.vtep4 = to_abi(config.underlay.address4);
	d.config.vtep6 = to_abi(config.underlay.address6);
	for (const Segment &s : config.segments)
		d.config.encaps |= static_cast<std::uint16_t>(1u << s.encap);

	IdAllocator ids(in_use, OVX_MAX_SEGMENTS, "segment id", "segments");
	const auto port_index = assign_port_indexes(config, resolved, current_ports);
	std::vector<std::uint32_t> seg_ids;
	for (const Segment &s : config.segments) {
		auto it = current_vni.find(vni_key(s.encap, s.id));
		seg_ids.push_back(it != current_vni.end() ? it->second : 0);
		if (seg_ids.back())
			ids.take(seg_ids.back());
	}
	for (auto &id : seg_ids)
		if (!id)
			id = ids.next();

	for (std::size_t i = 0; i < config.segments.size(); i++) {
		const Segment &s = config.segments[i];
		const std::uint32_t sid = seg_ids[i];

		ovx_segment seg{};
		seg.id = s.id;
		seg.encap = static_cast<std::uint8_t>(s.encap);
		seg.flags = OVX_SEG_ACTIVE | (s.learning ? OVX_SEG_LEARNING : 0);
		seg.n_ports = static_cast<std::uint16_t>(s.ports.size());
		seg.n_vteps = static_cast<std::uint16_t>(s.flood.size());
		// A segment without VTEPs yet gets the smaller MTU of the two.
		const int family = s.vtep_family() ? s.vtep_family()
				   : config.underlay.address6.family ? AF_INET6 : AF_INET;
		seg.inner_mtu = static_cast<std::uint16_t>(
			inner_mtu(resolved.underlay_mtu, s.encap, family));
		seg.aging_sec = s.aging_sec;
		seg.learn_max = s.learn_limit ? *s.learn_limit
					      : default_learn_limit(config.limits.fdb_entries);
		d.segments[sid] = seg;

		ovx_seg_name name{};
		copy_name(name.name, s.name);
		copy_name(name.tenant, s.tenant);
		d.names[sid] = name;
		d.vni[vni_key(s.encap, s.id)] = sid;

		for (std::uint32_t p = 0; p < s.ports.size(); p++) {
			const Port &port = s.ports[p];
			const auto ifindex = static_cast<std::uint32_t>(
				resolved.port_ifindex.at(port.interface));
			const std::uint16_t index = port_index.at(ifindex);
			ovx_port value{};
			value.segment = sid;
			std::memcpy(value.mac, port.mac.data(), 6);
			value.index = index;
			d.ports[ifindex] = value;
			d.flood_ports[ovx_flood_key{sid, p}] = ovx_flood_port{ifindex, index, 0};

			ovx_fdb_entry e = static_entry(OVX_FDB_PORT);
			e.ifindex = ifindex;
			e.port = index;
			e.flags |= port.delivery == Delivery::xdp  ? OVX_FDB_ASKED_XDP
				   : port.delivery == Delivery::tc ? OVX_FDB_ASKED_TC
								   : 0;
			d.fdb[fdb_key(sid, port.mac)] = e;
		}
		// Segment 0 holds the VTEPs that may take an STT reassembly slot
		// before their frame's first segment names its segment.
		auto member = [&](const IpAddr &vtep) {
			d.vteps[ovx_vtep_key{sid, to_abi(vtep)}] = 1;
			d.rx_vteps[rx_key(s.encap, s.id, to_abi(vtep))] = sid;
			if (s.encap == OVX_ENCAP_STT)
				d.vteps[ovx_vtep_key{0, to_abi(vtep)}] = 1;
		};
		for (std::uint32_t f = 0; f < s.flood.size(); f++) {
			d.flood_vteps[ovx_flood_key{sid, f}] = to_abi(s.flood[f]);
			member(s.flood[f]);
		}
		for (const Remote &r : s.remotes) {
			ovx_fdb_entry e = static_entry(OVX_FDB_VTEP);
			e.vtep = to_abi(r.vtep);
			if (r.forward_until_ns) {
				e.flags |= OVX_FDB_FORWARD;
				e.forward_until_ns = r.forward_until_ns;
			}
			d.fdb[fdb_key(sid, r.mac)] = e;
			member(r.vtep);
		}
	}
	d.config.learn_max = fdb_learn_max(config.limits.fdb_entries, d.fdb.size());
	return d;
}

std::uint32_t default_learn_limit(std::uint32_t fdb_entries)
{
	return std::max<std::uint32_t>(fdb_entries / 4, 1);
}

std::uint32_t fdb_learn_max(std::uint32_t fdb_entries, std::size_t statics)
{
	const std::size_t keep = statics + fdb_entries / 16;
	return keep >= fdb_entries ? 0 : static_cast<std::uint32_t>(fdb_entries - keep);
}

DesiredState build_desired(const Config &config, const Resolved &resolved, const Tables &tables)
{
	AbiMap<ovx_vni_key, std::uint32_t> vni;
	for (auto &[k, v] : tables.vni.dump())
		vni.emplace(k, v);
	std::map<std::uint32_t, bool> in_use;
	for (auto &[sid, seg] : tables.segments.dump())
		if (seg.flags & OVX_SEG_ACTIVE)
			in_use[sid] = true;
	// Learning limits follow the FDB as made, whatever the file says now.
	Config sized = config;
	sized.limits.fdb_entries = tables.fdb.max_entries();
	DesiredState d = build_desired(sized, resolved, vni, in_use, port_indexes(tables.ports.dump()));
	set_cookie(d.config, tables.config.lookup(0));
	return d;
}

namespace {

template <typename K, typename V>
bool same_entries(const AbiMap<K, V> &a, const AbiMap<K, V> &b)
{
	return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto &x, const auto &y) {
		return same_bytes(x.first, y.first) && same_bytes(x.second, y.second);
	});
}

} // namespace

bool delta_applicable(const DesiredState &a, const DesiredState &b)
{
	ovx_config ca = a.config, cb = b.config;
	ca.learn_max = cb.learn_max = 0;
	auto flood_count_aside = [](AbiMap<std::uint32_t, ovx_segment> segments) {
		for (auto &[sid, seg] : segments)
			seg.n_vteps = 0;
		return segments;
	};
	const bool members_only_join =
		std::all_of(a.vteps.begin(), a.vteps.end(), [&](const auto &v) {
			auto it = b.vteps.find(v.first);
			return it != b.vteps.end() && same_bytes(it->second, v.second);
		});
	return same_bytes(ca, cb) &&
	       same_entries(flood_count_aside(a.segments), flood_count_aside(b.segments)) &&
	       same_entries(a.names, b.names) && same_entries(a.vni, b.vni) &&
	       same_entries(a.ports, b.ports) && same_entries(a.flood_ports, b.flood_ports) &&
	       members_only_join;
}

void set_cookie(ovx_config &c, const std::optional<ovx_config> &current)
{
	if (current && (current->cookie[0] | current->cookie[1])) {
		c.cookie[0] = current->cookie[0];
		c.cookie[1] = current->cookie[1];
		return;
	}
	std::random_device rd;
	do {
		c.cookie[0] = rd();
		c.cookie[1] = rd();
	} while (!(c.cookie[0] | c.cookie[1]));
}

} // namespace ovx
