#include "loader/segmenter.h"

#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "loader/rtnl.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {
namespace {

// FNV-1a: stable across builds and hosts, so every ovx finds the same name.
std::uint32_t name_hash(const std::string &s)
{
	std::uint32_t h = 2166136261u;
	for (unsigned char c : s)
		h = (h ^ c) * 16777619u;
	return h;
}

// Legacy ethtool commands (ETHTOOL_STXCSUM, ETHTOOL_SGRO): one value each.
void set_offload(const std::string &ifname, std::uint32_t cmd, const char *what)
{
	ethtool_value ev{.cmd = cmd, .data = 0};
	ifreq ifr{};
	std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
	ifr.ifr_data = reinterpret_cast<char *>(&ev);
	UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (!sock || ioctl(sock.get(), SIOCETHTOOL, &ifr))
		throw SystemError("STT segmenter " + ifname + ": cannot turn " + what + " off",
				  errno);
}

void put_link(nlmsghdr *nlh, const std::string &name, bool up)
{
	auto *ifm = static_cast<ifinfomsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
	ifm->ifi_flags = up ? IFF_UP : 0;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
	// Whatever MTU the VMs have: their segments are as large as their MSS.
	mnl_attr_put_u32(nlh, IFLA_MTU, ETH_MAX_MTU);
}

// Up, with an alias that names its instance in `ip link`.
void set_up(const std::string &name, const std::string &alias)
{
	std::vector<char> buf;
	nlmsghdr *nlh = rtnl_message(buf, RTM_NEWLINK, NLM_F_ACK);
	put_link(nlh, name, true);
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias.c_str());
	if (int err = rtnl_request(nlh))
		throw SystemError("STT segmenter " + name + ": cannot set it up", err);
}

int ifindex_of(const std::string &name)
{
	return static_cast<int>(if_nametoindex(name.c_str()));
}

} // namespace

std::string segmenter_name(const std::string &instance)
{
	char name[IF_NAMESIZE];
	std::snprintf(name, sizeof(name), "ovxseg%08x", name_hash(instance));
	return name;
}

Segmenter ensure_segmenter(const std::string &instance)
{
	const std::string name = segmenter_name(instance), peer = name + "r";
	Segmenter seg{ifindex_of(name), ifindex_of(peer)};
	if (seg.send_ifindex && seg.return_ifindex)
		return seg;
	if (seg.send_ifindex || seg.return_ifindex)
		remove_segmenter(instance); // half of one: make it again

	const std::string alias = "ovx " + instance + ": STT segmenter";
	std::vector<char> buf;
	nlmsghdr *nlh = rtnl_message(buf, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	put_link(nlh, name, false);
	nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	nlattr *peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	put_link(nlh, peer, false); // a peer cannot come up before its veth is whole
	mnl_attr_nest_end(nlh, peer_info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	if (int err = rtnl_request(nlh))
		throw SystemError("cannot create the STT segmenter " + name + "/" + peer, err);
	try {
		set_offload(name, ETHTOOL_STXCSUM, "transmit checksumming");
		set_offload(peer, ETHTOOL_SGRO, "GRO");
		set_up(name, alias + " (send)");
		set_up(peer, alias + " (return)");
		seg = {ifindex_of(name), ifindex_of(peer)};
		if (!seg.send_ifindex || !seg.return_ifindex)
			throw SystemError("STT segmenter " + name + " vanished after its creation",
					  ENODEV);
	} catch (...) {
		remove_segmenter(instance);
		throw;
	}
	return seg;
}

bool remove_segmenter(const std::string &instance)
{
	const std::string name = segmenter_name(instance);
	bool removed = false;
	// Deleting one side of a veth takes the other with it; the return side
	// is asked too, in case only it is left.
	for (const std::string &side : {name, name + "r"}) {
		std::vector<char> buf;
		nlmsghdr *nlh = rtnl_message(buf, RTM_DELLINK, NLM_F_ACK);
		mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg));
		mnl_attr_put_strz(nlh, IFLA_IFNAME, side.c_str());
		const int err = rtnl_request(nlh);
		if (err && err != ENODEV)
			throw SystemError("cannot remove the STT segmenter " + side, err);
		removed |= !err;
	}
	return removed;
}

} // namespace ovx
