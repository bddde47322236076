// Delivery by XDP_REDIRECT (ovx_port_devmap): a unicast frame for a port in
// the devmap leaves xdp_underlay as the bare inner frame, counted as TC
// delivery counts it; everything else keeps the shim. And the control
// plane's side: which ports the kernel says take XDP frames.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "agent/delivery.h"
#include "loader/netdev.h"
#include "maps/stats.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

// GRO on or off on @ifname (here a VM port's peer: the VM's side).
void set_gro(const std::string &ifname, bool on)
{
	UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	ASSERT_TRUE(fd) << std::strerror(errno);
	ethtool_value v{.cmd = ETHTOOL_SGRO, .data = on};
	ifreq ifr{};
	std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
	ifr.ifr_data = reinterpret_cast<char *>(&v);
	ASSERT_EQ(ioctl(fd.get(), SIOCETHTOOL, &ifr), 0) << ifname << ": " << std::strerror(errno);
}

class Devmap : public DatapathTest {
protected:
	void TearDown() override
	{
		for (const char *peer : {"vm1p", "vm2p", "vm3p"})
			set_gro(peer, false);
	}

	void redirect(const std::string &port)
	{
		const auto i = static_cast<std::uint32_t>(ifindex(port));
		dp_->tables().port_devmap.update(i, i);
		set_config_flags(OVX_CFG_XDP_PORTS);
	}
	void set_config_flags(std::uint16_t flags)
	{
		auto cfg = dp_->tables().config.lookup(0);
		ASSERT_TRUE(cfg);
		cfg->flags = flags;
		dp_->tables().config.update(0, *cfg);
	}
	std::uint16_t config_flags() { return dp_->tables().config.lookup(0)->flags; }
	static Bytes from_vtep2(std::uint32_t vni, const Bytes &inner)
	{
		return vxlan_frame({kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789}, vni,
				   inner);
	}
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"));
};

TEST_F(Devmap, APortInTheDevmapGetsTheInnerFrameByXdpRedirect)
{
	redirect("vm1");
	const auto r = run_xdp(from_vtep2(5001, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(ping_to_vm1));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
	EXPECT_EQ(stats(kBlue).rx_bytes, ping_to_vm1.size());
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
	EXPECT_EQ(port_stats("vm1").tx_bytes, ping_to_vm1.size());
}

TEST_F(Devmap, LinkPaddingStaysBehindOnTheRedirectedFrame)
{
	redirect("vm1");
	const Bytes arp = eth(kVm1, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	Bytes frame = from_vtep2(5001, arp);
	frame.resize(frame.size() + 24, 0);
	const auto r = run_xdp(frame);
	EXPECT_EQ(r.retval, XDP_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(arp));
	EXPECT_EQ(port_stats("vm1").tx_bytes, arp.size());
}

TEST_F(Devmap, APortNotInTheDevmapKeepsTheShim)
{
	redirect("vm1");
	// vm3 (red) has vm1's MAC: the devmap is by port, not by MAC.
	const auto r = run_xdp(from_vtep2(5002, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out),
		  hex(decapsulated(ping_to_vm1, kRed, static_cast<std::uint32_t>(ifindex("vm3")),
				  kVm3Port)));
	EXPECT_EQ(stats(kRed).rx_packets, 1u);
	EXPECT_EQ(port_stats("vm3").tx_packets, 0u) << "tc_underlay counts it, when it delivers";
}

TEST_F(Devmap, WithoutTheConfigFlagTheDevmapIsNotAsked)
{
	redirect("vm1");
	set_config_flags(0);
	const auto r = run_xdp(from_vtep2(5001, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out),
		  hex(decapsulated(ping_to_vm1, kBlue, static_cast<std::uint32_t>(ifindex("vm1")),
				  kVm1Port)));
}

TEST_F(Devmap, FloodingKeepsTheShim)
{
	redirect("vm1");
	redirect("vm2");
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	const auto r = run_xdp(from_vtep2(5001, arp));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(arp, kBlue, 0)));
	EXPECT_EQ(port_stats("vm1").tx_packets, 0u);
}

TEST_F(Devmap, TheKernelSaysWhichPortsTakeXdpFrames)
{
	EXPECT_FALSE(takes_xdp_frames(ifindex("vm1"))) << "a veth whose peer has neither XDP nor GRO";
	set_gro("vm1p", true);
	EXPECT_TRUE(takes_xdp_frames(ifindex("vm1"))) << "its peer has GRO on";
	EXPECT_FALSE(takes_xdp_frames(ifindex("vm2")));
	set_gro("vm1p", false);
	EXPECT_FALSE(takes_xdp_frames(ifindex("vm1"))) << "GRO off again";
}

