// Every encapsulation over both underlay families, through the real
// programs: exact bytes out for exact bytes in, and each refusal counted
// under its reason.
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "maps/stats.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

constexpr std::uint64_t kSttContext = 0x1122334455667788ull;
const MacAddr kStranger = mac("02:00:00:00:03:03");

struct EncapCase {
	Encap encap;
	int family;
	const char *name;
};

const char *encap_text(Encap e)
{
	switch (e) {
	case Encap::vxlan:
		return "vxlan";
	case Encap::geneve:
		return "geneve";
	case Encap::nvgre:
		return "nvgre";
	case Encap::stt:
		return "stt";
	}
	return "?";
}

std::uint64_t blue_id(Encap e)
{
	return e == Encap::stt ? kSttContext : 5001;
}

Ip6Addr v4_in_6(std::uint32_t a)
{
	Ip6Addr out{};
	out[0] = static_cast<std::uint8_t>(a >> 24);
	out[1] = static_cast<std::uint8_t>(a >> 16);
	out[2] = static_cast<std::uint8_t>(a >> 8);
	out[3] = static_cast<std::uint8_t>(a);
	return out;
}

class EncapTest : public DatapathTest {
protected:
	// blue (segment 1: vm1, vm2, a static remote behind VTEP 2, flooding to
	// VTEPs 2 and 3) and red (segment 2: vm3), both in @encap, with VTEPs of
	// @family; the underlay has an address of each family.
	void configure(Encap encap, int family)
	{
		encap_ = encap;
		family_ = family;
		apply_config_text(*dp_, encap_config_text(encap_text(encap), blue_id(encap), family));
	}

	Ip6Addr local() const { return family_ == AF_INET6 ? kLocalVtep6 : v4_in_6(kLocalVtep); }
	Ip6Addr vtep(int n) const
	{
		if (family_ == AF_INET6)
			return n == 2 ? kVtep2v6 : n == 3 ? kVtep3v6 : ipv6("fd00:77::9");
		return v4_in_6(n == 2 ? kVtep2 : n == 3 ? kVtep3 : ipv4("192.168.77.9"));
	}
	std::size_t l4_at() const { return 14 + outer_ip_len(family_); }

	// What this host sends toward VTEP @n, with the entropy @sent carries.
	Outer to_vtep(int n, const Bytes &sent) const
	{
		Outer o{.dst_mac = n == 2 ? kVtep2Mac : kVtep3Mac,
			.src_mac = kUnderlayMac,
			.family = family_,
			.src = local(),
			.dst = vtep(n)};
		const std::size_t l4 = l4_at();
		if (sent.size() < l4 + 12)
			return o;
		if (encap_ == Encap::nvgre)
			o.entropy = sent[l4 + 7];
		else
			o.entropy = static_cast<std::uint16_t>(sent[l4] << 8 | sent[l4 + 1]);
		if (encap_ == Encap::stt)
			o.stt_frame_id = static_cast<std::uint32_t>(sent[l4 + 8] << 24 |
								    sent[l4 + 9] << 16 |
								    sent[l4 + 10] << 8 | sent[l4 + 11]);
		return o;
	}

	// What VTEP @n sends to @dst (this host by default).
	Outer from_vtep(int n) const
	{
		return Outer{.dst_mac = kUnderlayMac,
			     .src_mac = n == 3 ? kVtep3Mac : kVtep2Mac,
			     .family = family_,
			     .src = vtep(n),
			     .dst = local(),
			     .entropy = 51000,
			     .stt_frame_id = 0x01020304};
	}

	Bytes from_vtep_frame(int n, std::uint64_t id, const Bytes &inner) const
	{
		return tunnel_frame(from_vtep(n), encap_, id, inner);
	}

	std::uint64_t drops(std::uint32_t segment, ovx_drop_reason r) { return stats(segment).drops[r]; }

	Encap encap_ = Encap::vxlan;
	int family_ = AF_INET;
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"));
	const Bytes ping_remote = vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3"));
};

class EveryEncap : public EncapTest, public ::testing::WithParamInterface<EncapCase> {
protected:
	void SetUp() override
	{
		EncapTest::SetUp();
		configure(GetParam().encap, GetParam().family);
	}
};

TEST_P(EveryEncap, EncapsulatesToTheRemoteVtep)
{
	const auto r = run_tc(Program::tc_port, "vm1", ping_remote);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	// The entropy (source port, FlowID) and STT's frame id vary; where they
	// sit and everything around them must match to the byte.
	EXPECT_EQ(hex(r.out), hex(tunnel_frame(to_vtep(2, r.out), encap_, blue_id(encap_),
					       ping_remote)));
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
	EXPECT_EQ(stats(kBlue).tx_bytes, ping_remote.size());
}

