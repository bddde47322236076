// xdp_underlay: the VTEP's receive side, frame by frame.
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <sched.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

class XdpUnderlay : public DatapathTest {
protected:
	// A frame from VTEP @src to us for @vni, carrying @inner.
	static Bytes from_vtep(std::uint32_t src, std::uint32_t vni, const Bytes &inner,
			       std::uint32_t dst = kLocalVtep)
	{
		return vxlan_frame(Underlay{.dst_mac = kUnderlayMac,
					    .src_mac = src == kVtep3 ? kVtep3Mac : kVtep2Mac,
					    .src_ip = src,
					    .dst_ip = dst,
					    .sport = 51000},
				   vni, inner);
	}
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"));
};

TEST_F(XdpUnderlay, DecapsulatesToTheLocalPort)
{
	const auto r = run_xdp(from_vtep(kVtep2, 5001, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out),
		  hex(decapsulated(ping_to_vm1, kBlue, static_cast<std::uint32_t>(ifindex("vm1")), kVm1Port)));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
}

TEST_F(XdpUnderlay, SameMacInAnotherTenantGoesToThatTenantsPort)
{
	const auto r = run_xdp(from_vtep(kVtep2, 5002, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out),
		  hex(decapsulated(ping_to_vm1, kRed, static_cast<std::uint32_t>(ifindex("vm3")), kVm3Port)));
	EXPECT_EQ(stats(kRed).rx_packets, 1u);
	EXPECT_EQ(stats(kBlue).rx_packets, 0u);
}

TEST_F(XdpUnderlay, BroadcastIsHandedOnForFlooding)
{
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	const auto r = run_xdp(from_vtep(kVtep2, 5001, arp));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(arp, kBlue, 0)));
}

TEST_F(XdpUnderlay, UnknownUnicastIsHandedOnForFlooding)
{
	const Bytes frame = vm_ping(mac("02:00:00:00:09:09"), kRemoteStatic, 1, 2);
	const auto r = run_xdp(from_vtep(kVtep2, 5001, frame));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(frame, kBlue, 0)));
}

TEST_F(XdpUnderlay, LearnsTheSenderBehindItsVtep)
{
	const MacAddr newcomer = mac("02:00:00:00:03:07");
	const auto r = run_xdp(from_vtep(kVtep3, 5001, vm_ping(kVm1, newcomer, 3, 1)));
	EXPECT_EQ(r.retval, XDP_PASS);
	const auto e = fdb(kBlue, newcomer);
	ASSERT_TRUE(e);
	EXPECT_EQ(e->kind, OVX_FDB_VTEP);
	EXPECT_EQ(e->flags, OVX_FDB_LEARNED);
	EXPECT_EQ(e->vtep.a[0], htonl(kVtep3));
	EXPECT_GT(e->seen_ns, 0u);
	EXPECT_EQ(stats(kBlue).learned, 1u);
	EXPECT_FALSE(fdb(kRed, newcomer)) << "learning leaked into another tenant";
}

TEST_F(XdpUnderlay, LearnedMacMovesToItsNewVtep)
{
	const MacAddr mover = mac("02:00:00:00:03:08");
	run_xdp(from_vtep(kVtep3, 5001, vm_ping(kVm1, mover, 3, 1)));
	run_xdp(from_vtep(kVtep2, 5001, vm_ping(kVm1, mover, 3, 1)));
	EXPECT_EQ(fdb(kBlue, mover)->vtep.a[0], htonl(kVtep2));
	EXPECT_EQ(stats(kBlue).learned, 2u);
}

