#include "loader/neighbour.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <string>
#include <vector>

#include "loader/rtnl.h"
#include "maps/error.h"

namespace ovx {
namespace {

// One RTM_NEWNEIGH/RTM_DELNEIGH request, acknowledged; returns the errno.
int neigh_request(std::uint16_t type, std::uint16_t flags, int ifindex, int family,
		  const std::array<std::uint8_t, 16> &addr, bool managed)
{
	std::vector<char> buf;
	nlmsghdr *nlh = rtnl_message(buf, type, NLM_F_ACK | flags);
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = static_cast<std::uint8_t>(family);
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NONE;
	mnl_attr_put(nlh, NDA_DST, family == AF_INET ? 4 : 16, addr.data());
	if (managed)
		mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
	return rtnl_request(nlh);
}

} // namespace

void add_managed_neighbour(int ifindex, int family, const std::array<std::uint8_t, 16> &addr)
{
	int err = neigh_request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, family,
				addr, true);
	if (err)
		throw SystemError("ifindex " + std::to_string(ifindex) +
					  ": cannot add managed neighbour for a VTEP",
				  err);
}

void del_managed_neighbour(int ifindex, int family, const std::array<std::uint8_t, 16> &addr)
{
	int err = neigh_request(RTM_DELNEIGH, 0, ifindex, family, addr, false);
	if (err && err != ENOENT && err != ENODEV)
		throw SystemError("ifindex " + std::to_string(ifindex) +
					  ": cannot remove managed neighbour",
				  err);
}

} // namespace ovx
