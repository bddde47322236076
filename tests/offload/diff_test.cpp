// The offload program against the host's xdp_underlay, frame by frame, in the
// packet environment of tests/bpf (same namespace, same desired state, same
// frame builder). The offload program runs here on the host through
// BPF_PROG_TEST_RUN, like the host program.
//
// What must hold for every frame: when the offload program drops, the host
// program drops too and counts the same reason (the NIC never takes a frame
// the host would have delivered, and names it as the host would); when it
// passes, the frame is byte for byte what came in (the host sees what it
// would have seen without the NIC); when it relays (XDP_TX, relay on), the
// host would have dropped the frame as one for a remote MAC (split horizon).
// The pre-filter cases must be dropped on the NIC, not left to the host.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstring>
#include <functional>
#include <optional>
#include <random>

#include "agent/apply.h"
#include "agent/config.h"
#include "agent/desired.h"
#include "agent/offload.h"
#include "loader/dataplane.h"
#include "loader/offload.h"
#include "maps/stats.h"
#include "tests/bpf/frame_builder.h"
#include "tests/bpf/packet_env.h"

namespace ovx::test {
namespace {

struct XdpRun {
	int verdict = -1;
	Bytes out;
	std::size_t meta_len = 0;
};

XdpRun run_xdp(int prog_fd, const Bytes &frame)
{
	XdpRun r;
	r.out.resize(frame.size() + 256);
	xdp_md ctx{};
	ctx.data_end = static_cast<__u32>(frame.size());
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.out.data(),
		    .data_size_in = static_cast<__u32>(frame.size()),
		    .data_size_out = static_cast<__u32>(r.out.size()), .ctx_in = &ctx,
		    .ctx_out = &ctx, .ctx_size_in = sizeof(ctx), .ctx_size_out = sizeof(ctx),
		    .repeat = 1);
	EXPECT_EQ(bpf_prog_test_run_opts(prog_fd, &opts), 0) << std::strerror(errno);
	r.verdict = static_cast<int>(opts.retval);
	r.out.resize(opts.data_size_out);
	r.meta_len = ctx.data;
	r.out.erase(r.out.begin(), r.out.begin() + ctx.data);
	return r;
}

// Drops by reason, summed over every segment the environment has.
using Drops = std::array<std::uint64_t, OVX_DROP_MAX>;

class OffloadVsHost : public ::testing::Test {
protected:
	void SetUp() override { load(false); }

	void load(bool relay)
	{
		host_ = Dataplane::load_unpinned(4096);
		apply_packet_config(*host_);
		const Config config = parse_config(packet_config_text(), "packet_env.yaml");
		const DesiredState desired = build_desired(config, resolve(config), host_->tables());
		const RelayHops hops = underlay_hops(packet_ifindex("ul0"));
		offload_ = OffloadProgram::load();
		write_offload(offload_->tables(), offload_desired(desired, relay ? &hops : nullptr));
	}

	Drops host_drops() const
	{
		Drops d{};
		for (std::uint32_t seg : {0u, kBlue, kRed}) {
			const ovx_seg_stats s = sum_per_cpu(host_->tables().seg_stats.lookup(seg));
			for (unsigned r = 0; r < OVX_DROP_MAX; r++)
				d[r] += s.drops[r];
		}
		return d;
	}

	Drops offload_drops()
	{
		Drops d{};
		for (std::uint32_t r = 0; r < OVX_DROP_MAX; r++)
			d[r] = offload_->tables().drops.lookup(r).value_or(ovx_offload_counter{}).packets;
		return d;
	}

	static std::optional<unsigned> one_new(const Drops &before, const Drops &after)
	{
		std::optional<unsigned> reason;
		for (unsigned r = 0; r < OVX_DROP_MAX; r++) {
			if (after[r] == before[r])
				continue;
			if (reason || after[r] != before[r] + 1)
				return std::nullopt;
			reason = r;
		}
		return reason;
	}

	std::uint64_t relayed()
	{
		return offload_->tables().relayed.lookup(0).value_or(ovx_offload_counter{}).packets;
	}

