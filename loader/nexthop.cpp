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

std::optional<MacBytes> next_hop_mac(int ifindex, std::uint32_t dst)
{
	std::vector<char> buf;
	nlmsghdr *nlh = rtnl_message(buf, RTM_GETROUTE, 0);
	auto *rtm = static_cast<rtmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put_u32(nlh, RTA_DST, dst);
	int oif = 0;
	std::uint32_t hop = dst;
	if (!rtnl_query(nlh, sizeof(rtmsg), [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == RTA_OIF)
			    oif = static_cast<int>(mnl_attr_get_u32(a));
		    else if (mnl_attr_get_type(a) == RTA_GATEWAY)
			    hop = mnl_attr_get_u32(a);
	    }))
		return std::nullopt;
	if (oif != ifindex)
		return std::nullopt;

	nlh = rtnl_message(buf, RTM_GETNEIGH, 0);
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = AF_INET;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put_u32(nlh, NDA_DST, hop);
	std::optional<MacBytes> mac;
	if (!rtnl_query(nlh, sizeof(ndmsg), [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == NDA_LLADDR && mnl_attr_get_payload_len(a) == 6) {
			    MacBytes m;
			    std::memcpy(m.data(), mnl_attr_get_payload(a), 6);
			    mac = m;
		    }
	    }))
		return std::nullopt;
	// An entry still resolving (INCOMPLETE, FAILED) carries no address.
	return mac;
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
