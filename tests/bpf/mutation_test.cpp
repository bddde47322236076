// The receive and send programs against seeded random mutations of valid
// frames (BPF_PROG_TEST_RUN), with the invariants a tenant boundary needs:
// no frame is delivered into a segment other than its id's, every drop is
// counted under exactly one reason in one segment, and the counters add up
// (one frame: one delivery or one drop, never both, never neither).
// A failure names the seed and the mutated frame.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

constexpr int kMutations = 3000;

// What the counters of the segments that exist say, summed over them.
struct Tally {
	std::uint64_t rx = 0, tx = 0, local = 0, drops = 0;
	std::array<std::uint64_t, OVX_DROP_MAX> by_reason{};
	std::array<std::uint64_t, 3> rx_by_segment{}; // segments 0, blue, red
	std::array<std::uint64_t, 3> drops_by_segment{};
};

class Mutation : public DatapathTest {
protected:
	Tally tally()
	{
		Tally t;
		for (std::uint32_t sid : {0u, kBlue, kRed}) {
			const ovx_seg_stats s = stats(sid);
			t.rx += s.rx_packets;
			t.tx += s.tx_packets;
			t.local += s.local_packets;
			t.rx_by_segment[sid] = s.rx_packets;
			for (unsigned r = 0; r < OVX_DROP_MAX; r++) {
				t.by_reason[r] += s.drops[r];
				t.drops += s.drops[r];
				t.drops_by_segment[sid] += s.drops[r];
			}
		}
		return t;
	}

	// One of a few kinds of damage, at random: bytes flipped (mostly in
	// the headers), a header field set to a random value, the frame cut
	// short, or bytes appended.
	// @min_len: BPF_PROG_TEST_RUN refuses shorter frames (an Ethernet
	// header for XDP; for TC, room for the IP header its ethertype names).
	static Bytes mutate(const Bytes &frame, std::mt19937 &rng, std::size_t min_len)
	{
		Bytes f = frame;
		auto below = [&](std::size_t n) {
			return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
		};
		auto byte = [&] { return static_cast<std::uint8_t>(below(256)); };
		const std::size_t head = std::min<std::size_t>(f.size(), 96);
		switch (below(5)) {
		case 0:
			for (std::size_t i = 0, n = 1 + below(4); i < n; i++)
				f[below(head)] ^= static_cast<std::uint8_t>(1u << below(8));
			break;
		case 1:
			for (std::size_t i = 0, n = 1 + below(3); i < n; i++)
				f[below(head)] = byte();
			break;
		case 2: {
			const std::size_t at = below(head - 1);
			f[at] = byte();
			f[at + 1] = byte();
			break;
		}
		case 3:
			if (f.size() > min_len)
				f.resize(min_len + below(f.size() - min_len));
			break;
		default:
			for (std::size_t i = 0, n = 1 + below(64); i < n; i++)
				f.push_back(byte());
		}
		return f;
	}

	// The VXLAN VNI the frame carries where the programs read it (IPv4,
	// the IHL as the frame says), or -1 when it is not that shape.
	static long vxlan_vni(const Bytes &f)
	{
		if (f.size() < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
			return -1;
		const std::size_t vx = 14 + (f[14] & 0x0f) * 4u + 8;
		if (f.size() < vx + 8)
			return -1;
		return static_cast<long>(f[vx + 4]) << 16 | f[vx + 5] << 8 | f[vx + 6];
	}

	static std::uint32_t segment_of(long vni)
	{
		return vni == 5001 ? kBlue : vni == 5002 ? kRed : 0;
	}
};

const Bytes kToVm1 = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"));
const Bytes kArp = eth(kBroadcast, kRemoteStatic, kEthArp,
		       arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));

std::vector<Bytes> receive_seeds()
{
	const Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	const Underlay from3{kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 51001, 4789};
	return {vxlan_frame(from2, 5001, kToVm1), vxlan_frame(from2, 5001, kArp),
		vxlan_frame(from2, 5002, kToVm1), vxlan_frame(from3, 5001, kArp),
		vxlan_frame(from3, 5002, kToVm1)};
}

