// The only place that knows the map layouts of older ABI versions: how to
// read them, and what they become in the current one.
#include "agent/migrate.h"

#include <netinet/in.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <type_traits>
#include <string_view>
#include <vector>

#include "agent/desired.h"
#include "maps/error.h"

namespace ovx {
namespace {

// The layouts of ABI v2 (ovx up to git 85c3d77) that v3 changed: the config
// gained the receive cookie and the FDB's learning limit, the segment
// its learning limit, the counters learn_refused and the vlan_tags reason;
// ovx_learned is new.
struct ovx_config_v2 {
	__u32 abi_version;
	__u32 underlay_ifindex;
	__u32 underlay_mtu;
	__be16 vxlan_port;
	__be16 geneve_port;
	__u16 flags;
	__u16 encaps;
	struct ovx_addr vtep4;
	struct ovx_addr vtep6;
};
static_assert(sizeof(ovx_config_v2) == 60, "v2 ovx_config layout");

struct ovx_segment_v2 {
	__u64 id;
	__u8 encap;
	__u8 flags;
	__u16 n_ports;
	__u16 n_vteps;
	__u16 inner_mtu;
	__u32 aging_sec;
	__u32 gso_ifindex;
};
static_assert(sizeof(ovx_segment_v2) == 24, "v2 ovx_segment layout");

// v2's drop reasons are v3's first 18, in the same order.
constexpr unsigned kV2Drops = 18;
struct ovx_seg_stats_v2 {
	__u64 rx_packets, rx_bytes, tx_packets, tx_bytes;
	__u64 local_packets, local_bytes, flood_copies, learned;
	__u64 stt_segments, stt_reassembled;
	__u64 drops[kV2Drops];
};
static_assert(sizeof(ovx_seg_stats_v2) == 8 * (10 + kV2Drops), "v2 ovx_seg_stats layout");
static_assert(kV2Drops <= OVX_DROP_MAX);

const std::set<std::string_view> kV2Replaced = {"ovx_config", "ovx_segments", "ovx_seg_stats",
						"ovx_learned"};

// ABI v1 (ovx up to git 954cadd): config and counters of their own; every
// other map has the v2 layout.
struct ovx_config_v1 {
	__u32 abi_version;
	__u32 underlay_ifindex;
	__u32 underlay_mtu;
	__be16 vxlan_port;
	__u16 flags;
	struct ovx_addr vtep;
};
static_assert(sizeof(ovx_config_v1) == 36, "v1 ovx_config layout");

// v1's drop reasons are v2's first 14, in the same order.
constexpr unsigned kV1Drops = 14;
struct ovx_seg_stats_v1 {
	__u64 rx_packets, rx_bytes, tx_packets, tx_bytes;
	__u64 local_packets, local_bytes, flood_copies, learned;
	__u64 drops[kV1Drops];
};
static_assert(sizeof(ovx_seg_stats_v1) == 8 * (8 + kV1Drops), "v1 ovx_seg_stats layout");

// Maps v2 changed (config, seg_stats) or added (port_stats, trace): made
// new; the rest are shared with the running programs as they are.
const std::set<std::string_view> kV1Replaced = {"ovx_config", "ovx_seg_stats",
						"ovx_port_stats", "ovx_trace",
						"ovx_stt_slots", "ovx_tx_scratch"};

// Maps v4 added: made fresh in every migration. The receive lookup is
// filled from the VNIs and members below; the next hops by the next apply
// (until then the FIB path serves, counted as misses).
const std::set<std::string_view> kV4Added = {"ovx_rx_vteps", "ovx_nexthops", "ovx_dp_stats",
					     "ovx_learn_seen"};

// v4's receive lookup, from the (encap, id) -> segment and (segment, VTEP)
// maps every version has. Before the switch, so that no frame of a member
// meets a lookup that is not there yet.
void fill_rx_vteps(Tables &t)
{
	std::map<std::uint32_t, ovx_vni_key> by_segment;
	for (const auto &[k, sid] : t.vni.dump())
		by_segment[sid] = k;
	for (const auto &[k, one] : t.vteps.dump()) {
		auto it = by_segment.find(k.segment);
		if (it != by_segment.end())
			t.rx_vteps.update(rx_key(static_cast<ovx_encap>(it->second.encap),
						 it->second.id, k.addr),
					  k.segment);
	}
}

// Maps v5 added or changed: made fresh in every migration, filled by fill_v5.
// Port counters became an array by port index (from a hash by ifindex), and
// the flood lists' members carry the index. ovx_port_devmap starts empty:
// every port takes the TC delivery, as under the old programs, until the
// next apply (an agent's periodic pass, or `ovx apply`) decides which ports
// take XDP_REDIRECT; deciding needs the file's `delivery` keys, which a
// migration does not read.
const std::set<std::string_view> kV5Fresh = {"ovx_port_stats", "ovx_flood_ports",
					     "ovx_port_devmap"};

// What v5 adds to the maps every older version (@from) has. Runs after the
// version's own conversion, before the switch. Every port gets an index, in
// ovx_ports and its FDB entry, written in place: both maps are shared with
// the running programs, which never read that field. Counters the old
// programs add between the copy and the switch are lost (a few packets'
// worth), as with the segments' in older migrations.
void fill_v5(const std::string &instance, Tables &t, int from)
{
	std::map<std::uint32_t, std::uint16_t> index;
	std::uint16_t next = 1;
	for (auto [ifindex, port] : t.ports.dump()) {
		if (!port.segment) // the segmenter's return side: no counters
			continue;
		if (next >= OVX_MAX_PORTS)
			throw SystemError("ovx_ports: more ports than v" +
						  std::to_string(OVX_ABI_VERSION) + " numbers (" +
						  std::to_string(OVX_MAX_PORTS - 1) + ")",
					  ENOSPC);
		port.index = index[ifindex] = next++;
		t.ports.update(ifindex, port);
	}
	std::vector<std::pair<ovx_fdb_key, ovx_fdb_entry>> numbered; // not while iterating
	t.fdb.for_each([&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		if (auto it = index.find(e.ifindex); e.kind == OVX_FDB_PORT && it != index.end()) {
			numbered.emplace_back(k, e);
			numbered.back().second.port = it->second;
		}
	});
	for (const auto &[k, e] : numbered)
		t.fdb.update(k, e);
	Map<ovx_flood_key, std::uint32_t> old_flood(
		Dataplane::pinned_fd(instance, "ovx_flood_ports"), "ovx_flood_ports (v4)");
	for (const auto &[k, ifindex] : old_flood.dump()) {
		auto it = index.find(ifindex);
		t.flood_ports.update(k, ovx_flood_port{ifindex,
						       it == index.end() ? std::uint16_t{OVX_PORT_NONE}
									 : it->second,
						       0});
	}
	if (from < 2) // v1 counted no ports
		return;
	PerCpuMap<std::uint32_t, ovx_port_stats> old_stats(
		Dataplane::pinned_fd(instance, "ovx_port_stats"), "ovx_port_stats (v4)");
	old_stats.for_each([&](std::uint32_t ifindex, const std::vector<ovx_port_stats> &per_cpu) {
		if (auto it = index.find(ifindex); it != index.end())
			t.port_stats.update(it->second, per_cpu);
	});
}

// Maps v6 changed: made fresh in every migration. Next hops carry their
// outer header template; the next apply (or an agent's next-hop refresh)
// writes them, and until then the FIB path serves, counted as misses.
const std::set<std::string_view> kV6Fresh = {"ovx_nexthops"};

// v3's to v5's config is v6's but for its version.
void copy_current_config(const std::string &instance, Tables &t, const char *name)
{
	Map<std::uint32_t, ovx_config> old_config(Dataplane::pinned_fd(instance, "ovx_config"), name);
	if (auto c = old_config.lookup(0)) {
		c->abi_version = OVX_ABI_VERSION;
		t.config.update(0, *c);
	}
}

void fill_from_v5(const std::string &instance, Tables &t)
{
	copy_current_config(instance, t, "ovx_config (v5)");
}

void fill_from_v4(const std::string &instance, Tables &t)
{
	copy_current_config(instance, t, "ovx_config (v4)");
	fill_v5(instance, t, 4);
}

void fill_from_v3(const std::string &instance, Tables &t)
{
	copy_current_config(instance, t, "ovx_config (v3)");
	fill_rx_vteps(t);
	fill_v5(instance, t, 3);
}

// What v3 adds to a config: a fresh cookie, and the FDB's learning limit for
// the static entries it holds (the next apply sets it from the file).
void complete_config(ovx_config &c, const Tables &t)
{
	std::size_t statics = 0;
	t.fdb.for_each([&](const ovx_fdb_key &, const ovx_fdb_entry &e) {
		statics += (e.flags & OVX_FDB_STATIC) != 0;
	});
	c.abi_version = OVX_ABI_VERSION;
	set_cookie(c, std::nullopt);
	c.learn_max = fdb_learn_max(t.fdb.max_entries(), statics);
}

ovx_config config_from_v2(const ovx_config_v2 &old)
{
	ovx_config c{};
	c.underlay_ifindex = old.underlay_ifindex;
	c.underlay_mtu = old.underlay_mtu;
	c.vxlan_port = old.vxlan_port;
	c.geneve_port = old.geneve_port;
	c.flags = old.flags;
	c.encaps = old.encaps;
	c.vtep4 = old.vtep4;
	c.vtep6 = old.vtep6;
	return c;
}

ovx_config config_from_v1(const ovx_config_v1 &old)
{
	ovx_config c{};
	c.underlay_ifindex = old.underlay_ifindex;
	c.underlay_mtu = old.underlay_mtu;
	c.vxlan_port = old.vxlan_port;
	c.geneve_port = htons(OVX_GENEVE_PORT);
	c.flags = old.flags;
	c.vtep4 = old.vtep;
	c.encaps = 1u << OVX_ENCAP_VXLAN; // v1 knew nothing else
	return c;
}

template <typename Old> ovx_seg_stats stats_from(const Old &old)
{
	ovx_seg_stats s{};
	s.rx_packets = old.rx_packets;
	s.rx_bytes = old.rx_bytes;
	s.tx_packets = old.tx_packets;
	s.tx_bytes = old.tx_bytes;
	s.local_packets = old.local_packets;
	s.local_bytes = old.local_bytes;
	s.flood_copies = old.flood_copies;
	s.learned = old.learned;
	if constexpr (requires { old.stt_segments; }) {
		s.stt_segments = old.stt_segments;
		s.stt_reassembled = old.stt_reassembled;
	}
	std::memcpy(s.drops, old.drops, sizeof(old.drops));
	return s;
}

template <typename Old> void copy_config(const std::string &instance, Tables &t, const char *name)
{
	RawMap old_config(Dataplane::pinned_fd(instance, "ovx_config"), name);
	check_map_sizes(old_config.name(), old_config.key_size(), old_config.value_size(), 4,
			sizeof(Old));
	Old old{};
	const std::uint32_t zero = 0;
	if (!old_config.lookup(&zero, &old))
		return;
	ovx_config c = [&] {
		if constexpr (std::is_same_v<Old, ovx_config_v1>)
			return config_from_v1(old);
		else
			return config_from_v2(old);
	}();
	complete_config(c, t);
	t.config.update(0, c);
}

template <typename Old> void copy_stats(const std::string &instance, Tables &t, const char *name)
{
	PerCpuArray<Old> old_stats(Dataplane::pinned_fd(instance, "ovx_seg_stats"), name);
	for (std::uint32_t sid = 0; sid < old_stats.max_entries(); sid++) {
		const auto per_cpu = old_stats.lookup(sid);
		std::vector<ovx_seg_stats> converted;
		bool any = false;
		for (const auto &v : per_cpu) {
			converted.push_back(stats_from(v));
			any = any || !std::all_of(reinterpret_cast<const __u64 *>(&v),
						  reinterpret_cast<const __u64 *>(&v + 1),
						  [](__u64 x) { return x == 0; });
		}
		if (any)
			t.seg_stats.update(sid, converted);
	}
}

// What v1 and v2 share and v3 changed: segments (the learning limit, the
// FDB's default), the learned-entry counts (from the FDB as it is: entries
// the old programs learn until the switch stay uncounted, which only lets a
// segment learn a few more) and the VTEPs that may start an STT reassembly.
void convert_v2_common(const std::string &instance, Tables &t)
{
	const std::uint32_t limit = default_learn_limit(t.fdb.max_entries());
	Map<std::uint32_t, ovx_segment_v2> old_segments(
		Dataplane::pinned_fd(instance, "ovx_segments"), "ovx_segments (v2)");
	std::set<std::uint32_t> stt;
	for (const auto &[sid, old] : old_segments.dump()) {
		if (!(old.flags & OVX_SEG_ACTIVE))
			continue;
		ovx_segment seg{};
		seg.id = old.id;
		seg.encap = old.encap;
		seg.flags = old.flags;
		seg.n_ports = old.n_ports;
		seg.n_vteps = old.n_vteps;
		seg.inner_mtu = old.inner_mtu;
		seg.aging_sec = old.aging_sec;
		seg.gso_ifindex = old.gso_ifindex;
		seg.learn_max = limit;
		t.segments.update(sid, seg);
		if (old.encap == OVX_ENCAP_STT)
			stt.insert(sid);
	}
	std::map<std::uint32_t, std::uint64_t> learned;
	t.fdb.for_each([&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		if (e.flags & OVX_FDB_LEARNED)
			learned[k.segment]++;
	});
	for (const auto &[sid, n] : learned) {
		t.learned.add(sid, n);
		t.learned.add(0, n);
	}
	for (const auto &[k, one] : t.vteps.dump())
		if (stt.contains(k.segment))
			t.vteps.update(ovx_vtep_key{0, k.addr}, 1);
}

void fill_from_v2(const std::string &instance, Tables &t)
{
	copy_config<ovx_config_v2>(instance, t, "ovx_config (v2)");
	copy_stats<ovx_seg_stats_v2>(instance, t, "ovx_seg_stats (v2)");
	convert_v2_common(instance, t);
	fill_rx_vteps(t);
	fill_v5(instance, t, 2);
}

// Fills the fresh maps from the pinned v1 ones. Counters the old programs
// add between this copy and the switch are lost: a few packets' worth,
// never an FDB entry (the FDB is shared, not copied).
void fill_from_v1(const std::string &instance, Tables &t)
{
	copy_config<ovx_config_v1>(instance, t, "ovx_config (v1)");
	copy_stats<ovx_seg_stats_v1>(instance, t, "ovx_seg_stats (v1)");
	convert_v2_common(instance, t);
	fill_rx_vteps(t);
	fill_v5(instance, t, 1);
}

} // namespace

std::optional<ProgramSwap> upgrade_instance(const std::string &instance, bool migrate)
{
	const auto abi = Dataplane::pinned_abi(instance);
	if (!abi)
		return std::nullopt;
	const std::string have = "map ABI v" + std::to_string(*abi);
	if (*abi == OVX_ABI_VERSION || *abi == 0)
		return Dataplane::replace_programs(
			instance, [](std::string_view) { return true; }, [](Tables &) {});
	if (*abi > OVX_ABI_VERSION)
		throw ConfigError("instance '" + instance + "' was pinned by a newer ovx (" + have +
				  ", this one speaks v" + std::to_string(OVX_ABI_VERSION) +
				  "): use that ovx, or 'ovx down' and apply again");
	if (*abi < 1 || *abi > 5)
		throw ConfigError("instance '" + instance + "' has " + have +
				  " pins, and ovx migrates from v1 to v5 only: 'ovx down' with the "
				  "old binary, then apply again");
	if (!migrate)
		throw ConfigError("instance '" + instance + "' has " + have +
				  " pins: 'ovx upgrade --migrate' carries them over to v" +
				  std::to_string(OVX_ABI_VERSION) +
				  " (FDB, learned entries, ports, segments and counters kept)");
	// Which pinned maps the new programs share as they are (the rest are
	// made fresh), and how the fresh ones are filled from the old.
	const auto fresh = [v = *abi](std::string_view name) {
		return name == "ovx_config" || kV6Fresh.contains(name) ||
		       (v < 5 && kV5Fresh.contains(name)) ||
		       (v < 4 && kV4Added.contains(name)) || (v < 3 && kV2Replaced.contains(name)) ||
		       (v < 2 && kV1Replaced.contains(name));
	};
	const auto shared = [fresh](std::string_view name) { return !fresh(name); };
	switch (*abi) {
	case 5:
		return Dataplane::replace_programs(instance, shared,
						   [&](Tables &t) { fill_from_v5(instance, t); });
	case 4:
		return Dataplane::replace_programs(instance, shared,
						   [&](Tables &t) { fill_from_v4(instance, t); });
	case 3:
		return Dataplane::replace_programs(instance, shared,
						   [&](Tables &t) { fill_from_v3(instance, t); });
	case 2:
		return Dataplane::replace_programs(instance, shared,
						   [&](Tables &t) { fill_from_v2(instance, t); });
	default:
		return Dataplane::replace_programs(instance, shared,
						   [&](Tables &t) { fill_from_v1(instance, t); });
	}
}

} // namespace ovx
