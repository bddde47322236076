#include "agent/status.h"

#include "loader/dataplane.h"
#include "loader/netdev.h"
#include "loader/permissions.h"
#include "maps/map.h"
#include "maps/tables.h"

namespace ovx {
bool StatusView::healthy() const
{
	if (!pinned || abi_pinned != abi_binary || hooks.empty())
		return false;
	for (const HookStatus &h : hooks)
		if (!h.attached)
			return false;
	return true;
}

StatusView status(const std::string &instance)
{
	StatusView v;
	v.instance = instance;
	v.pin_dir = Dataplane::instance_dir(instance);
	v.abi_binary = OVX_ABI_VERSION;
	v.agent = agent_state(instance);
	const auto abi = Dataplane::pinned_abi(instance);
	if (!abi)
		return v;
	v.pinned = true;
	v.abi_pinned = *abi;
	if (*abi != OVX_ABI_VERSION)
		return v; // another layout: nothing below could be read right

	auto dp = Dataplane::open(instance, !can_read_programs());
	const Tables &t = dp->tables();
	for (auto [p, name] : {std::pair{Program::xdp_underlay, "xdp_underlay"},
			       {Program::tc_underlay, "tc_underlay"}, {Program::tc_port, "tc_port"}})
		if (const std::uint32_t id = dp->program_id(p))
			v.programs.push_back({name, id});

	const auto cfg = t.config.lookup(0);
	const std::uint32_t underlay = cfg ? cfg->underlay_ifindex : 0;
	if (underlay && !(cfg->flags & OVX_CFG_TC_ONLY)) { // mode tc: no XDP hook to have
		const auto att = dp->xdp_attachment(static_cast<int>(underlay));
		v.hooks.push_back({"xdp", interface_name(underlay), "xdp_underlay", att.has_value(),
				   att ? attach_mode_name(att->mode) : "none",
				   att && att->dispatcher});
	}
	if (underlay) {
		v.hooks.push_back({"tc ingress", interface_name(underlay), "tc_underlay",
				   dp->tc_attached(static_cast<int>(underlay), Program::tc_underlay),
				   "", false});
	}
	std::size_t active = 0;
	for (const auto &[sid, seg] : t.segments.dump())
		active += (seg.flags & OVX_SEG_ACTIVE) != 0;
	std::size_t indexed = 0; // ports with a counter slot: not the segmenter's
	for (const auto &[ifindex, port] : t.ports.dump()) {
		v.hooks.push_back({"tc ingress", interface_name(ifindex), "tc_port",
				   dp->tc_attached(static_cast<int>(ifindex), Program::tc_port), "",
				   false});
		indexed += port.index != OVX_PORT_NONE;
	}

	auto hashed = [&](const auto &map) {
		v.maps.push_back({map.name(), map.count(), map.max_entries()});
	};
	hashed(t.vni);
	v.maps.push_back({t.segments.name(), active, t.segments.max_entries()});
	hashed(t.ports);
	hashed(t.fdb);
	hashed(t.flood_ports);
	hashed(t.flood_vteps);
	hashed(t.vteps);
	// slot 0 is never a port's
	v.maps.push_back({t.port_stats.name(), indexed, t.port_stats.max_entries() - 1});
	hashed(t.port_devmap);
	return v;
}

} // namespace ovx
