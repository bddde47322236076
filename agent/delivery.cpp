#include "agent/delivery.h"

#include "loader/netdev.h"

namespace ovx {

DeliveryState refresh_delivery(Tables &t, XdpMode mode, bool underlay_veth,
			       const std::map<std::uint32_t, Delivery> &ports)
{
	DeliveryState state;
	const Delivery wanted = underlay_veth ? Delivery::xdp : Delivery::automatic;
	if (mode == XdpMode::native)
		for (const auto &[ifindex, delivery] : ports)
			if ((delivery == wanted || delivery == Delivery::xdp) &&
			    takes_xdp_frames(static_cast<int>(ifindex)))
				state.xdp.insert(ifindex);
	for (const auto &[ifindex, value] : t.port_devmap.dump())
		if (!state.xdp.contains(ifindex) && t.port_devmap.erase(ifindex))
			state.removed++;
	for (std::uint32_t ifindex : state.xdp)
		if (!t.port_devmap.lookup(ifindex)) {
			t.port_devmap.update(ifindex, ifindex);
			state.added++;
		}
	// After the devmap, so that a frame that finds the flag finds the port
	// (a miss would only mean TC delivery).
	if (auto cfg = t.config.lookup(0)) {
		const auto flags = static_cast<std::uint16_t>(
			state.xdp.empty() ? cfg->flags & ~OVX_CFG_XDP_PORTS : cfg->flags | OVX_CFG_XDP_PORTS);
		if (flags != cfg->flags) {
			cfg->flags = flags;
			t.config.update(0, *cfg);
		}
	}
	return state;
}

const char *delivery_path(bool xdp)
{
	return xdp ? "xdp-redirect" : "tc";
}

} // namespace ovx