	// Both programs on @frame; the differential property, checked. Returns
	// what the offload program did.
	XdpRun compare_run(const Bytes &frame)
	{
		const Drops host_before = host_drops(), off_before = offload_drops();
		const std::uint64_t relayed_before = relayed();
		const XdpRun off = run_xdp(offload_->program_fd(), frame);
		const XdpRun host = run_xdp(host_->program_fd(Program::xdp_underlay), frame);
		const Drops host_after = host_drops(), off_after = offload_drops();
		EXPECT_TRUE(off.verdict == XDP_PASS || off.verdict == XDP_DROP || off.verdict == XDP_TX)
			<< "offload verdict " << off.verdict << " for " << hex(frame);
		if (off.verdict == XDP_TX) {
			EXPECT_EQ(host.verdict, XDP_DROP) << "the NIC relays what the host takes: " << hex(frame);
			EXPECT_EQ(one_new(host_before, host_after), OVX_DROP_SPLIT_HORIZON)
				<< "the NIC relays a frame the host drops for another reason: " << hex(frame);
			EXPECT_EQ(relayed(), relayed_before + 1);
			EXPECT_EQ(off_after, off_before);
		} else if (off.verdict == XDP_DROP) {
			EXPECT_EQ(host.verdict, XDP_DROP) << "the NIC drops what the host takes: " << hex(frame);
			const auto off_reason = one_new(off_before, off_after);
			EXPECT_TRUE(off_reason) << "offload drop not counted once: " << hex(frame);
			EXPECT_EQ(off_reason, one_new(host_before, host_after))
				<< "NIC and host name different drop reasons: " << hex(frame);
		} else {
			EXPECT_EQ(hex(off.out), hex(frame)) << "a passed frame changed on the NIC";
			EXPECT_EQ(off.meta_len, 0u);
			EXPECT_EQ(off_after, off_before) << "a passed frame was counted as a drop";
			EXPECT_EQ(relayed(), relayed_before);
		}
		return off;
	}

	int compare(const Bytes &frame) { return compare_run(frame).verdict; }

	std::optional<Dataplane> host_;
	std::optional<OffloadProgram> offload_;
};

const Bytes kInner = vm_ping(kVm1, kRemoteStatic, 2, 1);

Bytes from(std::uint32_t src, std::uint32_t dst, std::uint32_t vni, const Bytes &inner = kInner)
{
	return vxlan_frame(Underlay{.dst_mac = kUnderlayMac,
				    .src_mac = src == kVtep3 ? kVtep3Mac : kVtep2Mac,
				    .src_ip = src,
				    .dst_ip = dst,
				    .sport = 51000},
			   vni, inner);
}

struct Case {
	const char *name;
	std::function<Bytes()> frame;
	int offload_verdict; // what the NIC must do with it
};

void PrintTo(const Case &c, std::ostream *os)
{
	*os << c.name;
}

class Frames : public OffloadVsHost, public ::testing::WithParamInterface<Case> {};

TEST_P(Frames, SameVerdictAsTheHostForWhatTheNicHandles)
{
	EXPECT_EQ(compare(GetParam().frame()), GetParam().offload_verdict);
}

Bytes truncated()
{
	Bytes f = from(kVtep2, kLocalVtep, 5001);
	f.resize(14 + 20 + 8 + 8 + 10);
	return f;
}

INSTANTIATE_TEST_SUITE_P(
	Cases, Frames,
	::testing::Values(
		// The pre-filter: dropped on the NIC.
		Case{"UnknownVni", [] { return from(kVtep2, kLocalVtep, 7777); }, XDP_DROP},
		Case{"NotOurVtep", [] { return from(kVtep2, ipv4("192.168.77.9"), 5001); }, XDP_DROP},
		Case{"UnknownVtep", [] { return from(ipv4("192.168.77.99"), kLocalVtep, 5001); },
		     XDP_DROP},
		Case{"VtepOfAnotherSegment", [] { return from(kVtep3, kLocalVtep, 5002); }, XDP_DROP},
		Case{"Truncated", truncated, XDP_DROP},
		Case{"NoVniFlag",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					ip4(kVtep2, kLocalVtep, 17, udp(51000, 4789, vxlan(5001, kInner, 0))));
		     },
		     XDP_DROP},
		Case{"Fragment",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					ip4(kVtep2, kLocalVtep, 17, udp(51000, 4789, vxlan(5001, kInner)),
					    Ipv4Opts{.frag = 0x2000}));
		     },
		     XDP_DROP},
		// Overlay frames the host decapsulates, floods or drops later: the
		// NIC passes them untouched.
		Case{"ToALocalPort", [] { return from(kVtep2, kLocalVtep, 5001); }, XDP_PASS},
		Case{"OtherTenantSameMac", [] { return from(kVtep2, kLocalVtep, 5002); }, XDP_PASS},
		Case{"Broadcast",
		     [] {
			     return from(kVtep2, kLocalVtep, 5001,
					 eth(kBroadcast, kRemoteStatic, kEthArp,
					     arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"))));
		     },
		     XDP_PASS},
		Case{"ForARemoteMac",
		     [] { return from(kVtep3, kLocalVtep, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2)); },
		     XDP_PASS},
		// The host's own traffic.
		Case{"Arp",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthArp,
					arp_request(kVtep2Mac, kVtep2, kLocalVtep));
		     },
		     XDP_PASS},
		Case{"Dns",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					ip4(kVtep2, kLocalVtep, 17, udp(5000, 53, {})));
		     },
		     XDP_PASS},
		Case{"Ping", [] { return vm_ping(kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep); }, XDP_PASS},
		Case{"NoIpHeader", [] { return eth(kUnderlayMac, kVtep2Mac, kEthIp, {}); }, XDP_PASS}),
	[](const auto &info) { return std::string(info.param.name); });

