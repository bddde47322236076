// The cluster model: watch events in, remote MACs and flood lists out.
#include <gtest/gtest.h>

#include "cluster/view.h"

namespace ovx::cluster {
namespace {

using namespace std::chrono_literals;

Mac mac(const char *text)
{
	return *parse_mac(text);
}

IpAddr ip(const char *text)
{
	return *parse_ip(text);
}

const Mac kM1 = *parse_mac("02:00:00:00:00:01");
const Mac kM2 = *parse_mac("02:00:00:00:00:02");
const Mac kM3 = *parse_mac("02:00:00:00:00:03");

// Feeds a view the way a watch does, with revisions that grow.
class Feed {
public:
	explicit Feed(ClusterView &view) : view_(view) {}

	TimePoint now = TimePoint{} + 1000s;
	std::int64_t rev = 1;

	void put(const std::string &key, const std::string &value)
	{
		view_.apply(WatchEvent{WatchEvent::Kind::put, {key, value, 0, rev, 1, 0}}, now);
		kvs_[key] = {key, value, 0, rev, 1, 0};
		rev++;
	}
	void del(const std::string &key)
	{
		view_.apply(WatchEvent{WatchEvent::Kind::del, {key, {}, 0, rev, 0, 0}}, now);
		kvs_.erase(key);
		rev++;
	}
	void segment(const std::string &name, std::uint64_t id)
	{
		put(segment_key(name), R"({"name":")" + name + R"(","tenant":"acme","id":)" +
					       std::to_string(id) + "}");
	}
	void vtep(const std::string &node, const char *addr)
	{
		put(vtep_key(node), std::string(R"({"address":")") + addr + "\"}");
	}
	void bind(const std::string &node, const std::string &segment, const Mac &m,
		  std::uint32_t seq)
	{
		put(binding_key(node, segment, m), R"({"seq":)" + std::to_string(seq) + "}");
	}
	void unbind(const std::string &node, const std::string &segment, const Mac &m)
	{
		del(binding_key(node, segment, m));
	}
	// What etcd holds now, as a full read would return it.
	std::vector<KeyValue> snapshot() const
	{
		std::vector<KeyValue> out;
		for (const auto &[k, kv] : kvs_)
			out.push_back(kv);
		return out;
	}

private:
	ClusterView &view_;
	std::map<std::string, KeyValue> kvs_;
};

ViewOptions local_a()
{
	ViewOptions o;
	o.local_node = "a";
	return o;
}

// Seen from a, with @options: segment blue and nodes b and c.
struct TwoNodes {
	explicit TwoNodes(ViewOptions options) : view(std::move(options)), feed(view)
	{
		feed.segment("blue", 5001);
		feed.vtep("c", "10.0.0.3");
		feed.vtep("b", "10.0.0.2");
	}
	ClusterView view;
	Feed feed;
};

// A cluster of three nodes a (this one), b and c, and segment blue.
struct ClusterViewTest : testing::Test {
	ClusterView view{local_a()};
	Feed feed{view};

