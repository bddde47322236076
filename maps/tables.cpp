#include "maps/tables.h"

namespace ovx {

Tables Tables::open(const std::function<UniqueFd(std::string_view)> &open)
{
	const auto &map = open;
	return Tables{
		.config = {map("ovx_config"), "ovx_config"},
		.vni = {map("ovx_vni"), "ovx_vni"},
		.segments = {map("ovx_segments"), "ovx_segments"},
		.seg_names = {map("ovx_seg_names"), "ovx_seg_names"},
		.ports = {map("ovx_ports"), "ovx_ports"},
		.fdb = {map("ovx_fdb"), "ovx_fdb"},
		.flood_ports = {map("ovx_flood_ports"), "ovx_flood_ports"},
		.flood_vteps = {map("ovx_flood_vteps"), "ovx_flood_vteps"},
		.vteps = {map("ovx_vteps"), "ovx_vteps"},
		.seg_stats = {map("ovx_seg_stats"), "ovx_seg_stats"},
		.port_stats = {map("ovx_port_stats"), "ovx_port_stats"},
		.trace = {map("ovx_trace"), "ovx_trace"},
		.stt_slots = {map("ovx_stt_slots"), "ovx_stt_slots"},
		.tx_scratch = {map("ovx_tx_scratch"), "ovx_tx_scratch"},
		.learned = {map("ovx_learned"), "ovx_learned"},
		.rx_vteps = {map("ovx_rx_vteps"), "ovx_rx_vteps"},
		.nexthops = {map("ovx_nexthops"), "ovx_nexthops"},
		.dp_stats = {map("ovx_dp_stats"), "ovx_dp_stats"},
		.learn_seen = {map("ovx_learn_seen"), "ovx_learn_seen"},
		.port_devmap = {map("ovx_port_devmap"), "ovx_port_devmap"},
	};
}

int Tables::fd(std::string_view name) const
{
	const std::pair<std::string_view, int> fds[] = {
		{"ovx_config", config.fd()},	       {"ovx_vni", vni.fd()},
		{"ovx_segments", segments.fd()},       {"ovx_seg_names", seg_names.fd()},
		{"ovx_ports", ports.fd()},	       {"ovx_fdb", fdb.fd()},
		{"ovx_flood_ports", flood_ports.fd()}, {"ovx_flood_vteps", flood_vteps.fd()},
		{"ovx_vteps", vteps.fd()},	       {"ovx_seg_stats", seg_stats.fd()},
		{"ovx_port_stats", port_stats.fd()},   {"ovx_trace", trace.fd()},
		{"ovx_stt_slots", stt_slots.fd()},     {"ovx_tx_scratch", tx_scratch.fd()},
		{"ovx_learned", learned.fd()},	       {"ovx_rx_vteps", rx_vteps.fd()},
		{"ovx_nexthops", nexthops.fd()},       {"ovx_dp_stats", dp_stats.fd()},
		{"ovx_learn_seen", learn_seen.fd()},   {"ovx_port_devmap", port_devmap.fd()},
	};
	for (const auto &[n, fd] : fds)
		if (n == name)
			return fd;
	return -1;
}

std::vector<ovx_port_stats> Tables::port_stats_of(std::uint32_t ifindex) const
{
	const auto port = ports.lookup(ifindex);
	if (!port || port->index == OVX_PORT_NONE)
		return {};
	return port_stats.lookup(port->index);
}

} // namespace ovx
