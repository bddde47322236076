#include "loader/netdev.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>

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

} // namespace

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
