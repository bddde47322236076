#include "agent/nexthops.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/loop_fds.h"
#include "agent/reconcile.h"
#include "agent/writer_lock.h"
#include "loader/dataplane.h"
#include "loader/netdev.h"
#include "loader/rtnl.h"
#include "maps/error.h"

namespace ovx {
namespace {

// Events come in bursts (a route and its neighbour, a link and its
// routes): one refresh a moment after the first serves them all.
constexpr std::uint64_t kSettleNs = 100'000'000;

std::array<std::uint8_t, 16> bytes_of(const ovx_addr &a)
{
	std::array<std::uint8_t, 16> out{};
	std::memcpy(out.data(), a.a, sizeof(a.a));
	return out;
}

} // namespace

ovx_nexthop make_nexthop(std::uint32_t ifindex, const MacBytes &dmac, const MacBytes &smac,
			 const ovx_addr &src, const ovx_addr &dst, std::uint64_t expires_ns)
{
	ovx_nexthop nh{};
	nh.ifindex = ifindex;
	nh.expires_ns = expires_ns;
	std::memcpy(nh.hdr + OVX_NEXTHOP_DMAC, dmac.data(), 6);
	std::memcpy(nh.hdr + OVX_NEXTHOP_SMAC, smac.data(), 6);
	std::uint8_t *ip = nh.hdr + OVX_NEXTHOP_IP;
	const std::uint16_t type = htons(dst.family == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP);
	std::memcpy(ip - 2, &type, 2);
	if (dst.family == AF_INET6) {
		ip[0] = 0x60;  // version 6
		ip[7] = 64;    // hop limit
		std::memcpy(ip + 8, src.a, 16);
		std::memcpy(ip + 24, dst.a, 16);
		return nh;
	}
	ip[0] = 0x45;  // version 4, 5 words
	ip[6] = 0x40;  // DF: tunnels never fragment
	ip[8] = 64;    // TTL
	std::memcpy(ip + 12, &src.a[0], 4);
	std::memcpy(ip + 16, &dst.a[0], 4);
	// In memory order, as the datapath adds the words it fills in per frame.
	std::uint32_t sum = 0;
	for (int word : {0, 2, 3, 6, 7, 8, 9}) {
		std::uint16_t w;
		std::memcpy(&w, ip + 2 * word, 2);
		sum += w;
	}
	nh.ip_sum = sum;
	return nh;
}

NextHopState refresh_nexthops(Tables &t, std::uint64_t now_ns)
{
	NextHopState state;
	std::map<std::array<std::uint8_t, 20>, ovx_addr> vteps; // by bytes: one per address
	for (const auto &[k, one] : t.vteps.dump()) {
		std::array<std::uint8_t, 20> raw;
		std::memcpy(raw.data(), &k.addr, raw.size());
		vteps.emplace(raw, k.addr);
	}
	std::map<int, MacBytes> own_mac;
	AbiMap<ovx_addr, ovx_nexthop> want;
	auto cfg = t.config.lookup(0);
	for (const auto &[raw, addr] : vteps) {
		const auto hop = next_hop(addr.family, bytes_of(addr));
		if (!hop) {
			state.unresolved++;
			continue;
		}
		auto mac = own_mac.find(hop->ifindex);
		if (mac == own_mac.end())
			mac = own_mac.emplace(hop->ifindex, interface_mac(hop->ifindex)).first;
		const ovx_addr src = !cfg ? ovx_addr{} : addr.family == AF_INET6 ? cfg->vtep6 : cfg->vtep4;
		want[addr] = make_nexthop(static_cast<std::uint32_t>(hop->ifindex), hop->dmac,
					  mac->second, src, addr, now_ns + kNextHopLifetimeNs);
		state.neighbours[{addr.family, hop->via}] = hop->dmac;
		state.egress.insert(hop->ifindex);
	}
	for (const auto &[addr, nh] : want)
		t.nexthops.update(addr, nh);
	state.written = want.size();
	for (const auto &[addr, nh] : t.nexthops.dump())
		if (!want.contains(addr)) {
			t.nexthops.erase(addr);
			state.removed++;
		}

	if (cfg && cfg->underlay_ifindex) {
		const std::uint32_t mtu = interface_mtu(interface_name(cfg->underlay_ifindex));
		if (mtu != cfg->underlay_mtu) {
			cfg->underlay_mtu = mtu;
			t.config.update(0, *cfg);
		}
		state.egress.insert(static_cast<int>(cfg->underlay_ifindex));
	}
	return state;
}

std::optional<NextHopState> refresh_instance_nexthops(const std::string &instance)
{
	const WriterLock writer = WriterLock::take(instance, "ovx agent (next hops)", true);
	std::optional<Dataplane> dp = Dataplane::open(instance);
	if (!dp)
		return std::nullopt;
	return refresh_nexthops(dp->tables(), monotonic_ns());
}

NextHopWatch::NextHopWatch()
    : sock_(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE)),
      alarm_(ovx::alarm_fd())
{
	if (!sock_)
		throw SystemError("cannot open an rtnetlink socket for next-hop events", errno);
	sockaddr_nl sa{};
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if (::bind(sock_.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)))
		throw SystemError("cannot subscribe to neighbour, route and link events", errno);
}