// Frames mutated at random in the bytes that decide (addresses, flags, VNI,
// ports, lengths): whatever the NIC drops, the host drops for the same reason.
TEST_F(OffloadVsHost, MutatedFramesNeverDisagree)
{
	std::mt19937 rng(7);
	const Bytes seeds[] = {from(kVtep2, kLocalVtep, 5001), from(kVtep3, kLocalVtep, 5002),
			       from(kVtep2, kLocalVtep, 5002,
				    eth(kBroadcast, kRemoteStatic, kEthArp,
					arp_request(kRemoteStatic, 2, 1)))};
	// Outer IP version/IHL, fragment bits, protocol, addresses; UDP port;
	// VXLAN flags and VNI; the inner destination MAC.
	const std::size_t hot[] = {12, 13, 14, 20, 21, 23, 26, 29, 30, 33, 36, 37, 42, 46, 47, 48, 50, 55};
	int drops = 0, passes = 0;
	for (int i = 0; i < 600; i++) {
		Bytes f = seeds[rng() % std::size(seeds)];
		for (unsigned n = 1 + rng() % 2; n > 0; n--) {
			const std::size_t at = hot[rng() % std::size(hot)];
			f[at] = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : f[at] ^ (1u << (rng() % 8)));
		}
		if (rng() % 8 == 0)
			f.resize(14 + rng() % (f.size() - 14));
		(compare(f) == XDP_DROP ? drops : passes)++;
		if (HasFailure())
			FAIL() << "mutation " << i << " disagrees: " << hex(f);
	}
	// Both sides of the filter were exercised.
	EXPECT_GT(drops, 100);
	EXPECT_GT(passes, 100);
}

class Relay : public OffloadVsHost {
protected:
	void SetUp() override { load(true); }
};

TEST_F(Relay, SendsAFrameForARemoteMacStraightToItsVtep)
{
	// kRemoteStatic sits behind .2 (static); .3 sends a frame for it.
	const Bytes inner = vm_ping(kRemoteStatic, kVm2, 1, 2);
	const XdpRun r = compare_run(from(kVtep3, kLocalVtep, 5001, inner));
	ASSERT_EQ(r.verdict, XDP_TX);
	EXPECT_EQ(hex(r.out), hex(vxlan_frame(Underlay{.dst_mac = kVtep2Mac,
							.src_mac = kUnderlayMac,
							.src_ip = kLocalVtep,
							.dst_ip = kVtep2,
							.sport = 51000},
					       5001, inner)));
}

TEST_F(Relay, NeverBackToTheSender)
{
	EXPECT_EQ(compare(from(kVtep2, kLocalVtep, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2))), XDP_PASS);
}

TEST_F(Relay, OnlyWithinTheSegment)
{
	// red has no entry for kRemoteStatic: the same MAC there is the host's.
	EXPECT_EQ(compare(from(kVtep2, kLocalVtep, 5002, vm_ping(kRemoteStatic, kVm3, 1, 2))), XDP_PASS);
	EXPECT_EQ(compare(from(kVtep3, kLocalVtep, 5001, vm_ping(kVm1, kRemoteStatic, 1, 2))), XDP_PASS);
}

TEST_F(Relay, MutatedFramesNeverDisagree)
{
	std::mt19937 rng(11);
	const Bytes seed = from(kVtep3, kLocalVtep, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2));
	const std::size_t hot[] = {26, 29, 30, 33, 42, 46, 47, 48, 50, 55};
	int relays = 0;
	for (int i = 0; i < 300; i++) {
		Bytes f = seed;
		const std::size_t at = hot[rng() % std::size(hot)];
		f[at] = static_cast<std::uint8_t>(f[at] ^ (1u << (rng() % 8)));
		relays += compare(f) == XDP_TX;
		if (HasFailure())
			FAIL() << "mutation " << i << " disagrees: " << hex(f);
	}
	EXPECT_GT(relays, 0);
}

TEST_F(OffloadVsHost, UnconfiguredOffloadPassesEverything)
{
	OffloadProgram empty = OffloadProgram::load();
	for (const Bytes &f : {from(kVtep2, kLocalVtep, 7777), truncated()}) {
		const XdpRun r = run_xdp(empty.program_fd(), f);
		EXPECT_EQ(r.verdict, XDP_PASS);
		EXPECT_EQ(hex(r.out), hex(f));
	}
}

TEST_F(OffloadVsHost, CountsBytesOfDroppedFrames)
{
	const Bytes f = from(kVtep2, kLocalVtep, 7777);
	ASSERT_EQ(compare(f), XDP_DROP);
	const auto c = offload_->tables().drops.lookup(OVX_DROP_UNKNOWN_VNI);
	ASSERT_TRUE(c);
	EXPECT_EQ(c->packets, 1u);
	EXPECT_EQ(c->bytes, f.size());
}

} // namespace
} // namespace ovx::test

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	if (::testing::GTEST_FLAG(list_tests))
		return RUN_ALL_TESTS(); // discovery at build time: no namespace needed
	try {
		ovx::test::setup_namespace();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "offload_diff_tests: %s\n", e.what());
		return 1;
	}
	return RUN_ALL_TESTS();
}
