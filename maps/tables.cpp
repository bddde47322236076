#include "maps/tables.h"

namespace ovx {

Tables Tables::open(const std::function<UniqueFd(std::string_view)> &open)
{
	auto map = [&](std::string_view name) { return open(name); };
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
	};
}

} // namespace ovx
