// tc_port: the VTEP's send side, frame by frame.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "agent/reconcile.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

using TcPort = DatapathTest;

const Bytes kPingVm2 = vm_ping(kVm2, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.2"));
const Bytes kPingRemote = vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3"));

std::uint16_t udp_sport(const Bytes &frame)
{
	return static_cast<std::uint16_t>(frame.at(34) << 8 | frame.at(35));
}

TEST_F(TcPort, SwitchesLocallyWithinTheSegment)
{
	const auto r = run_tc(Program::tc_port, "vm1", kPingVm2);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(kPingVm2));
	EXPECT_EQ(stats(kBlue).local_packets, 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 0u);
}

TEST_F(TcPort, EncapsulatesToTheRemoteVtep)
{
	const auto r = run_tc(Program::tc_port, "vm1", kPingRemote);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	ASSERT_GT(r.out.size(), 36u);
	// The source port is the inner flow's hash (seeded per boot): its range
	// is the contract; the rest must match to the byte.
	const std::uint16_t sport = udp_sport(r.out);
	EXPECT_GE(sport, 49152);
	EXPECT_EQ(hex(r.out), hex(vxlan_frame(to_vtep(kVtep2, sport), 5001, kPingRemote)));
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
}

TEST_F(TcPort, SameFlowSameSourcePortOtherFlowOther)
{
	const auto a = run_tc(Program::tc_port, "vm1", kPingRemote);
	const auto b = run_tc(Program::tc_port, "vm1", kPingRemote);
	EXPECT_EQ(udp_sport(a.out), udp_sport(b.out));
	std::set<std::uint16_t> ports;
	for (std::uint32_t dst = 1; dst <= 16; dst++)
		ports.insert(udp_sport(
			run_tc(Program::tc_port, "vm1",
			       vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.1.0") + dst))
				.out));
	EXPECT_GT(ports.size(), 8u) << "no entropy for the underlay's ECMP";
}

TEST_F(TcPort, FloodsBroadcastToLocalPortsAndEveryVtepOfTheSegment)
{
	const Bytes arp = eth(kBroadcast, kVm1, kEthArp,
			      arp_request(kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.9")));
	const auto r = run_tc(Program::tc_port, "vm1", arp);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);

	const auto local = captured("vm2");
	ASSERT_EQ(local.size(), 1u);
	EXPECT_EQ(hex(local[0]), hex(arp));
	EXPECT_TRUE(captured("vm1").empty()) << "flooded back to the sender";
	EXPECT_TRUE(captured("vm3").empty()) << "leaked into the red tenant";

	// The first VTEP gets a clone, the last one the frame itself.
	const auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 1u);
	const std::uint16_t sport = udp_sport(wire[0]);
	EXPECT_EQ(hex(wire[0]), hex(vxlan_frame(to_vtep(kVtep2, sport), 5001, arp)));
	EXPECT_EQ(hex(r.out), hex(vxlan_frame(to_vtep(kVtep3, sport), 5001, arp)));
	EXPECT_EQ(stats(kBlue).flood_copies, 3u);
	EXPECT_EQ(stats(kBlue).tx_packets, 2u);
}

// An IP frame grows by adjust_room (ARP by change_head), and each copy's
// headers are written into the frame's head directly: the copy cloned to the
// first VTEP must keep its own.
TEST_F(TcPort, FloodedIpFrameKeepsEveryCopysOwnHeaders)
{
	const Bytes frame = vm_ping(kBroadcast, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.255"));
	const auto r = run_tc(Program::tc_port, "vm1", frame);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	const auto local = captured("vm2");
	ASSERT_EQ(local.size(), 1u);
	EXPECT_EQ(hex(local[0]), hex(frame));
	const auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 1u);
	const std::uint16_t sport = udp_sport(wire[0]);
	EXPECT_EQ(hex(wire[0]), hex(vxlan_frame(to_vtep(kVtep2, sport), 5001, frame)));
	EXPECT_EQ(hex(r.out), hex(vxlan_frame(to_vtep(kVtep3, sport), 5001, frame)));
	EXPECT_EQ(stats(kBlue).tx_packets, 2u);
}

TEST_F(TcPort, FloodsToAsManyVtepsAsASegmentHolds)
{
	// A segment spanning a cluster of OVX_MAX_FLOOD_VTEPS + 1 hosts.
	apply_config_text(*dp_, flood_config_text(OVX_MAX_FLOOD_VTEPS));
	// The copies as ul0 sends them. Its veth peer's receive backlog
	// (net.core.netdev_max_backlog, 1,000 by default, shared by the host)
	// may refuse the tail of a burst of 1,023: those must be counted.
	const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	ASSERT_GE(fd, 0) << std::strerror(errno);
	captures_["ul0 sent"] = UniqueFd(fd);
	sockaddr_ll sll{};
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex("ul0");
	ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)), 0);
	const int big = 64 << 20; // every copy waits in the capture at once
	for (const char *name : {"ul0", "ul0 sent"})
		ASSERT_EQ(setsockopt(captures_.at(name).get(), SOL_SOCKET, SO_RCVBUFFORCE, &big,
				     sizeof(big)),
			  0);
	const Bytes arp = eth(kBroadcast, kVm1, kEthArp,
			      arp_request(kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.9")));
	const auto r = run_tc(Program::tc_port, "vm1", arp);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	ASSERT_EQ(captured("vm2").size(), 1u);

	// VTEPs 0..1022 get clones, in list order, the last one the frame itself.
	auto expected = [&](std::uint32_t i, std::uint16_t sport) {
		return vxlan_frame(Underlay{.dst_mac = kVtep2Mac, .src_mac = kUnderlayMac,
					    .src_ip = kLocalVtep, .dst_ip = flood_vtep(i),
					    .sport = sport},
				   5001, arp);
	};
	const auto wire = captured("ul0 sent");
	ASSERT_EQ(wire.size(), OVX_MAX_FLOOD_VTEPS - 1u);
	const std::uint16_t sport = udp_sport(r.out);
	for (std::uint32_t i = 0; i < wire.size(); i++)
		ASSERT_EQ(hex(wire[i]), hex(expected(i, sport))) << "copy " << i;
	EXPECT_EQ(hex(r.out), hex(expected(OVX_MAX_FLOOD_VTEPS - 1, sport)));
	EXPECT_EQ(stats(kBlue).flood_copies, OVX_MAX_FLOOD_VTEPS + 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, OVX_MAX_FLOOD_VTEPS);
	// Every copy the peer did not take is a tx_error, and nothing else drops.
	const std::size_t arrived = captured("ul0").size();
	EXPECT_GT(arrived, 0u);
	const ovx_seg_stats st = stats(kBlue);
	EXPECT_EQ(arrived + st.drops[OVX_DROP_TX_ERROR], OVX_MAX_FLOOD_VTEPS - 1u);
	for (std::uint32_t reason = 0; reason < OVX_DROP_MAX; reason++)
		EXPECT_EQ(reason == OVX_DROP_TX_ERROR ? 0u : st.drops[reason], 0u) << reason;
}

TEST_F(TcPort, UnknownUnicastStaysInsideTheTenant)
{
	const Bytes frame = vm_ping(mac("02:00:00:00:07:07"), kVm3, ipv4("10.0.0.1"),
				    ipv4("10.0.0.7"));
	const auto r = run_tc(Program::tc_port, "vm3", frame);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_TRUE(captured("vm1").empty());
	EXPECT_TRUE(captured("vm2").empty());
	EXPECT_TRUE(captured("ul0").empty()) << "red floods to .2 only: one copy, the frame itself";
	EXPECT_EQ(hex(r.out), hex(vxlan_frame(to_vtep(kVtep2, udp_sport(r.out)), 5002, frame)));
	EXPECT_EQ(stats(kRed).flood_copies, 1u);
	EXPECT_EQ(stats(kBlue).flood_copies, 0u);
}

TEST_F(TcPort, NothingGoesToAVtepThatIsNotOfTheSegment)
{
	// A fresh learned entry behind .9, which left blue (or never was in it).
	const MacAddr behind = mac("02:00:00:00:09:01");
	ovx_fdb_entry e{};
	e.kind = OVX_FDB_VTEP;
	e.flags = OVX_FDB_LEARNED;
	e.vtep.family = AF_INET;
	e.vtep.a[0] = htonl(ipv4("192.168.77.9"));
	e.seen_ns = monotonic_ns() - 1000000000ull; // the datapath's coarse clock lags
	put_fdb(kBlue, behind, e);
	const auto r = run_tc(Program::tc_port, "vm1", vm_ping(behind, kVm1, 1, 2));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_UNKNOWN_VTEP], 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 0u);
	EXPECT_TRUE(captured("ul0").empty());
}

