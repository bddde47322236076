#include "loader/netdev.h"

#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "loader/rtnl.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {
namespace {

ifreq request_for(const std::string &ifname)
{
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	return ifr;
}

std::string forwarding_path(const std::string &ifname, int family)
{
	// /proc/sys/net follows the caller's network namespace, unlike /sys.
	return std::string("/proc/sys/net/") + (family == AF_INET6 ? "ipv6" : "ipv4") + "/conf/" +
	       ifname + "/forwarding";
}

// The "netdev" generic netlink family (include/uapi/linux/netdev.h, which
// Debian 12's kernel headers predate).
constexpr std::uint8_t kNetdevCmdDevGet = 1;
constexpr std::uint16_t kNetdevAttrIfindex = 1;
constexpr std::uint16_t kNetdevAttrXdpFeatures = 3;
constexpr std::uint64_t kXdpActNdoXmit = 1u << 2;

nlmsghdr *genl_message(std::vector<char> &buf, std::uint16_t family, std::uint8_t cmd)
{
	nlmsghdr *nlh = rtnl_message(buf, family, 0);
	auto *genl = static_cast<genlmsghdr *>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
	genl->cmd = cmd;
	genl->version = 1;
	return nlh;
}

// The id of the generic netlink family @name; nullopt when the kernel has none.
std::optional<std::uint16_t> genl_family(const char *name)
{
	std::vector<char> buf;
	nlmsghdr *nlh = genl_message(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, name);
	std::optional<std::uint16_t> id;
	if (!genl_query(nlh, [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID)
			    id = mnl_attr_get_u16(a);
	    }))
		return std::nullopt;
	return id;
}

} // namespace

bool takes_xdp_frames(int ifindex)
{
	// Fixed while the kernel runs: asked once per process, not per port.
	static const auto family = genl_family("netdev");
	if (!family)
		return false;
	std::vector<char> buf;
	nlmsghdr *nlh = genl_message(buf, *family, kNetdevCmdDevGet);
	mnl_attr_put_u32(nlh, kNetdevAttrIfindex, static_cast<std::uint32_t>(ifindex));
	std::uint64_t features = 0;
	if (!genl_query(nlh, [&](const nlattr *a) {
		    if (mnl_attr_get_type(a) == kNetdevAttrXdpFeatures)
			    features = mnl_attr_get_u64(a);
	    }))
		return false;
	return features & kXdpActNdoXmit;
}

std::string interface_name(std::uint32_t ifindex)
{
	char name[IF_NAMESIZE] = {};
	if (!if_indextoname(ifindex, name))
		return "if" + std::to_string(ifindex);
	return name;
}

std::uint32_t interface_mtu(const std::string &ifname)
{
	UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	ifreq ifr = request_for(ifname);
	if (!sock || ioctl(sock.get(), SIOCGIFMTU, &ifr))
		throw SystemError("interface " + ifname + ": cannot read its MTU", errno);
	return static_cast<std::uint32_t>(ifr.ifr_mtu);
}

std::string interface_driver(const std::string &ifname)
{
	UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	ethtool_drvinfo info{};
	info.cmd = ETHTOOL_GDRVINFO;
	ifreq ifr = request_for(ifname);
	ifr.ifr_data = reinterpret_cast<char *>(&info);
	if (!sock || ioctl(sock.get(), SIOCETHTOOL, &ifr))
		return "unknown";
	return info.driver;
}

bool ip_forwarding(const std::string &ifname, int family)
{
	const std::string path = forwarding_path(ifname, family);
	std::ifstream in(path);
	int value = 0;
	if (!(in >> value))
		throw SystemError("interface " + ifname + ": cannot read " + path);
	return value != 0;
}

void set_ip_forwarding(const std::string &ifname, int family, bool on)
{
	const std::string path = forwarding_path(ifname, family);
	std::ofstream out(path);
	out << (on ? "1\n" : "0\n");
	out.flush();
	if (!out)
		throw SystemError("interface " + ifname + ": cannot write " + path);
}

} // namespace ovx