// Receive side, in XDP and in TC (whole frames, as in mode tc).
TEST_F(Mutation, ReceiveSideKeepsSegmentsApartAndCountsEveryDrop)
{
	const std::vector<Bytes> seeds = receive_seeds();
	for (const bool xdp : {true, false}) {
		std::mt19937 rng(xdp ? 1 : 2);
		for (int i = 0; i < kMutations; i++) {
			const Bytes f = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng,
					       xdp ? 14 : 14 + 40);
			const Tally before = tally();
			const RunResult r = xdp ? run_xdp(f) : run_tc(Program::tc_underlay, "ul0", f);
			const Tally after = tally();
			const std::uint64_t rx = after.rx - before.rx, drops = after.drops - before.drops;
			const std::string what = std::string(xdp ? "xdp" : "tc") + " mutation " +
						 std::to_string(i) + ": " + hex(f);

			const bool dropped = xdp ? r.retval == XDP_DROP : r.retval == TC_ACT_SHOT;
			// XDP hands on what it decapsulated behind its shim.
			const bool decapsulated = xdp && r.retval == XDP_PASS &&
						  r.out.size() >= 14 + sizeof(ovx_rx_shim) &&
						  r.out[0] == 0x01 && r.out[1] == 0x80 && r.out[2] == 0xc2;
			if (!dropped && !decapsulated && rx + drops == 0) {
				// The host's, or (XDP) a frame left whole to TC: untouched.
				ASSERT_TRUE(xdp ? r.retval == XDP_PASS : r.retval == TC_ACT_OK) << what;
				ASSERT_EQ(hex(r.out), hex(f)) << what;
				continue;
			}
			// Exactly one outcome, counted once.
			ASSERT_EQ(rx + drops, 1u) << what;
			unsigned reasons = 0;
			for (unsigned k = 0; k < OVX_DROP_MAX; k++)
				reasons += after.by_reason[k] != before.by_reason[k];
			ASSERT_EQ(reasons, drops) << what;
			if (dropped) {
				ASSERT_EQ(drops, 1u) << what;
				continue;
			}
			// Delivered: into the segment of the id the frame carries, and
			// that segment's counter is the one that moved.
			const std::uint32_t want = segment_of(vxlan_vni(f));
			ASSERT_NE(want, 0u) << "delivered without a known VNI: " << what;
			ASSERT_EQ(after.rx_by_segment[want] - before.rx_by_segment[want], 1u) << what;
			if (xdp) {
				ASSERT_TRUE(decapsulated) << what;
				ovx_rx_shim t;
				std::memcpy(&t, r.out.data() + 14, sizeof(t));
				ASSERT_EQ(t.segment, want) << what;
				ASSERT_EQ(t.cookie[0], kCookie[0]) << what;
				ASSERT_EQ(t.cookie[1], kCookie[1]) << what;
			} else {
				ASSERT_EQ(r.retval, TC_ACT_REDIRECT) << what;
			}
		}
	}
	// Learned entries never land in a segment whose id the sender did not use.
	for (auto &[key, entry] : dp_->tables().fdb.dump()) {
		if (entry.flags & OVX_FDB_LEARNED) {
			ASSERT_TRUE(key.segment == kBlue || key.segment == kRed);
		}
	}
}

// Send side: frames from vm1 (blue) never reach red, on this host or on
// the wire, and every frame is sent, switched or dropped once.
TEST_F(Mutation, SendSideKeepsSegmentsApartAndCountsEveryDrop)
{
	const Bytes seeds[] = {
		vm_ping(kRemoteStatic, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.3")),
		vm_ping(kVm2, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.2")),
		eth(kBroadcast, kVm1, kEthArp, arp_request(kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.9"))),
	};
	std::mt19937 rng(3);
	for (int i = 0; i < kMutations; i++) {
		const Bytes f = mutate(seeds[i % 3], rng, 14 + 40);
		const Tally before = tally();
		const RunResult r = run_tc(Program::tc_port, "vm1", f);
		const Tally after = tally();
		const std::string what = "mutation " + std::to_string(i) + ": " + hex(f);
		const std::uint64_t drops = after.drops - before.drops;
		ASSERT_EQ(after.drops_by_segment[kRed], before.drops_by_segment[kRed]) << what;
		ASSERT_EQ(after.rx, before.rx) << what;
		if (r.retval == TC_ACT_SHOT) {
			ASSERT_EQ(drops, 1u) << what;
			continue;
		}
		ASSERT_EQ(r.retval, TC_ACT_REDIRECT) << what;
		ASSERT_EQ(drops, 0u) << what;
		ASSERT_GE(after.tx + after.local - before.tx - before.local, 1u) << what;
		// Encapsulated: blue's VNI from this host's address.
		if (r.out.size() >= 14 + 20 + 16 && r.out[12] == 0x08 && r.out[23] == 17) {
			ASSERT_EQ(vxlan_vni(r.out), 5001) << what;
		}
	}
	EXPECT_TRUE(captured("vm3").empty()) << "a blue frame reached red's port";
	for (const Bytes &w : captured("ul0"))
		EXPECT_EQ(vxlan_vni(w), 5001) << hex(w);
}

} // namespace
} // namespace ovx::test