// The learning shortcut (a per-CPU record of the last sender, dated in
// jiffies): within its window a sender's frames do not touch the FDB, so an
// entry the control plane deleted stays deleted; after it (100 jiffies, at
// most 1 s at HZ >= 100) the sender is learned again.
TEST_F(XdpUnderlay, ASenderSeenAMomentAgoSkipsTheFdbUntilItsRecordIsOld)
{
	// The record is per CPU: every frame of the test on one.
	cpu_set_t was, one;
	ASSERT_EQ(sched_getaffinity(0, sizeof(was), &was), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	const MacAddr sender = mac("02:00:00:00:03:0a");
	const Bytes frame = from_vtep(kVtep3, 5001, vm_ping(kVm1, sender, 3, 1));

	run_xdp(frame);
	ASSERT_TRUE(fdb(kBlue, sender));
	erase_fdb(kBlue, sender);
	run_xdp(frame);
	EXPECT_FALSE(fdb(kBlue, sender)) << "a sender seen a moment ago looked the FDB up";
	EXPECT_EQ(stats(kBlue).learned, 1u);

	std::this_thread::sleep_for(std::chrono::milliseconds(1100));
	run_xdp(frame);
	EXPECT_TRUE(fdb(kBlue, sender)) << "the shortcut outlived its window";
	EXPECT_EQ(stats(kBlue).learned, 2u);
	sched_setaffinity(0, sizeof(was), &was);
}

TEST_F(XdpUnderlay, StaticEntryIsNeverOverriddenByLearning)
{
	// kRemoteStatic is bound to .2 in the file; .3 claiming it changes nothing.
	run_xdp(from_vtep(kVtep3, 5001, vm_ping(kVm1, kRemoteStatic, 3, 1)));
	const auto e = fdb(kBlue, kRemoteStatic);
	EXPECT_EQ(e->flags, OVX_FDB_STATIC);
	EXPECT_EQ(e->vtep.a[0], htonl(kVtep2));
	EXPECT_EQ(stats(kBlue).learned, 0u);
}

TEST_F(XdpUnderlay, AgedLearnedEntryCountsAsUnknown)
{
	const MacAddr old = mac("02:00:00:00:03:09");
	ovx_fdb_entry e{};
	e.kind = OVX_FDB_PORT;
	e.flags = OVX_FDB_LEARNED;
	e.ifindex = static_cast<std::uint32_t>(ifindex("vm2"));
	e.seen_ns = 1; // long past the segment's 300 s
	put_fdb(kBlue, old, e);
	const Bytes frame = vm_ping(old, kRemoteStatic, 2, 1);
	const auto r = run_xdp(from_vtep(kVtep2, 5001, frame));
	EXPECT_EQ(hex(r.out), hex(decapsulated(frame, kBlue, 0)));
}

struct DropCase {
	const char *name;
	std::function<Bytes()> frame;
	std::uint32_t segment;
	ovx_drop_reason reason;
};

class XdpUnderlayDrops : public XdpUnderlay, public ::testing::WithParamInterface<DropCase> {};

TEST_P(XdpUnderlayDrops, DropsAndCountsUnderOneReason)
{
	const DropCase &c = GetParam();
	const auto r = run_xdp(c.frame());
	EXPECT_EQ(r.retval, XDP_DROP);
	const ovx_seg_stats s = stats(c.segment);
	for (unsigned i = 0; i < OVX_DROP_MAX; i++)
		EXPECT_EQ(s.drops[i], i == c.reason ? 1u : 0u) << "reason " << i;
	EXPECT_EQ(s.rx_packets, 0u);
}

const Bytes kInner = vm_ping(kVm1, kRemoteStatic, 2, 1);

Bytes truncated_vxlan()
{
	Bytes f = vxlan_frame(Underlay{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789},
			      5001, kInner);
	f.resize(14 + 20 + 8 + 8 + 10); // the inner Ethernet header is cut short
	return f;
}

Bytes good_vxlan()
{
	return vxlan_frame(Underlay{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789}, 5001,
			   kInner);
}

// good_vxlan() with the 16-bit word at @off set to @value (no checksum fixed:
// ovx does not check the outer IPv4 checksum, the host does).
Bytes vxlan_with(std::size_t off, std::uint16_t value)
{
	Bytes f = good_vxlan();
	f.at(off) = static_cast<std::uint8_t>(value >> 8);
	f.at(off + 1) = static_cast<std::uint8_t>(value);
	return f;
}

constexpr std::size_t kIpTotLen = 14 + 2, kUdpLen = 14 + 20 + 4;

Bytes fragment()
{
	return eth(kUnderlayMac, kVtep2Mac, kEthIp,
		   ip4(kVtep2, kLocalVtep, 17, udp(51000, 4789, vxlan(5001, kInner)),
		       Ipv4Opts{.frag = 0x2000}));
}

INSTANTIATE_TEST_SUITE_P(
	Cases, XdpUnderlayDrops,
	::testing::Values(
		DropCase{"UnknownVni",
			 [] {
				 return vxlan_frame({kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep,
						     51000, 4789},
						    7777, kInner);
			 },
			 0, OVX_DROP_UNKNOWN_VNI},
		DropCase{"NotOurVtep",
			 [] {
				 return vxlan_frame({kUnderlayMac, kVtep2Mac, kVtep2,
						     ipv4("192.168.77.9"), 51000, 4789},
						    5001, kInner);
			 },
			 0, OVX_DROP_NOT_OUR_VTEP},
		DropCase{"UnknownVtep",
			 [] {
				 return vxlan_frame({kUnderlayMac, kVtep2Mac, ipv4("192.168.77.99"),
						     kLocalVtep, 51000, 4789},
						    5001, kInner);
			 },
			 kBlue, OVX_DROP_UNKNOWN_VTEP},
		DropCase{"VtepOfAnotherSegment",
			 // .3 floods blue but is no member of red.
			 [] {
				 return vxlan_frame({kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep,
						     51000, 4789},
						    5002, kInner);
			 },
			 kRed, OVX_DROP_UNKNOWN_VTEP},
		DropCase{"Truncated", truncated_vxlan, 0, OVX_DROP_MALFORMED},
		DropCase{"NoVniFlag",
			 [] {
				 return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					    ip4(kVtep2, kLocalVtep, 17,
						udp(51000, 4789, vxlan(5001, kInner, 0))));
			 },
			 0, OVX_DROP_UNSUPPORTED_FLAGS},
		DropCase{"Fragment", fragment, 0, OVX_DROP_FRAGMENT},
		DropCase{"OuterIpVersionNot4",
			 [] {
				 Bytes f = good_vxlan();
				 f[14] = 0x65; // version 6, IHL 5, in an IPv4 frame
				 return f;
			 },
			 0, OVX_DROP_MALFORMED},
		DropCase{"IpLongerThanTheFrame",
			 [] { return vxlan_with(kIpTotLen, static_cast<std::uint16_t>(good_vxlan().size())); },
			 0, OVX_DROP_MALFORMED},
		DropCase{"IpEndsInsideTheInnerHeader",
			 // The frame holds all of it, the IP header says 10 bytes of inner frame.
			 [] { return vxlan_with(kIpTotLen, 20 + 8 + 8 + 10); },
			 0, OVX_DROP_MALFORMED},
		DropCase{"IpShorterThanItsHeader", [] { return vxlan_with(kIpTotLen, 19); }, 0,
			 OVX_DROP_MALFORMED},
		DropCase{"UdpLongerThanTheIpPayload",
			 [] { return vxlan_with(kUdpLen, static_cast<std::uint16_t>(8 + 8 + kInner.size() + 1)); },
			 0, OVX_DROP_MALFORMED},
		DropCase{"UdpEndsInsideTheInnerHeader", [] { return vxlan_with(kUdpLen, 8 + 8 + 13); }, 0,
			 OVX_DROP_MALFORMED},
		DropCase{"ForARemoteMac",
			 [] {
				 return vxlan_frame({kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep,
						     51000, 4789},
						    5001, vm_ping(kRemoteStatic, kVm2, 1, 2));
			 },
			 kBlue, OVX_DROP_SPLIT_HORIZON}),
	[](const auto &info) { return std::string(info.param.name); });