	void SetUp() override
	{
		feed.segment("blue", 5001);
		feed.vtep("a", "10.0.0.1");
		feed.vtep("b", "10.0.0.2");
		feed.vtep("c", "10.0.0.3");
	}
	std::optional<std::string> owner(const Mac &m) { return view.owner("blue", m); }
	std::vector<IpAddr> flood(const std::string &segment)
	{
		return view.flood_lists().at(segment);
	}
};

TEST_F(ClusterViewTest, RemoteMacsAndFloodListsHoldOnlyOtherNodesWithPorts)
{
	feed.segment("red", 5002);
	feed.segment("green", 5003);
	feed.bind("a", "blue", kM1, 0);
	feed.bind("b", "blue", kM2, 0);
	feed.bind("c", "blue", kM3, 0);
	feed.bind("a", "red", mac("02:00:00:00:01:01"), 0);
	feed.bind("c", "green", mac("02:00:00:00:02:01"), 0);

	const auto remotes = view.remote_macs();
	ASSERT_EQ(remotes.size(), 3u);
	EXPECT_EQ(remotes[0], (RemoteMac{"blue", kM2, ip("10.0.0.2"), "b", 0, false}));
	EXPECT_EQ(remotes[1], (RemoteMac{"blue", kM3, ip("10.0.0.3"), "c", 0, false}));
	EXPECT_EQ(remotes[2].segment, "green");
	EXPECT_EQ(flood("blue"), (std::vector<IpAddr>{ip("10.0.0.2"), ip("10.0.0.3")}));
	// Only this node has a port in red: nobody to flood to.
	EXPECT_TRUE(flood("red").empty());
	EXPECT_EQ(flood("green"), std::vector<IpAddr>{ip("10.0.0.3")});

	const auto segs = view.segments();
	ASSERT_EQ(segs.size(), 3u);
	EXPECT_EQ(segs[0].name, "blue");
	EXPECT_EQ(segs[0].id, 5001u);
	EXPECT_EQ(segs[0].remotes.size(), 2u);
	EXPECT_EQ(segs[0].flood.size(), 2u);
	EXPECT_TRUE(segs[2].remotes.empty()); // red
	EXPECT_EQ(view.revision(), feed.rev - 1);
}

TEST_F(ClusterViewTest, MakeBeforeBreakMoveIsNotADuplicate)
{
	feed.bind("b", "blue", kM1, 0);
	EXPECT_EQ(owner(kM1), "b");
	EXPECT_EQ(view.next_sequence("blue", kM1), 1u);
	feed.bind("c", "blue", kM1, 1); // the VM is up on c
	EXPECT_EQ(owner(kM1), "c");
	EXPECT_EQ(view.remote_macs().at(0).vtep, ip("10.0.0.3"));
	feed.now += 1s;
	feed.unbind("b", "blue", kM1); // and gone from b
	view.tick(feed.now + 1h);
	EXPECT_EQ(owner(kM1), "c");
	EXPECT_EQ(view.counters().moves, 1u);
	EXPECT_EQ(view.counters().duplicates, 0u);
	EXPECT_TRUE(view.duplicates().empty());
	// c still sends to b's VTEP? No: b has no port left in blue.
	EXPECT_EQ(flood("blue"), std::vector<IpAddr>{ip("10.0.0.3")});
}

TEST_F(ClusterViewTest, BreakBeforeMakeMoveCountsAsAMove)
{
	feed.bind("b", "blue", kM1, 0);
	feed.unbind("b", "blue", kM1);
	EXPECT_FALSE(owner(kM1));
	EXPECT_TRUE(view.remote_macs().empty());
	feed.bind("c", "blue", kM1, 1);
	EXPECT_EQ(owner(kM1), "c");
	EXPECT_EQ(view.counters().moves, 1u);
}

// Who owns kM1 in a view fed b's and c's VTEPs, then @binds in this order.
std::optional<std::string> owner_after(
	std::initializer_list<std::pair<const char *, std::uint32_t>> binds)
{
	TwoNodes t(local_a());
	for (const auto &[node, seq] : binds)
		t.feed.bind(node, "blue", kM1, seq);
	return t.view.owner("blue", kM1);
}

TEST(ClusterView, HighestSequenceWinsWhateverTheOrder)
{
	// A slow host (b) writes its older binding after c wrote the newer one.
	EXPECT_EQ(owner_after({{"c", 2}, {"b", 1}}), "c");
	EXPECT_EQ(owner_after({{"b", 1}, {"c", 2}}), "c");
}

TEST(ClusterView, EqualSequenceNumbersGoToTheLowestVtep)
{
	EXPECT_EQ(owner_after({{"c", 3}, {"b", 3}}), "b");
	EXPECT_EQ(owner_after({{"b", 3}, {"c", 3}}), "b");
}

TEST_F(ClusterViewTest, ReplayedOrOlderEventsChangeNothing)
{
	feed.bind("b", "blue", kM1, 0);
	const std::int64_t old_rev = feed.rev - 1;
	feed.unbind("b", "blue", kM1);
	// The put again, as a watch resumed too early would deliver it.
	view.apply(WatchEvent{WatchEvent::Kind::put,
			      {binding_key("b", "blue", kM1), R"({"seq":0})", 0, old_rev, 1, 0}},
		   feed.now);
	EXPECT_FALSE(owner(kM1));
	EXPECT_EQ(view.counters().stale, 1u);
}

TEST_F(ClusterViewTest, BoundOnTwoNodesPastTheGraceIsADuplicate)
{
	feed.bind("b", "blue", kM1, 4);
	feed.bind("c", "blue", kM1, 4);
	view.tick(feed.now + 4s);
	EXPECT_TRUE(view.duplicates().empty());
	view.tick(feed.now + 6s);
	const auto dups = view.duplicates();
	ASSERT_EQ(dups.size(), 1u);
	EXPECT_EQ(dups[0].segment, "blue");
	EXPECT_EQ(dups[0].mac, kM1);
	EXPECT_EQ(dups[0].nodes, (std::vector<std::string>{"b", "c"}));
	EXPECT_EQ(dups[0].owner, "b");
	view.tick(feed.now + 60s);
	EXPECT_EQ(view.counters().duplicates, 1u); // once per episode
	feed.unbind("b", "blue", kM1);
	EXPECT_TRUE(view.duplicates().empty());
	EXPECT_EQ(owner(kM1), "c");
}

// kM1 bound on b, c, b, ... @binds times, @every apart, each time with the
// next sequence number; 3 moves in 60 s freeze it, for @hold.
struct Flapping : TwoNodes {
	Flapping(int binds, std::chrono::seconds every, std::chrono::seconds hold = 0s)
		: TwoNodes(options(hold))
	{
		for (int i = 0; i < binds; i++) {
			feed.bind(i % 2 ? "c" : "b", "blue", kM1, seq++);
			feed.now += every;
		}
	}
	static ViewOptions options(std::chrono::seconds hold)
	{
		ViewOptions o = local_a();
		o.freeze_moves = 3;
		o.freeze_window = 60s;
		o.freeze_hold = hold;
		return o;
	}
	std::uint32_t seq = 0;
};

TEST(ClusterView, AMacThatMovesTooOftenIsFrozenUntilUnfrozen)
{
	Flapping t(4, 5s);
	EXPECT_EQ(t.view.counters().moves, 3u);
	EXPECT_EQ(t.view.counters().freezes, 1u);
	EXPECT_EQ(t.view.owner("blue", kM1), "c");
	t.feed.bind("b", "blue", kM1, t.seq++); // b claims it again: ignored
	EXPECT_EQ(t.view.owner("blue", kM1), "c");
	ASSERT_EQ(t.view.remote_macs().size(), 1u);
	EXPECT_TRUE(t.view.remote_macs()[0].frozen);
	EXPECT_TRUE(t.view.duplicates().at(0).frozen);
	t.view.unfreeze("blue", kM1, t.feed.now);
	EXPECT_EQ(t.view.owner("blue", kM1), "b");
	EXPECT_FALSE(t.view.remote_macs()[0].frozen);
}

TEST(ClusterView, MovesSpreadOverMoreThanTheWindowDoNotFreeze)
{
	Flapping t(10, 31s);
	EXPECT_EQ(t.view.counters().moves, 9u);
	EXPECT_EQ(t.view.counters().freezes, 0u);
}

TEST(ClusterView, AFrozenMacThawsAfterTheHoldTime)
{
	Flapping t(4, 1s, 300s);
	t.feed.bind("b", "blue", kM1, t.seq++);
	EXPECT_EQ(t.view.owner("blue", kM1), "c");
	t.view.tick(t.feed.now + 290s);
	EXPECT_EQ(t.view.owner("blue", kM1), "c");
	t.view.tick(t.feed.now + 300s);
	EXPECT_EQ(t.view.owner("blue", kM1), "b");
}

TEST_F(ClusterViewTest, ANodeWhoseLeaseExpiredLeavesFdbAndFloodLists)
{
	feed.bind("b", "blue", kM1, 0);
	feed.bind("c", "blue", kM2, 0);
	feed.bind("c", "blue", kM3, 0);
	// etcd deletes every key of the lease, in one revision.
	const std::int64_t rev = feed.rev++;
	WatchBatch expiry;
	for (const std::string &key : {vtep_key("c"), binding_key("c", "blue", kM2),
				       binding_key("c", "blue", kM3)})
		expiry.events.push_back({WatchEvent::Kind::del, {key, {}, 0, rev, 0, 0}});
	expiry.revision = rev;
	view.apply(expiry, feed.now);
	const auto remotes = view.remote_macs();
	ASSERT_EQ(remotes.size(), 1u);
	EXPECT_EQ(remotes[0].node, "b");
	EXPECT_EQ(flood("blue"), std::vector<IpAddr>{ip("10.0.0.2")});
	EXPECT_EQ(view.nodes().size(), 2u); // a and b
}

TEST_F(ClusterViewTest, BindingsOfANodeWithoutAVtepAreNotUsed)
{
	feed.bind("d", "blue", kM1, 0);
	EXPECT_TRUE(view.remote_macs().empty());
	EXPECT_FALSE(owner(kM1));
	feed.vtep("d", "10.0.0.4");
	EXPECT_EQ(owner(kM1), "d");
	EXPECT_EQ(flood("blue"), std::vector<IpAddr>{ip("10.0.0.4")});
	// An IPv6-only node cannot be reached in an IPv4 cluster.
	feed.vtep("d", "fd00::4");
	EXPECT_FALSE(owner(kM1));
	EXPECT_TRUE(flood("blue").empty());
}

TEST_F(ClusterViewTest, BadValuesAreIgnoredCountedAndNamed)
{
	feed.bind("b", "blue", kM1, 0);
	feed.bind("c", "blue", kM2, 0);
	const std::string bad_key = binding_key("b", "blue", kM1);
	feed.put(bad_key, R"({"seq":"soon"})");
	feed.put("/ovx/v1/nodes/c/bindings/blue/NOT-A-MAC", R"({"seq":1})");
	feed.put(segment_key("red"), R"({"name":"red","tenant":"acme","id":99999999})");
	feed.put(segment_key("clash"), R"({"name":"clash","tenant":"acme","id":5001})");
	EXPECT_EQ(view.counters().bad, 4u);
	const auto &bad = view.bad_keys();
	ASSERT_EQ(bad.size(), 4u);
	EXPECT_NE(bad.at(bad_key).find("is not a number"), std::string::npos);
	EXPECT_NE(bad.at(segment_key("red")).find("out of range"), std::string::npos);
	EXPECT_NE(bad.at(segment_key("clash")).find("already used by segment 'blue'"),
		  std::string::npos);
	// The bad value replaced b's binding: it is gone; c's is untouched.
	const auto remotes = view.remote_macs();
	ASSERT_EQ(remotes.size(), 1u);
	EXPECT_EQ(remotes[0].mac, kM2);
	EXPECT_EQ(view.segments().size(), 1u);
	// Fixed, the key counts again and is no longer reported.
	feed.bind("b", "blue", kM1, 0);
	EXPECT_EQ(owner(kM1), "b");
	EXPECT_EQ(view.bad_keys().count(bad_key), 0u);
	feed.del("/ovx/v1/nodes/c/bindings/blue/NOT-A-MAC");
	EXPECT_EQ(view.bad_keys().size(), 2u);
}

TEST_F(ClusterViewTest, BindingsForAnUnknownSegmentWaitForIt)
{
	feed.bind("b", "green", kM1, 0);
	EXPECT_TRUE(view.remote_macs().empty());
	EXPECT_EQ(view.flood_lists().count("green"), 0u);
	EXPECT_EQ(view.orphan_bindings(),
		  std::vector<std::string>{binding_key("b", "green", kM1)});
	feed.segment("green", 5002);
	EXPECT_EQ(view.remote_macs().size(), 1u);
	EXPECT_EQ(flood("green"), std::vector<IpAddr>{ip("10.0.0.2")});
	EXPECT_TRUE(view.orphan_bindings().empty());
	feed.del(segment_key("green"));
	EXPECT_TRUE(view.remote_macs().empty());
}

TEST_F(ClusterViewTest, ResyncGivesTheSameStateWithoutMovesOrFlaps)
{
	feed.bind("b", "blue", kM1, 0);
	feed.bind("c", "blue", kM2, 0);
	feed.bind("c", "blue", kM1, 1);
	feed.unbind("b", "blue", kM1);
	const auto before = view.remote_macs();
	const auto moves = view.counters().moves;
	view.resync(feed.snapshot(), feed.rev - 1, feed.now);
	EXPECT_EQ(view.remote_macs(), before);
	EXPECT_EQ(view.counters().moves, moves);
	EXPECT_EQ(view.revision(), feed.rev - 1);

	// What happened during a compaction gap: kM2 left c, kM1 moved back to b.
	ClusterView fresh(local_a());
	Feed gap(fresh);
	gap.rev = feed.rev;
	gap.segment("blue", 5001);
	gap.vtep("a", "10.0.0.1");
	gap.vtep("b", "10.0.0.2");
	gap.vtep("c", "10.0.0.3");
	gap.bind("b", "blue", kM1, 2);
	view.resync(gap.snapshot(), gap.rev - 1, feed.now);
	ASSERT_EQ(view.remote_macs().size(), 1u);
	EXPECT_EQ(view.owner("blue", kM1), "b");
	EXPECT_EQ(view.counters().moves, moves + 1);
	// An event from before the read changes nothing.
	view.apply(WatchEvent{WatchEvent::Kind::put,
			      {binding_key("c", "blue", kM2), R"({"seq":0})", 0, gap.rev - 2, 1, 0}},
		   feed.now);
	EXPECT_EQ(view.remote_macs().size(), 1u);
}

TEST_F(ClusterViewTest, NextSequenceIsOneAboveTheHighestUnlessAlreadyOurs)
{
	EXPECT_EQ(view.next_sequence("blue", kM1), 0u);
	feed.bind("b", "blue", kM1, 4);
	feed.bind("c", "blue", kM1, 7);
	EXPECT_EQ(view.next_sequence("blue", kM1), 8u);
	feed.bind("a", "blue", kM1, 8);
	EXPECT_EQ(owner(kM1), "a");
	EXPECT_TRUE(view.remote_macs().empty()); // it is this node's own
	EXPECT_EQ(view.next_sequence("blue", kM1), 8u);
}

} // namespace
} // namespace ovx::cluster