TEST_P(EveryEncap, FloodsBroadcastToTheLocalPortAndEveryVtep)
{
	const Bytes arp = eth(kBroadcast, kVm1, kEthArp,
			      arp_request(kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.9")));
	const auto r = run_tc(Program::tc_port, "vm1", arp);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	const auto local = captured("vm2");
	ASSERT_EQ(local.size(), 1u);
	EXPECT_EQ(hex(local[0]), hex(arp));
	const auto wire = captured("ul0");
	ASSERT_EQ(wire.size(), 1u);
	EXPECT_EQ(hex(wire[0]), hex(tunnel_frame(to_vtep(2, wire[0]), encap_, blue_id(encap_), arp)));
	EXPECT_EQ(hex(r.out), hex(tunnel_frame(to_vtep(3, r.out), encap_, blue_id(encap_), arp)));
	EXPECT_TRUE(captured("vm3").empty()) << "flooded into another tenant";
	EXPECT_EQ(stats(kBlue).flood_copies, 3u);
}

TEST_P(EveryEncap, XdpDecapsulatesToTheLocalPort)
{
	const auto r = run_xdp(from_vtep_frame(2, blue_id(encap_), ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out),
		  hex(decapsulated(ping_to_vm1, kBlue, static_cast<std::uint32_t>(ifindex("vm1")), kVm1Port)));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
	EXPECT_EQ(stats(kBlue).rx_bytes, ping_to_vm1.size());
}

TEST_P(EveryEncap, TcDecapsulatesWholeFramesWithoutXdp)
{
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      from_vtep_frame(2, blue_id(encap_), ping_to_vm1));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(ping_to_vm1));
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
}

// Found by tests/fuzz/bpf_fuzz.cpp. Over an IPv6 underlay, tc_underlay's
// bpf_skb_adjust_room() refused to strip the outer headers when fewer than
// 40 bytes (an IPv6 header: the kernel's minimum for the skb's protocol)
// followed the inner Ethernet header: an ARP request (28) was counted as
// received *and* dropped as tx_error, and never delivered (mode tc with
// IPv6 VTEPs never resolved ARP; over IPv4 the same below 20 bytes).
TEST_P(EveryEncap, TcDeliversAnArpRequestWithoutXdp)
{
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	const auto r = run_tc(Program::tc_underlay, "ul0", from_vtep_frame(2, blue_id(encap_), arp));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(stats(kBlue).rx_packets, 1u);
	EXPECT_EQ(drops(kBlue, OVX_DROP_TX_ERROR), 0u);
}

TEST_P(EveryEncap, SameMacInAnotherTenantStaysThere)
{
	const auto r = run_xdp(from_vtep_frame(2, 6001, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out),
		  hex(decapsulated(ping_to_vm1, kRed, static_cast<std::uint32_t>(ifindex("vm3")), kVm3Port)));
}

TEST_P(EveryEncap, LearnsTheSenderBehindItsVtep)
{
	const auto r = run_xdp(from_vtep_frame(3, blue_id(encap_), vm_ping(kVm1, kStranger, 3, 1)));
	EXPECT_EQ(r.retval, XDP_PASS);
	const auto e = fdb(kBlue, kStranger);
	ASSERT_TRUE(e);
	EXPECT_EQ(e->kind, OVX_FDB_VTEP);
	EXPECT_EQ(e->vtep.family, family_);
	EXPECT_EQ(std::memcmp(e->vtep.a, vtep(3).data(), family_ == AF_INET6 ? 16 : 4), 0);
}

TEST_P(EveryEncap, UnknownIdIsDroppedAndCounted)
{
	const auto r = run_xdp(from_vtep_frame(2, 7777, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_UNKNOWN_VNI), 1u);
}