// Learning limits: no segment takes another's room in the one FDB, and
// static entries always find theirs.
class Learning : public XdpUnderlay {
protected:
	// Frames from VTEP .2 (of both segments) into @vni with @n fresh source
	// MACs from @first.
	void spray(std::uint32_t vni, std::uint32_t first, std::uint32_t n)
	{
		for (std::uint32_t i = first; i < first + n; i++) {
			MacAddr src = mac("02:77:00:00:00:00");
			src.b[3] = static_cast<std::uint8_t>(i >> 16);
			src.b[4] = static_cast<std::uint8_t>(i >> 8);
			src.b[5] = static_cast<std::uint8_t>(i);
			ASSERT_EQ(run_xdp(from_vtep(kVtep2, vni, vm_ping(kBroadcast, src, 3, 1))).retval,
				  XDP_PASS)
				<< "a frame whose source is not learned is still delivered";
		}
	}
	std::size_t learned_entries(std::uint32_t segment)
	{
		std::size_t n = 0;
		for (const auto &[k, e] : dp_->tables().fdb.dump())
			n += k.segment == segment && (e.flags & OVX_FDB_LEARNED);
		return n;
	}
};

TEST_F(Learning, ASegmentLearnsUpToItsLimit)
{
	std::string yaml = packet_config_text();
	yaml.replace(yaml.find("    aging: 300\n"), 0, "    learn_limit: 4\n");
	apply_config_text(*dp_, yaml);
	spray(5001, 0, 10);
	EXPECT_EQ(learned_entries(kBlue), 4u);
	EXPECT_EQ(stats(kBlue).learned, 4u);
	EXPECT_EQ(stats(kBlue).learn_refused, 6u);
	EXPECT_EQ(dp_->tables().learned.get(kBlue), 4u);
	EXPECT_EQ(dp_->tables().learned.get(0), 4u);
	// An entry reclaimed by the control plane gives its room back.
	ovx_fdb_key key{};
	key.segment = kBlue;
	std::memcpy(key.mac, mac("02:77:00:00:00:00").b, 6);
	ASSERT_TRUE(dp_->tables().fdb.erase(key));
	dp_->tables().learned.release(kBlue, 1);
	dp_->tables().learned.release(0, 1);
	spray(5001, 100, 1);
	EXPECT_EQ(learned_entries(kBlue), 4u);
	EXPECT_EQ(dp_->tables().learned.get(kBlue), 4u);
	EXPECT_EQ(stats(kBlue).learned, 5u);
}