// What lets an agent decide again at once: the kernel's notice that a
// port's xdp_features changed, when the VM's side turns GRO on or off.
TEST_F(Devmap, AWatchHearsThePeersGroChange)
{
	XdpFeaturesWatch watch;
	ASSERT_GE(watch.fd(), 0) << "no netdev family with a mgmt group in this kernel";
	const int vm1 = ifindex("vm1");
	for (bool on : {true, false}) {
		set_gro("vm1p", on);
		std::set<int> heard;
		for (int waited = 0; waited < 2000 && !heard.contains(vm1); waited += 10) {
			pollfd p{watch.fd(), POLLIN, 0};
			if (poll(&p, 1, 10) > 0)
				heard.merge(watch.read());
		}
		EXPECT_TRUE(heard.contains(vm1)) << "GRO " << (on ? "on" : "off") << ": no notice for vm1";
	}
}

TEST_F(Devmap, EachApplyDecidesAgain)
{
	const auto vm1 = static_cast<std::uint32_t>(ifindex("vm1"));
	const auto vm2 = static_cast<std::uint32_t>(ifindex("vm2"));
	const auto vm3 = static_cast<std::uint32_t>(ifindex("vm3"));
	const std::map<std::uint32_t, Delivery> ports = {
		{vm1, Delivery::xdp}, {vm2, Delivery::tc}, {vm3, Delivery::automatic}};
	Tables &t = dp_->tables();
	set_gro("vm1p", true);
	set_gro("vm2p", true);
	auto s = refresh_delivery(t, XdpMode::native, false, ports);
	EXPECT_EQ(s.xdp, (std::set<std::uint32_t>{vm1})) << "vm2 asks for tc; vm3 cannot";
	EXPECT_EQ(s.added, 1u);
	EXPECT_EQ(t.port_devmap.lookup(vm1), vm1);
	EXPECT_TRUE(config_flags() & OVX_CFG_XDP_PORTS) << "xdp_underlay asks the devmap";

	set_gro("vm3p", true);
	set_gro("vm1p", false);
	s = refresh_delivery(t, XdpMode::native, false, ports);
	EXPECT_EQ(s.xdp, (std::set<std::uint32_t>{vm3}));
	EXPECT_EQ(s.added, 1u);
	EXPECT_EQ(s.removed, 1u);
	EXPECT_FALSE(t.port_devmap.lookup(vm1));

	set_gro("vm1p", true);
	s = refresh_delivery(t, XdpMode::native, true, ports);
	EXPECT_EQ(s.xdp, (std::set<std::uint32_t>{vm1})) << "a veth underlay: only delivery: xdp";

	for (XdpMode m : {XdpMode::tc, XdpMode::generic}) {
		s = refresh_delivery(t, m, false, ports);
		EXPECT_TRUE(s.xdp.empty()) << xdp_mode_name(m);
		EXPECT_EQ(t.port_devmap.count(), 0u) << xdp_mode_name(m);
		EXPECT_FALSE(config_flags() & OVX_CFG_XDP_PORTS) << "an empty devmap is not asked";
	}
}

// xdp_underlay alone on ul0, no tc_underlay: only XDP_REDIRECT delivers.
class DevmapLive : public Devmap {
protected:
	void SetUp() override
	{
		Devmap::SetUp();
		ASSERT_EQ(bpf_xdp_attach(ifindex("ul0"), dp_->program_fd(Program::xdp_underlay),
					 XDP_FLAGS_DRV_MODE, nullptr),
			  0)
			<< std::strerror(errno);
	}
	void TearDown() override
	{
		bpf_xdp_detach(ifindex("ul0"), XDP_FLAGS_DRV_MODE, nullptr);
		Devmap::TearDown();
	}
};

TEST_F(DevmapLive, TheVmGetsTheFrameAndItsPortCountsIt)
{
	set_gro("vm1p", true);
	redirect("vm1");
	send_from_peer("ul0", from_vtep2(5001, ping_to_vm1));
	const auto got = captured("vm1");
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(hex(got[0]), hex(ping_to_vm1));
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
	EXPECT_EQ(port_stats("vm1").tx_bytes, ping_to_vm1.size());
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
	EXPECT_TRUE(captured("vm2").empty());

	// The same frame for a port outside the devmap waits for tc_underlay.
	dp_->tables().port_devmap.erase(static_cast<std::uint32_t>(ifindex("vm1")));
	send_from_peer("ul0", from_vtep2(5001, ping_to_vm1));
	EXPECT_TRUE(captured("vm1").empty());
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
}

} // namespace
} // namespace ovx::test