bool NextHopWatch::relevant(const nlmsghdr *nlh) const
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return true;
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const auto *ifi = static_cast<const ifinfomsg *>(mnl_nlmsg_get_payload(nlh));
		return tracked_.egress.contains(ifi->ifi_index);
	}
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH: {
		const auto *ndm = static_cast<const ndmsg *>(mnl_nlmsg_get_payload(nlh));
		if (!tracked_.unresolved && !tracked_.egress.contains(ndm->ndm_ifindex))
			return false;
		std::array<std::uint8_t, 16> dst{};
		const std::uint8_t *lladdr = nullptr;
		bool have_dst = false;
		for_each_attr(nlh, sizeof(ndmsg), [&](const nlattr *a) {
			const auto len = mnl_attr_get_payload_len(a);
			if (mnl_attr_get_type(a) == NDA_DST && len <= dst.size()) {
				std::memcpy(dst.data(), mnl_attr_get_payload(a), len);
				have_dst = true;
			} else if (mnl_attr_get_type(a) == NDA_LLADDR && len == 6) {
				lladdr = static_cast<const std::uint8_t *>(mnl_attr_get_payload(a));
			}
		});
		if (!have_dst)
			return false;
		// Which neighbour an unresolved VTEP waits for is not known
		// (no route, or the route's next hop has no entry yet): any
		// that resolves may be it.
		if (tracked_.unresolved && nlh->nlmsg_type == RTM_NEWNEIGH && lladdr)
			return true;
		auto it = tracked_.neighbours.find({static_cast<int>(ndm->ndm_family), dst});
		if (it == tracked_.neighbours.end())
			return false;
		// A state change of a neighbour that keeps its MAC moves nothing.
		return nlh->nlmsg_type == RTM_DELNEIGH || !lladdr ||
		       std::memcmp(lladdr, it->second.data(), 6) != 0;
	}
	default:
		return false;
	}
}

void NextHopWatch::on_events()
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool any = false;
	for (;;) {
		const ssize_t n = ::recv(sock_.get(), buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			// Events lost to a full socket: any of them may have mattered.
			any = any || errno == ENOBUFS;
			if (errno == EAGAIN || errno == ENOBUFS)
				break;
			throw SystemError("reading next-hop events", errno);
		}
		int len = static_cast<int>(n);
		for (auto *nlh = reinterpret_cast<const nlmsghdr *>(buf); mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			any = any || relevant(nlh);
	}
	if (any && !armed_) {
		set_alarm(alarm_.get(), monotonic_ns() + kSettleNs);
		armed_ = true;
	}
}

void NextHopWatch::track(const NextHopState &state)
{
	tracked_ = state;
	drain(alarm_.get());
	set_alarm(alarm_.get(), 0);
	armed_ = false;
}

} // namespace ovx

namespace ovx {

void refresh_nexthops_now(spdlog::logger &log, const std::string &instance, NextHopWatch &watch)
{
	try {
		const auto state = refresh_instance_nexthops(instance);
		if (!state)
			return;
		log.info("next hops refreshed after a neighbour, route or link change: {} written, "
			 "{} unresolved, {} removed",
			 state->written, state->unresolved, state->removed);
		watch.track(*state);
	} catch (const std::exception &e) {
		log.error("next hops: {} (the FIB path serves until the next apply)", e.what());
		watch.track(NextHopState{});
	}
}

} // namespace ovx