TEST_F(Learning, NoSegmentTakesAnothersRoomAndStaticEntriesKeepTheirs)
{
	// The fixture's FDB holds 4096: a segment may learn 1024 by default.
	spray(5001, 0, 1500);
	EXPECT_EQ(learned_entries(kBlue), 1024u);
	EXPECT_EQ(stats(kBlue).learn_refused, 476u);
	spray(5002, 0, 10);
	EXPECT_EQ(learned_entries(kRed), 10u) << "blue's sources took red's room";
	EXPECT_EQ(stats(kRed).learn_refused, 0u);
	// A static entry (a new port, a remote) still finds room.
	ovx_fdb_entry e{};
	e.kind = OVX_FDB_VTEP;
	e.flags = OVX_FDB_STATIC;
	e.vtep.family = AF_INET;
	e.vtep.a[0] = htonl(kVtep2);
	put_fdb(kBlue, mac("02:00:00:00:0a:0a"), e);
	EXPECT_TRUE(fdb(kBlue, mac("02:00:00:00:0a:0a")));
}

TEST_F(Learning, AllSegmentsTogetherLeaveRoomForStaticEntries)
{
	// Limits per segment as large as the FDB: the FDB's own limit holds.
	std::string yaml = packet_config_text();
	yaml.replace(yaml.find("    aging: 300\n"), 0, "    learn_limit: 4096\n");
	apply_config_text(*dp_, yaml);
	const std::uint32_t room = dp_->tables().config.lookup(0)->learn_max;
	EXPECT_EQ(room, 4096u - dp_->tables().fdb.count() - 4096 / 16);
	spray(5001, 0, 4096);
	EXPECT_EQ(learned_entries(kBlue), room);
	EXPECT_EQ(stats(kBlue).learn_refused, 4096u - room);
	EXPECT_EQ(dp_->tables().fdb.count() + 4096 / 16, 4096u) << "the static reserve is free";
}

TEST_F(XdpUnderlay, LinkPaddingIsNotPartOfTheInnerFrame)
{
	// A short inner frame (an ARP), padded by the sender's link layer.
	const Bytes arp = eth(kVm1, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	Bytes frame = from_vtep(kVtep2, 5001, arp);
	frame.resize(frame.size() + 24, 0);
	const auto r = run_xdp(frame);
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(arp, kBlue, static_cast<std::uint32_t>(ifindex("vm1")), kVm1Port)));
	EXPECT_EQ(stats(kBlue).rx_bytes, arp.size());
}

TEST_F(XdpUnderlay, HostTrafficPassesUntouched)
{
	const Bytes others[] = {
		eth(kUnderlayMac, kVtep2Mac, kEthArp, arp_request(kVtep2Mac, kVtep2, kLocalVtep)),
		eth(kUnderlayMac, kVtep2Mac, kEthIp, ip4(kVtep2, kLocalVtep, 17, udp(5000, 53, {}))),
		vm_ping(kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep),
		eth(kUnderlayMac, kVtep2Mac, kEthIp, {}), // no IP header: the kernel's to drop
	};
	for (const Bytes &f : others) {
		const auto r = run_xdp(f);
		EXPECT_EQ(r.retval, XDP_PASS);
			EXPECT_EQ(hex(r.out), hex(f));
	}
	EXPECT_EQ(stats(0).drops[OVX_DROP_MALFORMED], 0u);
}

} // namespace
} // namespace ovx::test
