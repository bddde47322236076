// xdp_underlay: the VTEP's receive side, frame by frame.
#include <arpa/inet.h>
#include <linux/bpf.h>

#include <functional>

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
	EXPECT_EQ(hex(r.meta), hex(meta(kBlue, static_cast<std::uint32_t>(ifindex("vm1")))));
	EXPECT_EQ(hex(r.out), hex(ping_to_vm1));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
}

TEST_F(XdpUnderlay, SameMacInAnotherTenantGoesToThatTenantsPort)
{
	const auto r = run_xdp(from_vtep(kVtep2, 5002, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.meta), hex(meta(kRed, static_cast<std::uint32_t>(ifindex("vm3")))));
	EXPECT_EQ(stats(kRed).rx_packets, 1u);
	EXPECT_EQ(stats(kBlue).rx_packets, 0u);
}

TEST_F(XdpUnderlay, BroadcastIsHandedOnForFlooding)
{
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	const auto r = run_xdp(from_vtep(kVtep2, 5001, arp));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.meta), hex(meta(kBlue, 0)));
	EXPECT_EQ(hex(r.out), hex(arp));
}

TEST_F(XdpUnderlay, UnknownUnicastIsHandedOnForFlooding)
{
	const Bytes frame = vm_ping(mac("02:00:00:00:09:09"), kRemoteStatic, 1, 2);
	const auto r = run_xdp(from_vtep(kVtep2, 5001, frame));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.meta), hex(meta(kBlue, 0)));
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
	const auto r = run_xdp(from_vtep(kVtep2, 5001, vm_ping(old, kRemoteStatic, 2, 1)));
	EXPECT_EQ(hex(r.meta), hex(meta(kBlue, 0)));
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
		DropCase{"ForARemoteMac",
			 [] {
				 return vxlan_frame({kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep,
						     51000, 4789},
						    5001, vm_ping(kRemoteStatic, kVm2, 1, 2));
			 },
			 kBlue, OVX_DROP_SPLIT_HORIZON}),
	[](const auto &info) { return std::string(info.param.name); });

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
		EXPECT_TRUE(r.meta.empty());
		EXPECT_EQ(hex(r.out), hex(f));
	}
	EXPECT_EQ(stats(0).drops[OVX_DROP_MALFORMED], 0u);
}

} // namespace
} // namespace ovx::test