TEST_P(EveryEncap, SenderOutsideTheSegmentIsDropped)
{
	const auto r = run_xdp(from_vtep_frame(9, blue_id(encap_), ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(drops(kBlue, OVX_DROP_UNKNOWN_VTEP), 1u);
	EXPECT_FALSE(fdb(kBlue, kRemoteStatic)->flags & OVX_FDB_LEARNED);
}

TEST_P(EveryEncap, FrameForAnotherAddressIsDropped)
{
	Outer o = from_vtep(2);
	o.dst = vtep(3);
	const auto r = run_xdp(tunnel_frame(o, encap_, blue_id(encap_), ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_NOT_OUR_VTEP), 1u);
}

TEST_P(EveryEncap, TruncatedFrameIsMalformed)
{
	Bytes frame = from_vtep_frame(2, blue_id(encap_), ping_to_vm1);
	frame.resize(l4_at() + (encap_ == Encap::nvgre ? 6 : encap_ == Encap::stt ? 24 : 12));
	const auto r = run_xdp(frame);
	EXPECT_EQ(r.retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_MALFORMED), 1u);
}

INSTANTIATE_TEST_SUITE_P(Encaps, EveryEncap,
			 ::testing::Values(EncapCase{Encap::vxlan, AF_INET, "vxlan4"},
					   EncapCase{Encap::vxlan, AF_INET6, "vxlan6"},
					   EncapCase{Encap::geneve, AF_INET, "geneve4"},
					   EncapCase{Encap::geneve, AF_INET6, "geneve6"},
					   EncapCase{Encap::nvgre, AF_INET, "nvgre4"},
					   EncapCase{Encap::nvgre, AF_INET6, "nvgre6"},
					   EncapCase{Encap::stt, AF_INET, "stt4"},
					   EncapCase{Encap::stt, AF_INET6, "stt6"}),
			 [](const auto &info) { return std::string(info.param.name); });

// --- What only one encapsulation has -------------------------------------

using Geneve = EncapTest;

Bytes geneve_from_vtep2(const Bytes &options, std::uint8_t flags, const Bytes &inner,
			std::uint16_t proto = kEthTeb)
{
	const Outer o{.dst_mac = kUnderlayMac,
		      .src_mac = kVtep2Mac,
		      .family = AF_INET,
		      .src = v4_in_6(kVtep2),
		      .dst = v4_in_6(kLocalVtep)};
	return ip_frame(o, 17, udp(51000, 6081, geneve(5001, inner, options, flags, proto)));
}

TEST_F(Geneve, OptionsAreSkipped)
{
	configure(Encap::geneve, AF_INET);
	// class 0x0102, type 0x01 (not critical), one word of data; then an
	// option of no data.
	const Bytes opts{0x01, 0x02, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0x7f, 0x00};
	const auto r = run_xdp(geneve_from_vtep2(opts, 0, ping_to_vm1));
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(ping_to_vm1, kBlue, static_cast<std::uint32_t>(ifindex("vm1")), kVm1Port)));
}