TEST_F(TcPort, SpoofedSourceIsDropped)
{
	const auto r = run_tc(Program::tc_port, "vm2", kPingRemote); // vm1's MAC, from vm2
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_SPOOFED_SRC], 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 0u);
}

TEST_F(TcPort, FrameTooLargeForTheUnderlayIsDroppedNotFragmented)
{
	// 1450 bytes of inner IP fit a 1500-byte underlay exactly; one more does not.
	const Bytes fits = vm_ping(kRemoteStatic, kVm1, 1, 2, 1450 - 20 - 8);
	const Bytes too_big = vm_ping(kRemoteStatic, kVm1, 1, 2, 1451 - 20 - 8);
	EXPECT_EQ(run_tc(Program::tc_port, "vm1", fits).retval, TC_ACT_REDIRECT);
	EXPECT_EQ(run_tc(Program::tc_port, "vm1", too_big).retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_MTU_EXCEEDED], 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
}

TEST_F(TcPort, FrameToItselfIsDropped)
{
	const auto r = run_tc(Program::tc_port, "vm1", vm_ping(kVm1, kVm1, 1, 1));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_HAIRPIN], 1u);
}

TEST_F(TcPort, InterfaceThatIsNoPortIsDropped)
{
	const auto r = run_tc(Program::tc_port, "ul0", kPingVm2);
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(stats(0).drops[OVX_DROP_NO_PORT], 1u);
}

