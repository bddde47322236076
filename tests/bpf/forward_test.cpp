// Forwarding pointers (NVO3 VM mobility): a frame from the underlay for a
// MAC that just left this host goes on to the MAC's new VTEP, in the
// segment's own encapsulation, marked so that it is never sent on again;
// once the pointer lapses, split horizon drops it as before.
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstring>

#include "agent/reconcile.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

constexpr std::uint8_t kUdp = 17, kGre = 47;
const MacAddr kMoved = mac("02:00:00:00:01:07"); // was on this host, now behind a VTEP
const Bytes kToMoved = vm_ping(kMoved, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.7"));

class Forward : public DatapathTest {
protected:
	// A pointer in @segment for kMoved to @vtep, live for @live_ns (or
	// lapsed long ago when 0).
	void point(std::uint32_t segment, std::uint32_t vtep, std::uint64_t live_ns = 10000000000ull)
	{
		ovx_fdb_entry e{};
		e.vtep.family = AF_INET;
		e.vtep.a[0] = htonl(vtep);
		point(segment, e, live_ns);
	}
	void point(std::uint32_t segment, const Ip6Addr &vtep)
	{
		ovx_fdb_entry e{};
		e.vtep.family = AF_INET6;
		std::memcpy(e.vtep.a, vtep.data(), vtep.size());
		point(segment, e, 10000000000ull);
	}
	void point(std::uint32_t segment, ovx_fdb_entry e, std::uint64_t live_ns)
	{
		e.kind = OVX_FDB_VTEP;
		e.flags = OVX_FDB_STATIC | OVX_FDB_FORWARD;
		e.forward_until_ns = live_ns ? monotonic_ns() + live_ns : 1;
		put_fdb(segment, kMoved, e);
	}
	// A frame from VTEP @src to us, its IPv4 id @id (OVX_FWD_IPV4_ID: sent on once).
	static Bytes from_vtep(std::uint32_t src, std::uint32_t vni, const Bytes &inner,
			       std::uint16_t id = 0)
	{
		return eth(kUnderlayMac, src == kVtep3 ? kVtep3Mac : kVtep2Mac, kEthIp,
			   ip4(src, kLocalVtep, kUdp, udp(51000, 4789, vxlan(vni, inner)), {.id = id}));
	}
	// What this host sends on to VTEP @dst: VXLAN with the mark.
	static Bytes sent_on(std::uint32_t dst, std::uint16_t sport, std::uint32_t vni,
			     const Bytes &inner)
	{
		return eth(dst == kVtep3 ? kVtep3Mac : kVtep2Mac, kUnderlayMac, kEthIp,
			   ip4(kLocalVtep, dst, kUdp, udp(sport, 4789, vxlan(vni, inner)),
			       {.id = OVX_FWD_IPV4_ID}));
	}
	static std::uint16_t sport(const Bytes &frame)
	{
		return static_cast<std::uint16_t>(frame.at(34) << 8 | frame.at(35));
	}
	// XDP drops a frame from VTEP 2 for kMoved under @reason, and TC sends
	// nothing either (the pointer read again, should it change in between).
	void expect_not_sent_on(ovx_drop_reason reason)
	{
		const auto r = run_xdp(from_vtep(kVtep2, 5001, kToMoved));
		EXPECT_EQ(r.retval, XDP_DROP);
		EXPECT_EQ(stats(kBlue).drops[reason], 1u);
		const auto t = run_tc(Program::tc_underlay, "ul0",
				      decapsulated(kToMoved, kBlue, OVX_SHIM_FORWARD));
		EXPECT_EQ(t.retval, TC_ACT_SHOT);
		EXPECT_EQ(stats(kBlue).drops[reason], 2u);
		EXPECT_EQ(stats(kBlue).forwarded, 0u);
		EXPECT_TRUE(captured("ul0").empty());
	}
};

TEST_F(Forward, XdpHandsAFrameForAPointerOnToBeSentOn)
{
	point(kBlue, kVtep3);
	const auto r = run_xdp(from_vtep(kVtep2, 5001, kToMoved));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(kToMoved, kBlue, OVX_SHIM_FORWARD)));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_SPLIT_HORIZON], 0u);
}

TEST_F(Forward, TcSendsItOnInTheSegmentsEncapsulationWithTheMark)
{
	point(kBlue, kVtep3);
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      decapsulated(kToMoved, kBlue, OVX_SHIM_FORWARD));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	ASSERT_GT(r.out.size(), 36u);
	EXPECT_GE(sport(r.out), 49152);
	EXPECT_EQ(hex(r.out), hex(sent_on(kVtep3, sport(r.out), 5001, kToMoved)));
	EXPECT_EQ(stats(kBlue).forwarded, 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
}

TEST_F(Forward, NvgreShrinksTheShimIntoItsShorterHeader)
{
	apply_config_text(*dp_, encap_config_text("nvgre", 5001, AF_INET));
	point(kBlue, kVtep3);
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      decapsulated(kToMoved, kBlue, OVX_SHIM_FORWARD));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	ASSERT_GT(r.out.size(), 42u);
	const std::uint8_t flow = r.out.at(41);
	EXPECT_EQ(hex(r.out),
		  hex(eth(kVtep3Mac, kUnderlayMac, kEthIp,
			  ip4(kLocalVtep, kVtep3, kGre, nvgre(5001, flow, kToMoved),
			      {.id = OVX_FWD_IPV4_ID}))));
	EXPECT_EQ(stats(kBlue).forwarded, 1u);
}