TEST_F(Geneve, UnknownCriticalOptionIsDropped)
{
	configure(Encap::geneve, AF_INET);
	const Bytes opts{0x01, 0x02, 0x81, 0x00};
	EXPECT_EQ(run_xdp(geneve_from_vtep2(opts, 0, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(run_xdp(geneve_from_vtep2(opts, 0x40, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_CRITICAL_OPTION), 2u);
}

TEST_F(Geneve, ControlPacketsAndOtherPayloadsAreRefused)
{
	configure(Encap::geneve, AF_INET);
	EXPECT_EQ(run_xdp(geneve_from_vtep2({}, 0x80, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_UNSUPPORTED_FLAGS), 1u);
	EXPECT_EQ(run_xdp(geneve_from_vtep2({}, 0, ping_to_vm1, kEthIp)).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_UNSUPPORTED_PROTO), 1u);
}

TEST_F(Geneve, OptionsRunningPastTheFrameAreMalformed)
{
	configure(Encap::geneve, AF_INET);
	// Says 8 words of options, carries one option claiming 31 words.
	Bytes frame = geneve_from_vtep2({0x01, 0x02, 0x01, 0x1f}, 0, {});
	frame[14 + 20 + 8] = 8;
	EXPECT_EQ(run_xdp(frame).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_MALFORMED), 1u);
}

TEST_F(Geneve, AnOptionLongerThanTheOptionAreaIsMalformed)
{
	configure(Encap::geneve, AF_INET);
	// One word of options whose option claims two words of data: what it
	// covers past the area (here the inner frame's first 8 bytes) could
	// hide a critical option.
	EXPECT_EQ(run_xdp(geneve_from_vtep2({0x01, 0x02, 0x01, 0x02}, 0, ping_to_vm1)).retval,
		  XDP_DROP);
	// Two options, the second running one word past the area.
	EXPECT_EQ(run_xdp(geneve_from_vtep2({0x01, 0x02, 0x01, 0x00, 0x01, 0x02, 0x01, 0x01}, 0,
					    ping_to_vm1))
			  .retval,
		  XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_MALFORMED), 2u);
	EXPECT_EQ(stats(kBlue).rx_packets, 0u);
}

TEST_F(Geneve, GenevePortIsTheHostsWhileNoSegmentUsesGeneve)
{
	configure(Encap::vxlan, AF_INET);
	const Bytes frame = geneve_from_vtep2({}, 0, ping_to_vm1);
	const auto r = run_xdp(frame);
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(frame));
}

using Nvgre = EncapTest;

Bytes nvgre_from_vtep2(std::uint16_t flags, std::uint16_t proto, const Bytes &inner)
{
	const Outer o{.dst_mac = kUnderlayMac,
		      .src_mac = kVtep2Mac,
		      .family = AF_INET6,
		      .src = kVtep2v6,
		      .dst = kLocalVtep6};
	return ip_frame(o, 47, nvgre(5001, 0x42, inner, flags, proto));
}

TEST_F(Nvgre, GreWithOtherFlagsOrPayloadIsNotOurs)
{
	configure(Encap::nvgre, AF_INET6);
	EXPECT_EQ(run_xdp(nvgre_from_vtep2(0x2000, kEthTeb, ping_to_vm1)).retval, XDP_PASS);
	EXPECT_EQ(run_xdp(nvgre_from_vtep2(0xa000, kEthTeb, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(run_xdp(nvgre_from_vtep2(0x3000, kEthTeb, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(run_xdp(nvgre_from_vtep2(0x2001, kEthTeb, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_UNSUPPORTED_FLAGS), 3u);
	EXPECT_EQ(run_xdp(nvgre_from_vtep2(0x2000, kEthIp, ping_to_vm1)).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_UNSUPPORTED_PROTO), 1u);
}

TEST_F(Nvgre, TruncatedFramesAreMalformed)
{
	configure(Encap::nvgre, AF_INET6);
	const Bytes whole = nvgre_from_vtep2(0x2000, kEthTeb, ping_to_vm1);
	const std::size_t gre = 14 + 40;
	for (const std::size_t inner : {0, 1, 13}) {
		// The IPv6 payload length says GRE + @inner bytes; the frame holds more.
		Bytes f = whole;
		const std::size_t plen = 8 + inner;
		f[14 + 4] = static_cast<std::uint8_t>(plen >> 8);
		f[14 + 5] = static_cast<std::uint8_t>(plen);
		EXPECT_EQ(run_xdp(f).retval, XDP_DROP) << inner;
		// And cut there for real.
		f.resize(gre + plen);
		EXPECT_EQ(run_xdp(f).retval, XDP_DROP) << inner;
	}
	EXPECT_EQ(drops(0, OVX_DROP_MALFORMED), 6u);
	EXPECT_EQ(stats(kBlue).rx_packets, 0u);
}

TEST_F(Nvgre, FlowIdFollowsTheInnerFlow)
{
	configure(Encap::nvgre, AF_INET);
	std::set<std::uint8_t> ids;
	for (std::uint32_t dst = 1; dst <= 32; dst++)
		ids.insert(run_tc(Program::tc_port, "vm1",
				  vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.1.0") + dst))
				   .out.at(14 + 20 + 7));
	EXPECT_GT(ids.size(), 8u) << "no FlowID entropy for the underlay's ECMP";
}

class Stt : public EncapTest {
protected:
	void SetUp() override
	{
		EncapTest::SetUp();
		configure(Encap::stt, AF_INET);
	}

	Bytes segment(const Bytes &frame, std::size_t off, std::size_t len, std::uint32_t id,
		      int from = 2) const
	{
		const Bytes chunk(frame.begin() + static_cast<long>(off),
				  frame.begin() + static_cast<long>(off + len));
		return ip_frame(from_vtep(from), 6,
				stt_segment(51000, static_cast<std::uint16_t>(frame.size()),
					    static_cast<std::uint16_t>(off), id, chunk));
	}

	// A frame large enough to need two segments on a 1500-byte underlay.
	const Bytes big = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"), 1900);
	const Bytes big_stt = stt_frame(kSttContext, big);
};

TEST_F(Stt, ContextIdIsSixtyFourBits)
{
	const auto r = run_tc(Program::tc_port, "vm1", ping_remote);
	ASSERT_GT(r.out.size(), 14u + 20 + 38);
	// STT header: version, flags, L4 offset, reserved, MSS, VLAN, context id.
	const Bytes ctx(r.out.begin() + 14 + 20 + 20 + 8, r.out.begin() + 14 + 20 + 20 + 16);
	EXPECT_EQ(hex(ctx), "11 22 33 44 55 66 77 88");
}

TEST_F(Stt, XdpLeavesSegmentsOfLargerFramesToTc)
{
	const Bytes first = segment(big_stt, 0, 1400, 7);
	const auto r = run_xdp(first);
	EXPECT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(first));
}

TEST_F(Stt, SegmentsAreReassembledInAnyOrder)
{
	for (const bool reverse : {false, true}) {
		const std::uint32_t id = reverse ? 22 : 21;
		const Bytes a = segment(big_stt, 0, 1400, id);
		const Bytes b = segment(big_stt, 1400, big_stt.size() - 1400, id);
		const auto first = run_tc(Program::tc_underlay, "ul0", reverse ? b : a);
		EXPECT_EQ(first.retval, TC_ACT_STOLEN) << "a segment is kept, not dropped";
		const auto last = run_tc(Program::tc_underlay, "ul0", reverse ? a : b);
		EXPECT_EQ(last.retval, TC_ACT_REDIRECT);
		EXPECT_EQ(hex(last.out), hex(big));
	}
	EXPECT_EQ(stats(kBlue).stt_reassembled, 2u);
	EXPECT_EQ(stats(kBlue).rx_packets, 2u);
	EXPECT_EQ(stats(kBlue).rx_bytes, 2 * big.size());
}

TEST_F(Stt, ARebuiltFrameLargerThanItsPortTakesIsCounted)
{
	// vm1 takes 4000-byte frames, vm2 1500: the 1900-byte frame fits only vm1.
	const Bytes to_vm2 = vm_ping(kVm2, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.3"), 1900);
	const Bytes stt = stt_frame(kSttContext, to_vm2);
	EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", segment(stt, 0, 1400, 51)).retval,
		  TC_ACT_STOLEN);
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      segment(stt, 1400, stt.size() - 1400, 51));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(drops(kBlue, OVX_DROP_MTU_EXCEEDED), 1u);
	EXPECT_EQ(stats(kBlue).stt_reassembled, 0u);
}

// The same frame is counted once: as a drop, not also as received
// (stt_deliver() counted rx before its MTU check dropped the frame, the
// class of double count tests/fuzz/bpf_fuzz.cpp found).
TEST_F(Stt, ARebuiltFrameLargerThanItsPortTakesIsCountedOnce)
{
	const Bytes to_vm2 = vm_ping(kVm2, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.3"), 1900);
	const Bytes stt = stt_frame(kSttContext, to_vm2);
	run_tc(Program::tc_underlay, "ul0", segment(stt, 0, 1400, 52));
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      segment(stt, 1400, stt.size() - 1400, 52));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(drops(kBlue, OVX_DROP_MTU_EXCEEDED), 1u);
	EXPECT_EQ(stats(kBlue).rx_packets, 0u);
}

TEST_F(Stt, InconsistentSegmentsAreDroppedAndCounted)
{
	const Bytes a = segment(big_stt, 0, 1400, 31);
	EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", a).retval, TC_ACT_STOLEN);
	// Same frame id, another frame length.
	Bytes shorter = big_stt;
	shorter.resize(big_stt.size() - 100);
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      segment(shorter, 1400, shorter.size() - 1400, 31));
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(drops(kBlue, OVX_DROP_REASSEMBLY), 1u) << "the frame's segment is known";
	// A segment reaching past its frame's end is refused outright.
	Bytes past = segment(big_stt, 1400, big_stt.size() - 1400, 32);
	past[14 + 20 + 6] = 0xff; // offset 0xff.. beyond the length
	EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", past).retval, TC_ACT_SHOT);
	EXPECT_EQ(drops(0, OVX_DROP_REASSEMBLY), 1u);
}

TEST_F(Stt, AnIncompleteFrameTimesOutAndIsCounted)
{
	const Bytes a = segment(big_stt, 0, 1400, 41);
	EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", a).retval, TC_ACT_STOLEN);
	std::this_thread::sleep_for(std::chrono::milliseconds(OVX_STT_TIMEOUT_MS + 50));
	// Another frame that lands in the same slot takes it over.
	for (std::uint32_t id = 1000; drops(kBlue, OVX_DROP_REASSEMBLY) == 0 && id < 5000; id++)
		run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, id));
	EXPECT_EQ(drops(kBlue, OVX_DROP_REASSEMBLY), 1u) << "counted in the frame's own segment";
	EXPECT_EQ(drops(0, OVX_DROP_REASSEMBLY), 0u);
}

TEST_F(Stt, ANonMemberTakesNoSlot)
{
	// VTEP .9 belongs to no segment: its first segments name blue's
	// context id, its later ones none. Neither may hold a slot.
	for (std::uint32_t id = 0; id < 2 * OVX_STT_SLOTS; id++) {
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, id, 9)).retval,
			  TC_ACT_SHOT);
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0",
				 segment(big_stt, 1400, big_stt.size() - 1400, id + 1000, 9))
				  .retval,
			  TC_ACT_SHOT);
	}
	EXPECT_EQ(drops(kBlue, OVX_DROP_UNKNOWN_VTEP), 2u * OVX_STT_SLOTS);
	EXPECT_EQ(drops(0, OVX_DROP_UNKNOWN_VTEP), 2u * OVX_STT_SLOTS);
	// Every frame of a member still gets through.
	for (std::uint32_t id = 0; id < 2 * OVX_STT_SLOTS; id++) {
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, id)).retval,
			  TC_ACT_STOLEN);
		const auto r = run_tc(Program::tc_underlay, "ul0",
				      segment(big_stt, 1400, big_stt.size() - 1400, id));
		EXPECT_EQ(r.retval, TC_ACT_REDIRECT) << id;
	}
	EXPECT_EQ(stats(kBlue).stt_reassembled, 2u * OVX_STT_SLOTS);
	EXPECT_EQ(drops(kBlue, OVX_DROP_MAP_FULL), 0u);
}

