#include "loader/nexthop.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {
namespace {

struct SocketCloser {
	void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};

// Sends one rtnetlink request and hands each attribute of the answer to
// @attr; false when the kernel answers with an error (no route, no entry).
bool query(nlmsghdr *nlh, std::size_t header_len, const std::function<void(const nlattr *)> &attr)
{
	std::unique_ptr<mnl_socket, SocketCloser> nl(mnl_socket_open(NETLINK_ROUTE));
	if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		throw SystemError("cannot open rtnetlink socket", errno);
	if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
		throw SystemError("rtnetlink send failed", errno);
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
	if (n < 0)
		throw SystemError("rtnetlink receive failed", errno);
	struct Ctx {
		std::size_t header_len;
		const std::function<void(const nlattr *)> *attr;
	} ctx{header_len, &attr};
	auto on_msg = [](const nlmsghdr *msg, void *data) -> int {
		auto *c = static_cast<Ctx *>(data);
		mnl_attr_parse(msg, static_cast<unsigned>(c->header_len),
			       [](const nlattr *a, void *f) -> int {
				       (*static_cast<const std::function<void(const nlattr *)> *>(f))(a);
				       return MNL_CB_OK;
			       },
			       const_cast<std::function<void(const nlattr *)> *>(c->attr));
		return MNL_CB_OK;
	};
	return mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq,
			  mnl_socket_get_portid(nl.get()), on_msg, &ctx) >= 0;
}

nlmsghdr *request(std::vector<char> &buf, std::uint16_t type)
{
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = static_cast<std::uint32_t>(getpid());
	return nlh;
}

} // namespace

std::optional<MacBytes> next_hop_mac(int ifindex, std::uint32_t dst)
{
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	nlmsghdr *nlh = request(buf, RTM_GETROUTE);
	auto *rtm = static_cast<rtmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put_u32(nlh, RTA_DST, dst);
	int oif = 0;
	std::uint32_t hop = dst;
	if (!query(nlh, sizeof(rtmsg), [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == RTA_OIF)
			    oif = static_cast<int>(mnl_attr_get_u32(a));
		    else if (mnl_attr_get_type(a) == RTA_GATEWAY)
			    hop = mnl_attr_get_u32(a);
	    }))
		return std::nullopt;
	if (oif != ifindex)
		return std::nullopt;

	nlh = request(buf, RTM_GETNEIGH);
	auto *ndm = static_cast<ndmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
	ndm->ndm_family = AF_INET;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put_u32(nlh, NDA_DST, hop);
	std::optional<MacBytes> mac;
	if (!query(nlh, sizeof(ndmsg), [&](const nlattr *a) {
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
