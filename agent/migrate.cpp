// The only place that knows the map layouts of older ABI versions: how to
// read them, and what they become in the current one.
#include "agent/migrate.h"

#include <netinet/in.h>

#include <cstring>
#include <set>
#include <string_view>
#include <vector>

#include "maps/error.h"

namespace ovx {
namespace {

// ABI v1 (ovx up to git 954cadd). Every other map has the v2 layout.
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
static_assert(kV1Drops <= OVX_DROP_MAX);

// Maps v2 changed (config, seg_stats) or added (port_stats, trace): made
// new; the rest are shared with the running programs as they are.
const std::set<std::string_view> kV1Replaced = {"ovx_config", "ovx_seg_stats",
						"ovx_port_stats", "ovx_trace",
						"ovx_stt_slots", "ovx_tx_scratch"};

ovx_config config_from_v1(const ovx_config_v1 &old)
{
	ovx_config c{};
	c.abi_version = OVX_ABI_VERSION;
	c.underlay_ifindex = old.underlay_ifindex;
	c.underlay_mtu = old.underlay_mtu;
	c.vxlan_port = old.vxlan_port;
	c.geneve_port = htons(OVX_GENEVE_PORT);
	c.flags = old.flags;
	c.vtep4 = old.vtep;
	c.encaps = 1u << OVX_ENCAP_VXLAN; // v1 knew nothing else
	return c;
}

ovx_seg_stats stats_from_v1(const ovx_seg_stats_v1 &old)
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
	std::memcpy(s.drops, old.drops, sizeof(old.drops));
	return s;
}

// Fills the fresh v2 maps from the pinned v1 ones. Counters the old
// programs add between this copy and the switch are lost: a few packets'
// worth, never an FDB entry (the FDB is shared, not copied).
void fill_from_v1(const std::string &instance, Tables &t)
{
	RawMap old_config(Dataplane::pinned_fd(instance, "ovx_config"), "ovx_config (v1)");
	check_map_sizes(old_config.name(), old_config.key_size(), old_config.value_size(), 4,
			sizeof(ovx_config_v1));
	ovx_config_v1 c{};
	const std::uint32_t zero = 0;
	if (old_config.lookup(&zero, &c))
		t.config.update(0, config_from_v1(c));

	PerCpuArray<ovx_seg_stats_v1> old_stats(Dataplane::pinned_fd(instance, "ovx_seg_stats"),
						"ovx_seg_stats (v1)");
	for (std::uint32_t sid = 0; sid < old_stats.max_entries(); sid++) {
		const auto per_cpu = old_stats.lookup(sid);
		std::vector<ovx_seg_stats> converted;
		bool any = false;
		for (const auto &v : per_cpu) {
			converted.push_back(stats_from_v1(v));
			any = any || v.rx_packets || v.tx_packets || v.local_packets ||
			      v.flood_copies || v.learned;
			for (unsigned r = 0; r < kV1Drops; r++)
				any = any || v.drops[r];
		}
		if (any)
			t.seg_stats.update(sid, converted);
	}
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
	if (*abi != 1)
		throw ConfigError("instance '" + instance + "' has " + have +
				  " pins, and ovx migrates from v1 only: 'ovx down' with the old "
				  "binary, then apply again");
	if (!migrate)
		throw ConfigError("instance '" + instance + "' has " + have +
				  " pins: 'ovx upgrade --migrate' carries them over to v" +
				  std::to_string(OVX_ABI_VERSION) +
				  " (FDB, learned entries, ports, segments and counters kept)");
	return Dataplane::replace_programs(
		instance, [](std::string_view name) { return !kV1Replaced.contains(name); },
		[&](Tables &t) { fill_from_v1(instance, t); });
}

} // namespace ovx
