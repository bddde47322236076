// One rtnetlink request at a time, over libmnl: the few link, neighbour and
// route requests ovx makes, and the generic netlink ones (netdev features).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

struct nlattr;
struct nlmsghdr;

namespace ovx {

// A handler of one attribute: for_each_attr(), for_each_nested() and the
// queries hand it each attribute in turn.
using AttrFn = std::function<void(const nlattr *)>;

// Each attribute of @nlh, after its fixed @header_len bytes (libmnl's
// mnl_attr_parse()), to @f.
void for_each_attr(const nlmsghdr *nlh, std::size_t header_len, const AttrFn &f);

// Each attribute nested in @a (mnl_attr_parse_nested()) to @f.
void for_each_nested(const nlattr *a, const AttrFn &f);

// A request header in @buf (MNL_SOCKET_BUFFER_SIZE bytes) of @type with
// NLM_F_REQUEST | @flags.
nlmsghdr *rtnl_message(std::vector<char> &buf, std::uint16_t type, std::uint16_t flags);

// Sends @nlh, which asks for an acknowledgement (NLM_F_ACK); returns 0 or
// the kernel's errno. Throws SystemError when the socket itself fails.
int rtnl_request(nlmsghdr *nlh);

// Sends @nlh and hands each attribute of the answer, after its fixed
// @header_len bytes, to @attr; false when the kernel answers with an error.
bool rtnl_query(nlmsghdr *nlh, std::size_t header_len, const AttrFn &attr);

// rtnl_query() over generic netlink (NETLINK_GENERIC): @nlh of a family's
// id, its struct genlmsghdr first; the answer's attributes follow theirs.
bool genl_query(nlmsghdr *nlh, const AttrFn &attr);

} // namespace ovx
