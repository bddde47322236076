#include "loader/nexthop.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "loader/rtnl.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {

std::optional<NextHop> next_hop(int family, const std::array<std::uint8_t, 16> &dst)
{
	const std::size_t alen = family == AF_INET6 ? 16 : 4;
	std::vector<char> buf;
	nlmsghdr *nlh = rtnl_message(buf, RTM_GETROUTE, 0);
	auto *rtm = static_cast<rtmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
	rtm->rtm_family = static_cast<unsigned char>(family);
	rtm->rtm_dst_len = static_cast<unsigned char>(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, dst.data());
	NextHop hop;
	hop.via = dst;
	if (!rtnl_query(nlh, sizeof(rtmsg), [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == RTA_OIF)
			    hop.ifindex = static_cast<int>(mnl_attr_get_u32(a));
		    else if (mnl_attr_get_type(a) == RTA_GATEWAY &&
			     mnl_attr_get_payload_len(a) == alen)
			    std::memcpy(hop.via.data(), mnl_attr_get_payload(a), alen);
	    }))
		return std::nullopt;
	if (!hop.ifindex)
		return std::nullopt;

	nlh = rtnl_message(buf, RTM_GETNEIGH, 0);
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = static_cast<unsigned char>(family);
	ndm->ndm_ifindex = hop.ifindex;
	mnl_attr_put(nlh, NDA_DST, alen, hop.via.data());
	bool resolved = false;
	if (!rtnl_query(nlh, sizeof(ndmsg), [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == NDA_LLADDR && mnl_attr_get_payload_len(a) == 6) {
			    std::memcpy(hop.dmac.data(), mnl_attr_get_payload(a), 6);
			    resolved = true;
		    }
	    }))
		return std::nullopt;
	// An entry still resolving (INCOMPLETE, FAILED) carries no address.
	if (!resolved)
		return std::nullopt;
	return hop;
}

std::optional<MacBytes> next_hop_mac(int ifindex, std::uint32_t dst)
{
	std::array<std::uint8_t, 16> addr{};
	std::memcpy(addr.data(), &dst, 4);
	const auto hop = next_hop(AF_INET, addr);
	if (!hop || hop->ifindex != ifindex)
		return std::nullopt;
	return hop->dmac;
}

MacBytes interface_mac(int ifindex)
{
	ifreq ifr{};
	if (!if_indextoname(static_cast<unsigned>(ifindex), ifr.ifr_name))
		throw SystemError("no interface with ifindex " + std::to_string(ifindex), errno);
	UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!sock || ioctl(sock.get(), SIOCGIFHWADDR, &ifr))
		throw SystemError(std::string("interface ") + ifr.ifr_name + ": cannot read its MAC", errno);
	MacBytes mac;
	std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
	return mac;
}

} // namespace ovx