TEST_F(Stt, AMemberHoldsAtMostItsShareOfSlots)
{
	// VTEP .3 starts many frames and completes none; .2 (another slot
	// group) is not hurt, and .3's refusals count in its segment.
	for (std::uint32_t id = 0; id < 2 * OVX_STT_SLOTS; id++)
		run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, id, 3));
	EXPECT_EQ(drops(kBlue, OVX_DROP_MAP_FULL), 2u * OVX_STT_SLOTS - OVX_STT_SLOTS_PER_SOURCE);
	EXPECT_EQ(drops(0, OVX_DROP_MAP_FULL), 0u);
	for (std::uint32_t id = 0; id < 2 * OVX_STT_SLOTS; id++) {
		run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, id));
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0",
				 segment(big_stt, 1400, big_stt.size() - 1400, id))
				  .retval,
			  TC_ACT_REDIRECT)
			<< id;
	}
	EXPECT_EQ(stats(kBlue).stt_reassembled, 2u * OVX_STT_SLOTS);
}

// Frame ids that look first at the same slot of their sender's group.
std::uint32_t same_first_slot(std::uint32_t k)
{
	return 5 + k * OVX_STT_SLOTS_PER_SOURCE;
}

TEST_F(Stt, FramesOfOneSenderInFlightTogetherShareNoSlot)
{
	// Two frames of VTEP .2 whose ids start at one slot, interleaved;
	// the second may complete first, and either may complete after the
	// other's slot is free again.
	const Bytes other = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"), 2100);
	const Bytes other_stt = stt_frame(kSttContext, other);
	for (const bool second_first : {false, true}) {
		const std::uint32_t a = same_first_slot(2 * second_first),
				    b = same_first_slot(2 * second_first + 1);
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, a)).retval,
			  TC_ACT_STOLEN);
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", segment(other_stt, 0, 1400, b)).retval,
			  TC_ACT_STOLEN)
			<< "the second frame found its first slot taken";
		const Bytes last_a = segment(big_stt, 1400, big_stt.size() - 1400, a);
		const Bytes last_b = segment(other_stt, 1400, other_stt.size() - 1400, b);
		const auto r1 = run_tc(Program::tc_underlay, "ul0", second_first ? last_b : last_a);
		EXPECT_EQ(r1.retval, TC_ACT_REDIRECT);
		EXPECT_EQ(hex(r1.out), hex(second_first ? other : big));
		const auto r2 = run_tc(Program::tc_underlay, "ul0", second_first ? last_a : last_b);
		EXPECT_EQ(r2.retval, TC_ACT_REDIRECT);
		EXPECT_EQ(hex(r2.out), hex(second_first ? big : other));
	}
	EXPECT_EQ(stats(kBlue).stt_reassembled, 4u);
	for (const std::uint32_t s : {0u, kBlue}) {
		EXPECT_EQ(drops(s, OVX_DROP_MAP_FULL), 0u) << s;
		EXPECT_EQ(drops(s, OVX_DROP_REASSEMBLY), 0u) << s;
	}
}

