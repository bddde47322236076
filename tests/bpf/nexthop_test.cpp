// The send side's next-hop table (ovx_nexthops): a live entry addresses the
// frame without asking the FIB; a missing or expired one takes the FIB path
// and is counted; the control plane follows the kernel's neighbour table.
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>
#include <poll.h>

#include <cstdlib>
#include <cstring>

#include "agent/nexthops.h"
#include "agent/reconcile.h"
#include "maps/stats.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

using NextHops = DatapathTest;

const Bytes kPingRemote = vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3"));
const MacAddr kOtherMac = mac("02:cc:00:00:00:02"); // not the kernel's neighbour for .2

ovx_addr vtep4(std::uint32_t host_order)
{
	ovx_addr a{};
	a.family = AF_INET;
	a.a[0] = htonl(host_order);
	return a;
}

void shell(const std::string &cmd)
{
	ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

class NextHopTable : public NextHops {
protected:
	void put(MacAddr dmac, std::uint64_t expires_ns, std::uint32_t src = kLocalVtep)
	{
		MacBytes d, s;
		std::memcpy(d.data(), dmac.b, 6);
		std::memcpy(s.data(), kUnderlayMac.b, 6);
		dp_->tables().nexthops.update(
			vtep4(kVtep2), make_nexthop(static_cast<std::uint32_t>(ifindex("ul0")), d, s,
						    vtep4(src), vtep4(kVtep2), expires_ns));
	}
	ovx_dp_stats fallbacks() { return sum_per_cpu(dp_->tables().dp_stats.lookup(0)); }
	// Whether @watch's alarm fires within @timeout_ms, its events read meanwhile.
	static bool alarm_fires(NextHopWatch &watch, int timeout_ms)
	{
		for (int waited = 0; waited < timeout_ms; waited += 10) {
			pollfd fds[2] = {{watch.event_fd(), POLLIN, 0}, {watch.alarm_fd(), POLLIN, 0}};
			if (poll(fds, 2, 10) > 0) {
				if (fds[1].revents & POLLIN)
					return true;
				if (fds[0].revents & POLLIN)
					watch.on_events();
			}
		}
		return false;
	}
	// What tc_port sends vm1's ping as, toward VTEP 2 at @dmac.
	Bytes expected(const RunResult &r, MacAddr dmac) const
	{
		const std::uint16_t sport = static_cast<std::uint16_t>(r.out.at(34) << 8 | r.out.at(35));
		Bytes frame = vxlan_frame(to_vtep(kVtep2, sport), 5001, kPingRemote);
		std::memcpy(frame.data(), dmac.b, 6);
		return frame;
	}
	// vm1's ping goes out through @dmac, with @miss and @stale FIB fallbacks counted.
	void expect_sent(MacAddr dmac, std::uint64_t miss, std::uint64_t stale)
	{
		const auto r = run_tc(Program::tc_port, "vm1", kPingRemote);
		ASSERT_EQ(r.retval, TC_ACT_REDIRECT);
		EXPECT_EQ(hex(r.out), hex(expected(r, dmac)));
		EXPECT_EQ(fallbacks().nexthop_miss, miss);
		EXPECT_EQ(fallbacks().nexthop_stale, stale);
	}
};

TEST_F(NextHopTable, LiveEntryAddressesTheFrameWithoutTheFib)
{
	put(kOtherMac, monotonic_ns() + 60'000'000'000ull);
	expect_sent(kOtherMac, 0, 0);
}

TEST_F(NextHopTable, MissingEntryTakesTheFibAndIsCounted)
{
	dp_->tables().nexthops.erase(vtep4(kVtep2));
	expect_sent(kVtep2Mac, 1, 0);
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
}

TEST_F(NextHopTable, ExpiredEntryTakesTheFibAndIsCounted)
{
	put(kOtherMac, 1); // long past
	expect_sent(kVtep2Mac, 0, 1);
}

// The template was made for a VTEP address the config no longer has (an
// apply changed it, and the refresh after its commit has not run yet).
TEST_F(NextHopTable, TemplateOfAnotherSourceAddressTakesTheFibAndIsCounted)
{
	put(kOtherMac, monotonic_ns() + 60'000'000'000ull, ipv4("192.168.77.99"));
	expect_sent(kVtep2Mac, 0, 1);
}

// The template's IPv4 checksum is completed per frame: frames of every
// length carry a valid one.
TEST_F(NextHopTable, TemplateChecksumIsRightForEveryLength)
{
	put(kOtherMac, monotonic_ns() + 60'000'000'000ull);
	for (std::size_t pad : {0u, 1u, 255u, 1000u}) {
		Bytes ping = vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3"));
		ping.resize(ping.size() + pad, 0);
		const auto r = run_tc(Program::tc_port, "vm1", ping);
		ASSERT_EQ(r.retval, TC_ACT_REDIRECT) << pad;
		const std::uint16_t sport = static_cast<std::uint16_t>(r.out.at(34) << 8 | r.out.at(35));
		Bytes want = vxlan_frame(to_vtep(kVtep2, sport), 5001, ping);
		std::memcpy(want.data(), kOtherMac.b, 6);
		EXPECT_EQ(hex(r.out), hex(want)) << pad << " bytes of padding";
	}
	EXPECT_EQ(fallbacks().nexthop_stale, 0u);
	EXPECT_EQ(fallbacks().nexthop_miss, 0u);
}

TEST_F(NextHopTable, RefreshFollowsTheKernelsNeighbour)
{
	const NextHopState first = refresh_nexthops(dp_->tables(), monotonic_ns());
	EXPECT_EQ(first.unresolved, 0u);
	const auto nh = dp_->tables().nexthops.lookup(vtep4(kVtep2));
	ASSERT_TRUE(nh);
	EXPECT_EQ(nh->ifindex, static_cast<std::uint32_t>(ifindex("ul0")));
	EXPECT_EQ(0, std::memcmp(nh->hdr + OVX_NEXTHOP_DMAC, kVtep2Mac.b, 6));
	EXPECT_EQ(0, std::memcmp(nh->hdr + OVX_NEXTHOP_SMAC, kUnderlayMac.b, 6));
	EXPECT_GT(nh->expires_ns, monotonic_ns() + kNextHopLifetimeNs / 2);

	// VTEP 2 moves to another MAC: the next refresh has it, and so do frames.
	shell("ip neigh replace 192.168.77.2 lladdr 02:cc:00:00:00:02 dev ul0 nud permanent");
	refresh_nexthops(dp_->tables(), monotonic_ns());
	auto r = run_tc(Program::tc_port, "vm1", kPingRemote);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(expected(r, kOtherMac)));

	// No neighbour at all: the entry goes, and the FIB path (which can
	// resolve) serves.
	shell("ip neigh del 192.168.77.2 dev ul0");
	const NextHopState gone = refresh_nexthops(dp_->tables(), monotonic_ns());
	EXPECT_FALSE(dp_->tables().nexthops.lookup(vtep4(kVtep2)));
	EXPECT_EQ(gone.unresolved, 1u);
	EXPECT_EQ(gone.removed, 1u);
	shell("ip neigh replace 192.168.77.2 lladdr 02:bb:00:00:00:02 dev ul0 nud permanent");
}

TEST_F(NextHopTable, WatchWakesOnANeighboursNewMacOnly)
{
	NextHopWatch watch;
	watch.track(refresh_nexthops(dp_->tables(), monotonic_ns()));
	auto fires = [&](int timeout_ms) { return alarm_fires(watch, timeout_ms); };
	// A neighbour that is none of the VTEPs' next hops moves nothing.
	shell("ip neigh replace 192.168.77.9 lladdr 02:cc:00:00:00:09 dev ul0 nud permanent");
	EXPECT_FALSE(fires(300));
	shell("ip neigh replace 192.168.77.3 lladdr 02:cc:00:00:00:03 dev ul0 nud permanent");
	EXPECT_TRUE(fires(2000));
	watch.track(refresh_nexthops(dp_->tables(), monotonic_ns()));
	const auto nh = dp_->tables().nexthops.lookup(vtep4(kVtep3));
	ASSERT_TRUE(nh);
	EXPECT_EQ(0, std::memcmp(nh->hdr + OVX_NEXTHOP_DMAC, mac("02:cc:00:00:00:03").b, 6));
	shell("ip neigh del 192.168.77.9 dev ul0");
	shell("ip neigh replace 192.168.77.3 lladdr 02:bb:00:00:00:03 dev ul0 nud permanent");
}

// A VTEP whose neighbour is not resolved yet (one that just joined, whose
// managed neighbour the kernel is still probing) gets its entry when the
// neighbour resolves, not at the agent's next pass.
TEST_F(NextHopTable, WatchWakesWhenAnUnresolvedVtepsNeighbourResolves)
{
	shell("ip neigh del 192.168.77.3 dev ul0");
	NextHopWatch watch;
	const NextHopState before = refresh_nexthops(dp_->tables(), monotonic_ns());
	ASSERT_EQ(before.unresolved, 1u);
	watch.track(before);
	shell("ip neigh replace 192.168.77.3 lladdr 02:bb:00:00:00:03 dev ul0 nud permanent");
	EXPECT_TRUE(alarm_fires(watch, 2000)) << "the neighbour's resolution did not wake the watch";
	refresh_nexthops(dp_->tables(), monotonic_ns());
	EXPECT_TRUE(dp_->tables().nexthops.lookup(vtep4(kVtep3)));
}

} // namespace
} // namespace ovx::test
