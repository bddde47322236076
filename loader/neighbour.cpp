#include "loader/neighbour.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "maps/error.h"

namespace ovx {
namespace {

struct SocketCloser {
	void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};

// One RTM_NEWNEIGH/RTM_DELNEIGH request, acknowledged; returns the errno.
int neigh_request(std::uint16_t type, std::uint16_t flags, int ifindex, int family,
		  const std::array<std::uint8_t, 16> &addr, bool managed)
{
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = static_cast<std::uint32_t>(getpid());
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = static_cast<std::uint8_t>(family);
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NONE;
	mnl_attr_put(nlh, NDA_DST, family == AF_INET ? 4 : 16, addr.data());
	if (managed)
		mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);

	std::unique_ptr<mnl_socket, SocketCloser> nl(mnl_socket_open(NETLINK_ROUTE));
	if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		throw SystemError("cannot open rtnetlink socket", errno);
	if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
		throw SystemError("rtnetlink send failed", errno);
	ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
	if (n < 0)
		throw SystemError("rtnetlink receive failed", errno);
	if (mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq,
		       mnl_socket_get_portid(nl.get()), nullptr, nullptr) < 0)
		return errno;
	return 0;
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
