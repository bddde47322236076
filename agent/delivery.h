// How frames from the underlay reach each local port: by XDP_REDIRECT
// through ovx_port_devmap, skipping the skb, or by TC (tc_underlay's
// bpf_redirect()). Decided at every apply, the agents' periodic pass among
// them: a port's side of it changes without ovx (GRO or an XDP program
// switched on or off in the VM's namespace).
#pragma once

#include <cstdint>
#include <map>
#include <set>

#include "agent/config.h"
#include "maps/tables.h"

namespace ovx {

struct DeliveryState {
	std::set<std::uint32_t> xdp; // ports in ovx_port_devmap now
	std::size_t added = 0;	     // ports that moved to XDP_REDIRECT
	std::size_t removed = 0;     // ports that moved to TC (or went)

	bool operator==(const DeliveryState &) const = default;
};

// ovx_port_devmap made to hold the ports of @ports (ifindex -> what the file
// asks) that take XDP_REDIRECT: the underlay runs native XDP (@mode, made
// concrete), the kernel says the port takes XDP frames (takes_xdp_frames()),
// and the file asks `xdp` for the port, or `auto` on an underlay that is no
// veth (@underlay_veth). Generic XDP has made an skb already, which TC
// delivers as cheaply; in mode tc no XDP runs at all.
// Why not on a veth underlay by default: its frames come from this host's
// own namespaces, where a sender's checksum offload leaves the inner TCP or
// UDP checksum to be filled in later (CHECKSUM_PARTIAL), a fact only the skb
// carries. XDP_REDIRECT hands on the bytes without the skb, and the VM would
// drop the segment as corrupt; TC delivery keeps the skb. Frames from a
// NIC's wire carry their checksums in the bytes.
DeliveryState refresh_delivery(Tables &t, XdpMode mode, bool underlay_veth,
			       const std::map<std::uint32_t, Delivery> &ports);

// "xdp-redirect" or "tc": what `show` says of a port.
const char *delivery_path(bool xdp);

} // namespace ovx
