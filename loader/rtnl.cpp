#include "loader/rtnl.h"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "maps/error.h"

namespace ovx {
namespace {

struct SocketCloser {
	void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};

// Sends @nlh on @bus and runs @cb over the answer; the result of mnl_cb_run().
int exchange(int bus, nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	const std::string what = bus == NETLINK_ROUTE ? "rtnetlink" : "generic netlink";
	std::unique_ptr<mnl_socket, SocketCloser> nl(mnl_socket_open(bus));
	if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
		throw SystemError("cannot open " + what + " socket", errno);
	if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
		throw SystemError(what + " send failed", errno);
	std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
	const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
	if (n < 0)
		throw SystemError(what + " receive failed", errno);
	return mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq,
			  mnl_socket_get_portid(nl.get()), cb, data);
}

} // namespace

nlmsghdr *rtnl_message(std::vector<char> &buf, std::uint16_t type, std::uint16_t flags)
{
	buf.assign(MNL_SOCKET_BUFFER_SIZE, 0);
	nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
	nlh->nlmsg_seq = static_cast<std::uint32_t>(getpid());
	return nlh;
}

int rtnl_request(nlmsghdr *nlh)
{
	return exchange(NETLINK_ROUTE, nlh, nullptr, nullptr) < 0 ? errno : 0;
}

namespace {

// libmnl's attribute callback, for an AttrFn in @f.
int call_attr_fn(const nlattr *a, void *f)
{
	(*static_cast<const AttrFn *>(f))(a);
	return MNL_CB_OK;
}

bool query(int bus, nlmsghdr *nlh, std::size_t header_len, const AttrFn &attr)
{
	struct Ctx {
		std::size_t header_len;
		const AttrFn *attr;
	} ctx{header_len, &attr};
	auto on_msg = [](const nlmsghdr *msg, void *data) -> int {
		const auto *c = static_cast<const Ctx *>(data);
		for_each_attr(msg, c->header_len, *c->attr);
		return MNL_CB_OK;
	};
	return exchange(bus, nlh, on_msg, &ctx) >= 0;
}

} // namespace

void for_each_attr(const nlmsghdr *nlh, std::size_t header_len, const AttrFn &f)
{
	mnl_attr_parse(nlh, static_cast<unsigned>(header_len), call_attr_fn, const_cast<AttrFn *>(&f));
}

void for_each_nested(const nlattr *a, const AttrFn &f)
{
	mnl_attr_parse_nested(a, call_attr_fn, const_cast<AttrFn *>(&f));
}

bool rtnl_query(nlmsghdr *nlh, std::size_t header_len, const AttrFn &attr)
{
	return query(NETLINK_ROUTE, nlh, header_len, attr);
}

bool genl_query(nlmsghdr *nlh, const AttrFn &attr)
{
	return query(NETLINK_GENERIC, nlh, GENL_HDRLEN, attr);
}

} // namespace ovx
