// tc_underlay: delivers what xdp_underlay decapsulated (behind its shim,
// struct ovx_rx_shim), refuses such frames without this instance's cookie,
// and leaves the host's traffic untouched.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

using TcUnderlay = DatapathTest;

const Bytes kToVm1 = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"));

TEST_F(TcUnderlay, HostTrafficPasses)
{
	const Bytes frame = vm_ping(kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep);
	const auto r = run_tc(Program::tc_underlay, "ul0", frame);
	EXPECT_EQ(r.retval, TC_ACT_OK);
	EXPECT_EQ(hex(r.out), hex(frame));
	EXPECT_TRUE(captured("vm1").empty());
}

TEST_F(TcUnderlay, DeliversWhatXdpDecapsulatedWithItsHeaderBack)
{
	const auto vm1 = static_cast<std::uint32_t>(ifindex("vm1"));
	const auto r = run_tc(Program::tc_underlay, "ul0", decapsulated(kToVm1, kBlue, vm1, kVm1Port));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(kToVm1));
}

TEST_F(TcUnderlay, FloodsWhatXdpDecapsulatedForFlooding)
{
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	const auto r = run_tc(Program::tc_underlay, "ul0", decapsulated(arp, kBlue, 0));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(arp));
	const auto copies = captured("vm1");
	ASSERT_EQ(copies.size(), 1u); // vm1 a clone, vm2 the frame itself
	EXPECT_EQ(hex(copies[0]), hex(arp));
	EXPECT_TRUE(captured("vm3").empty());
}

TEST_F(TcUnderlay, AHiddenFrameWithoutOurCookieIsRefused)
{
	// What an underlay attacker would send while no XDP program drops it:
	// the shim naming red's port, with a guessed cookie.
	const std::uint32_t guess[2] = {kCookie[0], kCookie[1] ^ 1};
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      decapsulated(kToVm1, kRed, static_cast<std::uint32_t>(ifindex("vm3")), kVm3Port,
					   guess));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(0).drops[OVX_DROP_MALFORMED], 1u);
	EXPECT_TRUE(captured("vm3").empty());
}

TEST_F(TcUnderlay, XdpDropsHiddenFramesFromTheWire)
{
	const auto r = run_xdp(decapsulated(kToVm1, kRed, static_cast<std::uint32_t>(ifindex("vm3")), kVm3Port));
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(stats(0).drops[OVX_DROP_MALFORMED], 1u);
}

} // namespace
} // namespace ovx::test

namespace ovx::test {
namespace {

// The receive side for real: xdp_underlay (native) and tc_underlay on ul0,
// overlay frames sent from ul0's peer, what reaches the VMs captured.
class ReceiveLive : public DatapathTest {
protected:
	void SetUp() override
	{
		DatapathTest::SetUp();
		attach_underlay();
	}
	void TearDown() override { detach_underlay(); }
};

TEST_F(ReceiveLive, UnicastAndFloodReachTheirPorts)
{
	const Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	send_from_peer("ul0", vxlan_frame(from2, 5001, kToVm1));
	auto got = captured("vm1");
	ASSERT_EQ(got.size(), 1u) << "drops: tx_error " << stats(kBlue).drops[OVX_DROP_TX_ERROR];
	EXPECT_EQ(hex(got[0]), hex(kToVm1));
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	send_from_peer("ul0", vxlan_frame(from2, 5001, arp));
	got = captured("vm1");
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(hex(got[0]), hex(arp));
	EXPECT_EQ(captured("vm2").size(), 1u);
	EXPECT_TRUE(captured("vm3").empty());
}

} // namespace
} // namespace ovx::test
