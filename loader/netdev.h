// Facts about, and the few settings ovx makes on, network interfaces.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "maps/unique_fd.h"

namespace ovx {

std::uint32_t interface_mtu(const std::string &ifname);

// The name of @ifindex in this namespace, "if<N>" once it is gone.
std::string interface_name(std::uint32_t ifindex);

// "veth", "virtio_net", ...: for messages that name what refused.
std::string interface_driver(const std::string &ifname);

// net.ipv{4,6}.conf.IFNAME.forwarding for @family (AF_INET, AF_INET6).
// bpf_fib_lookup(), which fills in the underlay MACs of encapsulated frames,
// answers only for interfaces with forwarding on; ovx turns it on for the
// underlay's families and back off at `down`.
bool ip_forwarding(const std::string &ifname, int family);
void set_ip_forwarding(const std::string &ifname, int family, bool on);

// Whether @ifindex takes frames another interface's XDP program redirects
// to it (ndo_xdp_xmit), as the kernel says in its xdp_features
// (NETDEV_XDP_ACT_NDO_XMIT, generic netlink family "netdev", Linux 6.3 on):
// set on a tap always, and on a veth while its peer, in whatever namespace,
// runs an XDP program or has GRO on (its NAPI, which takes such frames).
// False when the kernel cannot say (older kernels, the interface gone).
bool takes_xdp_frames(int ifindex);

// The kernel's notices of interfaces whose xdp_features changed (family
// "netdev", group "mgmt", NETDEV_CMD_DEV_CHANGE_NTF), for a poll loop: a port
// whose peer turns GRO or an XDP program on or off changes what
// takes_xdp_frames() says at once, not at the next periodic pass. fd() is -1
// when the kernel has no such family (poll() skips it).
class XdpFeaturesWatch {
public:
	XdpFeaturesWatch(); // throws SystemError when the socket fails
	int fd() const { return sock_.get(); }
	// The interfaces named by the notices read now (non-blocking); 0 among
	// them when notices were lost (the socket's buffer overflowed).
	std::set<int> read();

private:
	UniqueFd sock_;
};

} // namespace ovx
