// Forwarding pointers in the cluster agent: set when a MAC this node bound
// is won by another node with a newer sequence number, for the hold time.
#include <gtest/gtest.h>

#include "cluster/forward.h"
#include "cluster/layout.h"

namespace ovx::cluster {
namespace {

const Mac kM1 = *parse_mac("02:00:00:00:00:01");
const Mac kM2 = *parse_mac("02:00:00:00:00:02");
const IpAddr kB = *parse_ip("192.168.77.2");
constexpr std::uint64_t kMs = 1000000;

RemoteMac on_b(const Mac &m, std::uint32_t seq)
{
	return RemoteMac{.segment = "blue", .mac = m, .vtep = kB, .node = "b", .seq = seq};
}

Config with_remote(const Mac &m)
{
	Config c;
	Segment s;
	s.name = "blue";
	Remote r;
	r.mac = m;
	r.vtep = kB;
	s.remotes.push_back(r);
	c.segments.push_back(s);
	return c;
}

TEST(ForwardPointers, BreakBeforeMakeAMacWonElsewhereLaterGetsAPointer)
{
	ForwardPointers f(2000);
	// Bound here with seq 1; the port goes (the binding is still published).
	f.update({{{"blue", kM1}, 1}}, {}, {}, 1000 * kMs);
	EXPECT_TRUE(f.pointers().empty());
	// Node b binds it with seq 2: a move away.
	f.update({}, {}, {on_b(kM1, 2)}, 1050 * kMs);
	ASSERT_EQ(f.pointers().size(), 1u);
	EXPECT_EQ(f.pointers().at({"blue", kM1}), 3050 * kMs);
	EXPECT_TRUE(f.holds("blue"));
	EXPECT_FALSE(f.holds("red"));
	Config c = with_remote(kM1);
	f.mark(c);
	EXPECT_EQ(c.segments[0].remotes[0].forward_until_ns, 3050 * kMs);
	// It lapses into a plain remote entry.
	f.update({}, {}, {on_b(kM1, 2)}, 3050 * kMs);
	EXPECT_TRUE(f.pointers().empty());
	Config later = with_remote(kM1);
	f.mark(later);
	EXPECT_EQ(later.segments[0].remotes[0].forward_until_ns, 0u);
}

TEST(ForwardPointers, TheNextLapseIsTheEarliestLivePointersEnd)
{
	ForwardPointers f(2000);
	EXPECT_EQ(f.next_lapse(), 0u);
	f.update({{{"blue", kM1}, 1}, {{"blue", kM2}, 1}}, {}, {on_b(kM2, 2)}, 1000 * kMs);
	f.update({{{"blue", kM1}, 1}}, {}, {on_b(kM1, 2), on_b(kM2, 2)}, 1500 * kMs);
	EXPECT_EQ(f.next_lapse(), 3000 * kMs);
	f.update({}, {}, {on_b(kM1, 2), on_b(kM2, 2)}, 3000 * kMs);
	EXPECT_EQ(f.next_lapse(), 3500 * kMs);
	f.update({}, {}, {on_b(kM1, 2), on_b(kM2, 2)}, 3500 * kMs);
	EXPECT_EQ(f.next_lapse(), 0u);
}

TEST(ForwardPointers, MakeBeforeBreakPointsOnceThePortGoes)
{
	ForwardPointers f(2000);
	const std::set<ForwardPointers::MacKey> here{{"blue", kM1}};
	f.update({{{"blue", kM1}, 1}}, here, {on_b(kM1, 2)}, 1000 * kMs);
	EXPECT_TRUE(f.pointers().empty()); // still bound here: the local port wins
	f.update({{{"blue", kM1}, 1}}, {}, {on_b(kM1, 2)}, 1100 * kMs);
	EXPECT_EQ(f.pointers().at({"blue", kM1}), 3100 * kMs);
}

TEST(ForwardPointers, NoPointerForAnOlderBindingOrForAMacNeverBoundHere)
{
	ForwardPointers f(2000);
	f.update({{{"blue", kM1}, 5}}, {}, {on_b(kM1, 4), on_b(kM2, 9)}, 1000 * kMs);
	EXPECT_TRUE(f.pointers().empty());
}

TEST(ForwardPointers, BreakBeforeMakeAtTheSameSequenceIsAMoveToo)
{
	// Nobody held the MAC when b bound it: b took the same number (0).
	ForwardPointers f(2000);
	f.update({{{"blue", kM1}, 0}}, {}, {}, 1000 * kMs);
	f.update({}, {}, {on_b(kM1, 0)}, 1050 * kMs);
	EXPECT_EQ(f.pointers().at({"blue", kM1}), 3050 * kMs);
}

TEST(ForwardPointers, AMacBoundHereAgainLosesItsPointer)
{
	ForwardPointers f(2000);
	f.update({{{"blue", kM1}, 1}}, {}, {on_b(kM1, 2)}, 1000 * kMs);
	ASSERT_EQ(f.pointers().size(), 1u);
	f.update({}, {{"blue", kM1}}, {}, 1200 * kMs);
	EXPECT_TRUE(f.pointers().empty());
}

TEST(ForwardPointers, ZeroTurnsThemOff)
{
	ForwardPointers f(0);
	f.update({{{"blue", kM1}, 1}}, {}, {on_b(kM1, 2)}, 1000 * kMs);
	EXPECT_TRUE(f.pointers().empty());
}

} // namespace
} // namespace ovx::cluster

namespace ovx::cluster {
namespace {

using namespace std::chrono_literals;

// The node a MAC left stays in the segment's flood list (so that its VTEP
// may still send into the segment: the frames its pointer sends on) for the
// hold time, then goes if it has no other port there.
TEST(ForwardPointers, TheNodeAMacLeftStaysAMemberForTheHoldTime)
{
	ViewOptions o;
	o.local_node = "c";
	o.forward_hold = 2000ms;
	ClusterView view(o);
	TimePoint now = TimePoint{} + 1000s;
	std::int64_t rev = 1;
	auto put = [&](const std::string &k, const std::string &v) {
		view.apply(WatchEvent{WatchEvent::Kind::put, {k, v, 0, rev, 1, 0}}, now);
		rev++;
	};
	auto del = [&](const std::string &k) {
		view.apply(WatchEvent{WatchEvent::Kind::del, {k, {}, 0, rev, 0, 0}}, now);
		rev++;
	};
	put(segment_key("blue"), R"({"name":"blue","tenant":"acme","id":5001})");
	put(vtep_key("a"), R"({"address":"10.0.0.1"})");
	put(vtep_key("b"), R"({"address":"10.0.0.2"})");
	put(binding_key("a", "blue", kM1), R"({"seq":1})");
	// Break-before-make: a lets go, b binds.
	del(binding_key("a", "blue", kM1));
	put(binding_key("b", "blue", kM1), R"({"seq":2})");
	const std::vector<IpAddr> both{*parse_ip("10.0.0.1"), *parse_ip("10.0.0.2")};
	EXPECT_EQ(view.flood_lists().at("blue"), both);
	view.tick(now + 1999ms);
	EXPECT_EQ(view.flood_lists().at("blue"), both);
	view.tick(now + 2000ms);
	EXPECT_EQ(view.flood_lists().at("blue"), std::vector<IpAddr>{*parse_ip("10.0.0.2")});
}

} // namespace
} // namespace ovx::cluster