TEST_F(Forward, ALapsedPointerIsSplitHorizonAgain)
{
	point(kBlue, kVtep3, 0);
	expect_not_sent_on(OVX_DROP_SPLIT_HORIZON);
}

TEST_F(Forward, AFrameSentOnOnceIsNeverSentOnAgain)
{
	point(kBlue, kVtep3);
	const auto r = run_xdp(from_vtep(kVtep2, 5001, kToMoved, OVX_FWD_IPV4_ID));
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_SPLIT_HORIZON], 1u);
	EXPECT_EQ(stats(kBlue).forwarded, 0u);
}

TEST_F(Forward, NeverBackToTheVtepItCameFrom)
{
	point(kBlue, kVtep2);
	const auto r = run_xdp(from_vtep(kVtep2, 5001, kToMoved));
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_SPLIT_HORIZON], 1u);
}

TEST_F(Forward, NeverToAVtepThatIsNoMemberOfTheSegment)
{
	point(kBlue, ipv4("192.168.77.9"));
	expect_not_sent_on(OVX_DROP_UNKNOWN_VTEP);
}

TEST_F(Forward, NeverAcrossSegments)
{
	// red's pointer for the MAC says nothing about blue: unknown there, flooded in blue.
	point(kRed, kVtep2);
	const auto r = run_xdp(from_vtep(kVtep3, 5001, kToMoved));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(kToMoved, kBlue, 0)));
	EXPECT_EQ(stats(kRed).forwarded + stats(kBlue).forwarded, 0u);
}

// underlay.mode tc: no XDP program, TC receives the whole frame and sends it
// on in the room of the outer headers it arrived in.
TEST_F(Forward, TcAloneSendsAWholeFrameOnInItsOwnOuterHeaders)
{
	point(kBlue, kVtep3);
	const auto r = run_tc(Program::tc_underlay, "ul0", from_vtep(kVtep2, 5001, kToMoved));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	ASSERT_GT(r.out.size(), 36u);
	EXPECT_EQ(hex(r.out), hex(sent_on(kVtep3, sport(r.out), 5001, kToMoved)));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
	EXPECT_EQ(stats(kBlue).forwarded, 1u);
}

TEST_F(Forward, TcAloneNeverSendsAMarkedFrameOnAgain)
{
	point(kBlue, kVtep3);
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      from_vtep(kVtep2, 5001, kToMoved, OVX_FWD_IPV4_ID));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_SPLIT_HORIZON], 1u);
	EXPECT_EQ(stats(kBlue).forwarded, 0u);
}

TEST_F(Forward, TcAloneSendsAnIpv6FrameOnWithTheFlowLabelMark)
{
	apply_config_text(*dp_, encap_config_text("vxlan", 5001, AF_INET6));
	point(kBlue, kVtep3v6);
	const Outer in{.dst_mac = kUnderlayMac, .src_mac = kVtep2Mac, .family = AF_INET6,
		       .src = kVtep2v6, .dst = kLocalVtep6, .entropy = 51000};
	const auto r = run_tc(Program::tc_underlay, "ul0", tunnel_frame(in, Encap::vxlan, 5001, kToMoved));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	ASSERT_GT(r.out.size(), 56u);
	const std::uint16_t sp = static_cast<std::uint16_t>(r.out.at(54) << 8 | r.out.at(55));
	const Outer out{.dst_mac = kVtep3Mac, .src_mac = kUnderlayMac, .family = AF_INET6,
			.src = kLocalVtep6, .dst = kVtep3v6, .entropy = sp};
	Bytes want = tunnel_frame(out, Encap::vxlan, 5001, kToMoved);
	want[15] = static_cast<std::uint8_t>((want[15] & 0xf0) | ((OVX_FWD_FLOW_LABEL >> 16) & 0x0f));
	want[16] = (OVX_FWD_FLOW_LABEL >> 8) & 0xff;
	want[17] = OVX_FWD_FLOW_LABEL & 0xff;
	EXPECT_EQ(hex(r.out), hex(want));
	EXPECT_EQ(stats(kBlue).forwarded, 1u);
}

// XDP and TC on ul0 for real: what arrives from the peer goes back out.
class ForwardLive : public Forward {
protected:
	void SetUp() override
	{
		Forward::SetUp();
		attach_underlay();
	}
	void TearDown() override { detach_underlay(); }
};

TEST_F(ForwardLive, SentOnOnceAndTheMarkedCopyNotAgain)
{
	point(kBlue, kVtep3);
	send_from_peer("ul0", from_vtep(kVtep2, 5001, kToMoved));
	auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 1u) << "drops: tx_error " << stats(kBlue).drops[OVX_DROP_TX_ERROR]
				   << " no_route " << stats(kBlue).drops[OVX_DROP_NO_ROUTE];
	EXPECT_EQ(hex(wire[0]), hex(sent_on(kVtep3, sport(wire[0]), 5001, kToMoved)));
	EXPECT_EQ(stats(kBlue).forwarded, 1u);
	EXPECT_TRUE(captured("vm1").empty());

	// A marked copy, as another host's pointer would send it here, stops here:
	// no chain of pointers (A -> B -> A, or longer) sends a frame twice.
	send_from_peer("ul0", from_vtep(kVtep2, 5001, kToMoved, OVX_FWD_IPV4_ID));
	EXPECT_TRUE(captured("ul0").empty());
	EXPECT_EQ(stats(kBlue).forwarded, 1u);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_SPLIT_HORIZON], 1u);
}

} // namespace
} // namespace ovx::test