// The real receive path of a VM port: frames sent from the VM's side, tc_port
// attached to vm1's ingress. The kernel takes a VM's outer VLAN tag out of
// the frame before TC runs (BPF_PROG_TEST_RUN does not), and a device puts
// such a tag on whatever frame it sends: the case to test.
class TcPortLive : public DatapathTest {
protected:
	void SetUp() override
	{
		DatapathTest::SetUp();
		vm1_ = ifindex("vm1");
		dp_->attach_tc(vm1_, Program::tc_port);
		ASSERT_TRUE(dp_->tc_attached(vm1_, Program::tc_port));
	}
	void TearDown() override { dp_->detach_tc(vm1_); }

	// @frame with a tag (@tpid, @tci) in front of its ethertype.
	static Bytes with_tag(const Bytes &frame, std::uint16_t tpid, std::uint16_t tci)
	{
		Bytes out = frame;
		const std::uint8_t tag[4] = {static_cast<std::uint8_t>(tpid >> 8),
					     static_cast<std::uint8_t>(tpid),
					     static_cast<std::uint8_t>(tci >> 8),
					     static_cast<std::uint8_t>(tci)};
		out.insert(out.begin() + 12, tag, tag + 4);
		return out;
	}

	int vm1_ = 0;
};

TEST_F(TcPortLive, VlanTagStaysInsideTheEncapsulation)
{
	const Bytes tagged = with_tag(kPingRemote, 0x8100, 0xa064); // priority 5, VLAN 100
	send_from_peer("vm1", tagged);
	const auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 1u);
	EXPECT_EQ(hex(wire[0]), hex(vxlan_frame(to_vtep(kVtep2, udp_sport(wire[0])), 5001, tagged)));
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
	EXPECT_EQ(stats(kBlue).tx_bytes, tagged.size());
}

TEST_F(TcPortLive, StackedTagsStayInsideInOrder)
{
	const Bytes qinq = with_tag(with_tag(kPingRemote, 0x8100, 0x0064), 0x88a8, 0xa00a);
	send_from_peer("vm1", qinq);
	const auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 1u);
	EXPECT_EQ(hex(wire[0]), hex(vxlan_frame(to_vtep(kVtep2, udp_sport(wire[0])), 5001, qinq)));
}

TEST_F(TcPortLive, FloodCopiesKeepTheTagInside)
{
	const Bytes arp = with_tag(eth(kBroadcast, kVm1, kEthArp,
				       arp_request(kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.9"))),
				   0x8100, 0xa064);
	send_from_peer("vm1", arp);
	const auto local = captured("vm2");
	ASSERT_EQ(local.size(), 1u);
	EXPECT_EQ(hex(local[0]), hex(arp));
	const auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 2u);
	const std::uint16_t sport = udp_sport(wire[0]);
	EXPECT_EQ(hex(wire[0]), hex(vxlan_frame(to_vtep(kVtep2, sport), 5001, arp)));
	EXPECT_EQ(hex(wire[1]), hex(vxlan_frame(to_vtep(kVtep3, sport), 5001, arp)));
}

TEST_F(TcPortLive, MoreTagsThanCarriedAreDroppedAndCounted)
{
	const Bytes three = with_tag(with_tag(with_tag(kPingRemote, 0x8100, 1), 0x8100, 2), 0x88a8, 3);
	send_from_peer("vm1", three);
	EXPECT_TRUE(captured("ul0").empty());
	EXPECT_EQ(stats(kBlue).drops[OVX_DROP_VLAN_TAGS], 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 0u);
}

} // namespace
} // namespace ovx::test