TEST_F(Stt, AnIncompleteFrameBlocksNoOtherFrameOfItsSender)
{
	// A frame whose last segment is late holds its slot; frames of the
	// same sender that would start there pass it, and it still completes.
	EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", segment(big_stt, 0, 1400, same_first_slot(0)))
			  .retval,
		  TC_ACT_STOLEN);
	for (std::uint32_t k = 1; k < 8; k++) {
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0",
				 segment(big_stt, 0, 1400, same_first_slot(k)))
				  .retval,
			  TC_ACT_STOLEN);
		const auto r = run_tc(Program::tc_underlay, "ul0",
				      segment(big_stt, 1400, big_stt.size() - 1400, same_first_slot(k)));
		EXPECT_EQ(r.retval, TC_ACT_REDIRECT) << k;
		EXPECT_EQ(hex(r.out), hex(big)) << k;
	}
	const auto r = run_tc(Program::tc_underlay, "ul0",
			      segment(big_stt, 1400, big_stt.size() - 1400, same_first_slot(0)));
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(big));
	EXPECT_EQ(stats(kBlue).stt_reassembled, 8u);
	EXPECT_EQ(drops(0, OVX_DROP_MAP_FULL) + drops(kBlue, OVX_DROP_MAP_FULL), 0u);
}

TEST_F(Stt, OneSenderFillsItsWholeGroupAndNoMore)
{
	// Every slot of .2's group, whatever slot its frames look at first:
	// the group's last frame is refused, and .3 (another group) is not.
	std::vector<Bytes> frames;
	for (std::uint32_t k = 0; k <= OVX_STT_SLOTS_PER_SOURCE; k++) {
		frames.push_back(vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"),
					 1900 + 4 * k));
		const int want = k < OVX_STT_SLOTS_PER_SOURCE ? TC_ACT_STOLEN : TC_ACT_SHOT;
		EXPECT_EQ(run_tc(Program::tc_underlay, "ul0",
				 segment(stt_frame(kSttContext, frames[k]), 0, 1400, same_first_slot(k)))
				  .retval,
			  want)
			<< k;
	}
	EXPECT_EQ(drops(kBlue, OVX_DROP_MAP_FULL), 1u) << "in the frame's own segment";
	const Bytes from3 = segment(big_stt, 0, 1400, same_first_slot(0), 3);
	EXPECT_EQ(run_tc(Program::tc_underlay, "ul0", from3).retval, TC_ACT_STOLEN);
	for (std::uint32_t k = 0; k < OVX_STT_SLOTS_PER_SOURCE; k++) {
		const Bytes stt = stt_frame(kSttContext, frames[k]);
		const auto r = run_tc(Program::tc_underlay, "ul0",
				      segment(stt, 1400, stt.size() - 1400, same_first_slot(k)));
		EXPECT_EQ(r.retval, TC_ACT_REDIRECT) << k;
		EXPECT_EQ(hex(r.out), hex(frames[k])) << k;
	}
	EXPECT_EQ(stats(kBlue).stt_reassembled, OVX_STT_SLOTS_PER_SOURCE);
	EXPECT_EQ(drops(kBlue, OVX_DROP_REASSEMBLY), 0u);
}

// A VM's TSO frames and the segmenter (loader/segmenter.h).
class SttSegmenter : public Stt {
protected:
	void SetUp() override
	{
		Stt::SetUp();
		sg_ = ensure_segmenter(kInstance);
		apply_config_text(*dp_, encap_config_text("stt", kSttContext, AF_INET), sg_);
	}
	void TearDown() override { remove_segmenter(kInstance); }

	std::string return_side() const { return segmenter_name(kInstance) + "r"; }
	static constexpr const char *kInstance = "packet-test";
	static constexpr SkbMeta kTso{.gso_size = 1400, .gso_segs = 3};
	Segmenter sg_;
};

TEST_F(SttSegmenter, TsoFramesToARemoteVtepGoToTheSegmenterWhole)
{
	const auto r = run_tc(Program::tc_port, "vm1", ping_remote, kTso);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(ping_remote)) << "encapsulated before the cut";
	EXPECT_EQ(r.mark, static_cast<std::uint32_t>(ifindex("vm1")));
	EXPECT_EQ(stats(kBlue).stt_segments, 2u);
	EXPECT_EQ(stats(kBlue).tx_packets, 0u);
	EXPECT_EQ(port_stats("vm1").rx_packets, 0u) << "its segments are counted instead";
}

TEST_F(SttSegmenter, FloodedTsoFramesAreCutToo)
{
	const Bytes unknown = vm_ping(mac("02:00:00:00:09:09"), kVm1, ipv4("10.0.0.1"),
				      ipv4("10.0.0.9"));
	const auto r = run_tc(Program::tc_port, "vm1", unknown, kTso);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(unknown));
	EXPECT_TRUE(captured("vm2").empty()) << "flooded before the cut";
	EXPECT_EQ(r.mark, static_cast<std::uint32_t>(ifindex("vm1")));
}

TEST_F(SttSegmenter, TsoFramesToALocalPortStayWhole)
{
	const Bytes ping_vm2 = vm_ping(kVm2, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.2"));
	const auto r = run_tc(Program::tc_port, "vm1", ping_vm2, kTso);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(ping_vm2));
	EXPECT_EQ(r.mark, 0u);
	EXPECT_EQ(stats(kBlue).local_packets, 1u);
	EXPECT_EQ(stats(kBlue).stt_segments, 0u);
}

TEST_F(SttSegmenter, ASegmentComesBackAsAFrameOfItsPort)
{
	const SkbMeta from_vm1{.mark = static_cast<std::uint32_t>(ifindex("vm1"))};
	const auto r = run_tc(Program::tc_port, return_side(), ping_remote, from_vm1);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(tunnel_frame(to_vtep(2, r.out), Encap::stt, kSttContext,
					       ping_remote)));
	EXPECT_EQ(r.mark, 0u) << "the port's ifindex stays in the mark";
	EXPECT_EQ(stats(kBlue).tx_packets, 1u);
	EXPECT_EQ(port_stats("vm1").rx_packets, 1u);
}

TEST_F(SttSegmenter, ASegmentMustNameAPortAndItsOwnMac)
{
	// No port in the mark, the segmenter itself, a port whose MAC is not
	// the frame's source: none may inject into a tenant.
	for (const std::uint32_t mark :
	     {0u, static_cast<std::uint32_t>(ifindex(return_side())),
	      static_cast<std::uint32_t>(ifindex("vm2"))})
		EXPECT_EQ(run_tc(Program::tc_port, return_side(), ping_remote, {.mark = mark}).retval,
			  TC_ACT_SHOT)
			<< "mark " << mark;
	EXPECT_EQ(drops(0, OVX_DROP_NO_PORT), 2u);
	EXPECT_EQ(drops(kBlue, OVX_DROP_SPOOFED_SRC), 1u);
	EXPECT_EQ(stats(kBlue).tx_packets, 0u);
}

TEST_F(SttSegmenter, LargeFramesGoToTheSegmenterFirst)
{
	// Not TSO, but larger than one segment: its checksums may still be the
	// device's to finish, which a cut would break.
	const Bytes large = vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3"), 3000);
	const auto r = run_tc(Program::tc_port, "vm1", large);
	EXPECT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(large));
	EXPECT_EQ(r.mark, static_cast<std::uint32_t>(ifindex("vm1")));
	EXPECT_TRUE(captured("ul0").empty());
}

TEST_F(SttSegmenter, ALargeFrameBackFromTheSegmenterLeavesInSttSegments)
{
	// 2870 bytes of ICMP would leave a last piece of 10 bytes when cut at
	// the MSS, in front of the inner IP header's end, which the kernel
	// refuses to cut: pieces are of equal size instead.
	std::uint64_t frames = 0, extra = 0;
	for (const std::size_t payload : {3000, 2870}) {
		const Bytes large =
			vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3"), payload);
		const Bytes stt = stt_frame(kSttContext, large);
		const auto r = run_tc(Program::tc_port, return_side(), large,
				      {.mark = static_cast<std::uint32_t>(ifindex("vm1"))});
		EXPECT_EQ(r.retval, TC_ACT_REDIRECT) << payload;
		auto wire = captured("ul0"); // the clones; the last segment is the frame
		wire.push_back(r.out);
		// As many segments as a 1500-byte underlay needs, of equal size.
		const std::size_t n = (stt.size() + 1459) / 1460, mss = (stt.size() + n - 1) / n;
		ASSERT_EQ(wire.size(), n) << payload;
		const Outer first = to_vtep(2, wire[0]);
		for (std::size_t k = 0; k < n; k++) {
			const std::size_t off = k * mss, len = std::min(mss, stt.size() - off);
			const Bytes piece(stt.begin() + static_cast<long>(off),
					  stt.begin() + static_cast<long>(off + len));
			// One source port and one frame id for the whole frame.
			EXPECT_EQ(hex(wire[k]),
				  hex(ip_frame(first, 6,
					       stt_segment(first.entropy,
							   static_cast<std::uint16_t>(stt.size()),
							   static_cast<std::uint16_t>(off),
							   first.stt_frame_id, piece))))
				<< payload << " segment " << k;
		}
		frames++;
		extra += n - 1;
	}
	EXPECT_EQ(stats(kBlue).tx_packets, frames);
	EXPECT_EQ(stats(kBlue).stt_segments, extra);
	EXPECT_EQ(port_stats("vm1").rx_packets, frames);
}

TEST_F(SttSegmenter, OwnSegmentsAreReassembledByTheReceiver)
{
	// What one host cuts, another rebuilds: the segments, addressed back
	// to this host, become the frame again.
	const Bytes large = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.3"), ipv4("10.0.0.1"), 3000);
	const Bytes stt = stt_frame(kSttContext, large);
	const std::size_t mss = 1460;
	RunResult last;
	for (std::size_t off = 0; off < stt.size(); off += mss) {
		const std::size_t len = std::min(mss, stt.size() - off);
		last = run_tc(Program::tc_underlay, "ul0", segment(stt, off, len, 77));
	}
	EXPECT_EQ(last.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(last.out), hex(large));
	EXPECT_EQ(stats(kBlue).stt_reassembled, 1u);
}

TEST_F(Stt, TsoFramesWithoutASegmenterAreDroppedAndCounted)
{
	const auto r = run_tc(Program::tc_port, "vm1", ping_remote, {.gso_size = 1400, .gso_segs = 3});
	EXPECT_EQ(r.retval, TC_ACT_SHOT);
	EXPECT_EQ(drops(kBlue, OVX_DROP_MTU_EXCEEDED), 1u);
}

TEST_F(Stt, UnknownVersionIsRefused)
{
	const Bytes frame = ip_frame(from_vtep(2), 6,
				     [&] {
					     const Bytes f = stt_frame(kSttContext, ping_to_vm1, 1);
					     return stt_segment(51000,
								static_cast<std::uint16_t>(f.size()),
								0, 5, f);
				     }());
	EXPECT_EQ(run_xdp(frame).retval, XDP_DROP);
	EXPECT_EQ(drops(0, OVX_DROP_UNSUPPORTED_FLAGS), 1u);
}

} // namespace
} // namespace ovx::test
