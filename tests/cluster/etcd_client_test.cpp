// The etcd client against real etcd members started by the test.
#include <gtest/gtest.h>
#include <grpcpp/support/status_code_enum.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cluster/etcd_client.h"
#include "tests/cluster/etcd_harness.h"

namespace ovx::cluster {
namespace {

using namespace std::chrono_literals;
using test::EtcdCluster;

// What a watch delivered, for a test thread to wait on.
class Collector {
public:
	Watch::Handler handler()
	{
		return [this](const WatchBatch &b) {
			std::lock_guard lock(mutex_);
			batches_.push_back(b);
			for (const auto &e : b.events)
				events_.push_back(e);
			wake_.notify_all();
		};
	}
	// Waits until @pred(events, batches) holds; false after @timeout.
	template <typename P> bool wait(P pred, std::chrono::milliseconds timeout = 10s)
	{
		std::unique_lock lock(mutex_);
		return wake_.wait_for(lock, timeout, [&] { return pred(events_, batches_); });
	}
	std::vector<WatchEvent> events()
	{
		std::lock_guard lock(mutex_);
		return events_;
	}

private:
	std::mutex mutex_;
	std::condition_variable wake_;
	std::vector<WatchEvent> events_;
	std::vector<WatchBatch> batches_;
};

bool has_events(std::size_t n, const std::vector<WatchEvent> &events)
{
	return events.size() >= n;
}

TEST(EtcdClient, PutGetDeleteAndTransactions)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());

	const std::int64_t r1 = c.put("/t/a", "1");
	c.put("/t/b", "2");
	const std::int64_t r3 = c.put("/t/a", "3");
	EXPECT_GT(r3, r1);
	ASSERT_TRUE(c.get("/t/a"));
	EXPECT_EQ(c.get("/t/a")->value, "3");
	EXPECT_EQ(c.get("/t/a")->mod_revision, r3);
	EXPECT_EQ(c.get("/t/a")->create_revision, r1);
	EXPECT_FALSE(c.get("/t/zz"));

	const RangeResult all = c.range("/t/", {.prefix = true});
	ASSERT_EQ(all.kvs.size(), 2u);
	EXPECT_EQ(all.kvs[0].key, "/t/a");
	EXPECT_EQ(all.kvs[1].key, "/t/b");
	EXPECT_EQ(all.revision, r3);
	// The history: the key as it was at r1.
	const RangeResult old = c.range("/t/a", {.revision = r1});
	ASSERT_EQ(old.kvs.size(), 1u);
	EXPECT_EQ(old.kvs[0].value, "1");

	// Create-if-absent.
	EXPECT_TRUE(c.create("/t/new", "x"));
	EXPECT_FALSE(c.create("/t/new", "y"));
	EXPECT_EQ(c.get("/t/new")->value, "x");

	// Compare-and-swap on the revision read.
	const std::int64_t seen = c.get("/t/a")->mod_revision;
	EXPECT_TRUE(c.compare_and_swap("/t/a", seen, "4"));
	EXPECT_FALSE(c.compare_and_swap("/t/a", seen, "5"));
	EXPECT_EQ(c.get("/t/a")->value, "4");

	// A transaction with a failure branch that reads.
	Txn t;
	t.compares.push_back({"/t/b", Compare::Target::value, Compare::Result::equal, 0, "nope"});
	t.success.push_back({TxnOp::Kind::put, "/t/b", "never", 0, false});
	t.failure.push_back({TxnOp::Kind::get, "/t/", {}, 0, true});
	const TxnResult tr = c.txn(t);
	EXPECT_FALSE(tr.succeeded);
	ASSERT_EQ(tr.gets.size(), 1u);
	EXPECT_EQ(tr.gets[0].size(), 3u);

	EXPECT_EQ(c.del("/t/", true), 3);
	EXPECT_TRUE(c.range("/t/", {.prefix = true}).kvs.empty());
}

TEST(EtcdClient, LeaseExpiryRemovesKeysAndKeepAliveHoldsThem)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());

	const Lease short_lease = c.grant(2);
	EXPECT_EQ(short_lease.ttl, 2);
	c.put("/n/short", "v", short_lease.id);
	const Lease kept = c.grant(2);
	c.put("/n/kept", "v", kept.id);
	{
		KeepAlive ka(c, kept.id);
		std::this_thread::sleep_for(4500ms);
		EXPECT_FALSE(c.get("/n/short")) << "the lease without keepalive expired";
		EXPECT_EQ(c.time_to_live(short_lease.id), -1);
		EXPECT_TRUE(c.get("/n/kept")) << "the keepalive held its lease";
		EXPECT_GT(ka.ttl(), 0);
		EXPECT_FALSE(ka.lost());
	}
	c.revoke(kept.id);
	EXPECT_FALSE(c.get("/n/kept"));

	// A keepalive for a lease that is gone says so.
	std::atomic<bool> lost{false};
	KeepAlive gone(c, kept.id, [&] { lost = true; });
	for (int i = 0; i < 50 && !lost; i++)
		std::this_thread::sleep_for(100ms);
	EXPECT_TRUE(lost);
	EXPECT_TRUE(gone.lost());
}

TEST(EtcdClient, WatchFromRevisionDeliversHistoryThenLiveEventsInOrder)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());
	const std::int64_t r1 = c.put("/w/a", "1");
	c.put("/w/b", "2");
	c.put("/other", "not watched");
	c.del("/w/b");

	Collector got;
	Watch w(c, "/w/", {.prefix = true, .start_revision = r1 + 1}, got.handler());
	ASSERT_TRUE(got.wait([](auto &e, auto &) { return has_events(2, e); }));
	c.put("/w/a", "3");
	ASSERT_TRUE(got.wait([](auto &e, auto &) { return has_events(3, e); }));
	const auto events = got.events();
	ASSERT_EQ(events.size(), 3u);
	EXPECT_EQ(events[0].kind, WatchEvent::Kind::put);
	EXPECT_EQ(events[0].kv.key, "/w/b");
	EXPECT_EQ(events[1].kind, WatchEvent::Kind::del);
	EXPECT_EQ(events[1].kv.key, "/w/b");
	EXPECT_EQ(events[2].kv.value, "3");
	EXPECT_LT(events[0].kv.mod_revision, events[1].kv.mod_revision);

	// Progress: asked for, and periodic (the test's members send it every
	// second), with the revision everything up to has been sent.
	const std::int64_t head = c.put("/other", "x");
	w.request_progress();
	EXPECT_TRUE(got.wait([&](auto &, auto &batches) {
		for (const auto &b : batches)
			if (b.progress && b.revision >= head)
				return true;
		return false;
	}));
	EXPECT_TRUE(w.running());
}

TEST(EtcdClient, WatchFromACompactedRevisionAsksForAResync)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());
	const std::int64_t r1 = c.put("/w/a", "1");
	c.put("/w/a", "2");
	const std::int64_t r3 = c.put("/w/a", "3");
	c.compact(r3);

	Collector got;
	Watch w(c, "/w/", {.prefix = true, .start_revision = r1}, got.handler());
	ASSERT_TRUE(got.wait([](auto &, auto &batches) {
		return !batches.empty() && batches.back().compact_revision > 0;
	}));
	EXPECT_TRUE(got.events().empty());
	for (int i = 0; i < 50 && w.running(); i++)
		std::this_thread::sleep_for(20ms);
	EXPECT_FALSE(w.running());
	// The history before the compaction is gone for reads too.
	EXPECT_THROW(c.range("/w/a", {.revision = r1}), EtcdError);
}

TEST(EtcdClient, ClientWatchAndKeepAliveSurviveTheLeadersDeath)
{
	EtcdCluster etcd({.members = 3});
	const int leader = etcd.leader();
	// The leader first: that is where the client starts.
	ClientOptions o = etcd.client_options();
	std::rotate(o.endpoints.begin(), o.endpoints.begin() + leader, o.endpoints.end());
	Client c(o);
	ASSERT_EQ(c.current_endpoint(), etcd.endpoints()[leader]);
	const Lease lease = c.grant(3);
	const std::int64_t head = c.put("/f/node", "up", lease.id);
	KeepAlive ka(c, lease.id);
	Collector got;
	// From a revision, not "from now": the put below may land before the
	// server has created the watch.
	Watch w(c, "/f/k", {.prefix = true, .start_revision = head + 1}, got.handler());
	c.put("/f/k1", "before");
	ASSERT_TRUE(got.wait([](auto &e, auto &) { return has_events(1, e); }));

	etcd.kill(leader);
	const auto t0 = std::chrono::steady_clock::now();
	c.put("/f/k2", "after");
	const auto failover = std::chrono::steady_clock::now() - t0;
	EXPECT_NE(c.current_endpoint(), etcd.endpoints()[leader]);
	EXPECT_GE(c.failovers(), 1u);
	std::printf("put after the leader's death took %lld ms\n",
		    static_cast<long long>(
			    std::chrono::duration_cast<std::chrono::milliseconds>(failover).count()));
	EXPECT_EQ(c.get("/f/k2")->value, "after");
	// The watch resumed elsewhere without losing or repeating an event.
	ASSERT_TRUE(got.wait([](auto &e, auto &) { return has_events(2, e); }));
	const auto events = got.events();
	ASSERT_EQ(events.size(), 2u);
	EXPECT_EQ(events[1].kv.key, "/f/k2");
	// The keepalive kept the lease through more than one TTL.
	std::this_thread::sleep_for(4s);
	EXPECT_TRUE(c.get("/f/node"));
	EXPECT_FALSE(ka.lost());
	EXPECT_EQ(c.members().size(), 3u);
	for (const auto &st : c.status()) {
		const bool dead = st.endpoint == etcd.endpoints()[leader];
		EXPECT_EQ(st.healthy, !dead) << st.endpoint << ": " << st.error;
		EXPECT_EQ(st.error.empty(), !dead) << st.endpoint;
	}
}

TEST(EtcdClient, WatchSaysWhetherItReachesAMember)
{
	EtcdCluster etcd({});
	ClientOptions o = etcd.client_options();
	Client c(o);
	Collector got;
	Watch w(c, "/c/", {.prefix = true}, got.handler());
	const auto eventually = [](auto pred) {
		for (int i = 0; i < 100 && !pred(); i++)
			std::this_thread::sleep_for(50ms);
		return pred();
	};
	EXPECT_TRUE(eventually([&] { return w.connected(); }));
	etcd.kill(0);
	EXPECT_TRUE(eventually([&] { return !w.connected(); }));
	EXPECT_TRUE(w.running()) << "a watch out of reach keeps trying";
}

TEST(EtcdClient, TlsWithClientCertificates)
{
	EtcdCluster etcd({.tls = true});
	Client c(etcd.client_options());
	c.put("/tls/a", "1");
	EXPECT_EQ(c.get("/tls/a")->value, "1");

	// No client certificate: refused.
	ClientOptions anonymous = etcd.client_options();
	anonymous.tls->cert.clear();
	anonymous.tls->key.clear();
	anonymous.timeout = 2s;
	EXPECT_THROW(Client(anonymous).get("/tls/a"), EtcdError);

	// A certificate from a CA the members do not trust: refused.
	ClientOptions stranger = etcd.client_options();
	stranger.tls = etcd.certs().stranger();
	stranger.timeout = 2s;
	EXPECT_THROW(Client(stranger).get("/tls/a"), EtcdError);

	// Plain text to a TLS member: a configuration error, said before trying.
	ClientOptions plain = etcd.client_options();
	plain.tls.reset();
	EXPECT_THROW(Client{plain}, ConfigError);
}

TEST(EtcdClient, RbacKeepsANodeUnderItsOwnPrefix)
{
	EtcdCluster etcd({});
	{
		Client root(etcd.client_options());
		root.user_add("root", "rootpw");
		root.user_grant_role("root", "root");
		root.user_add("node-a", "apw");
		root.role_add("node-a");
		root.role_grant("node-a", "/ovx/v1/", true, Client::Permission::read);
		root.role_grant("node-a", "/ovx/v1/nodes/node-a/", true, Client::Permission::readwrite);
		root.user_grant_role("node-a", "node-a");
		root.auth_enable();
	}
	ClientOptions admin_o = etcd.client_options();
	admin_o.user = "root";
	admin_o.password = "rootpw";
	Client admin(admin_o);
	admin.put("/ovx/v1/segments/blue", "{}");

	ClientOptions node_o = etcd.client_options();
	node_o.user = "node-a";
	node_o.password = "apw";
	Client node(node_o);
	node.put("/ovx/v1/nodes/node-a/vtep", "{}");
	EXPECT_EQ(node.get("/ovx/v1/segments/blue")->value, "{}");
	for (const std::string key : {"/ovx/v1/segments/blue", "/ovx/v1/nodes/node-b/vtep"}) {
		try {
			node.put(key, "{}");
			ADD_FAILURE() << "node-a wrote " << key;
		} catch (const EtcdError &e) {
			EXPECT_EQ(e.grpc_code(), grpc::StatusCode::PERMISSION_DENIED);
			EXPECT_EQ(e.key(), key);
			EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
			EXPECT_NE(std::string(e.what()).find(e.endpoint()), std::string::npos);
		}
	}
	EXPECT_EQ(admin.get("/ovx/v1/segments/blue")->value, "{}");

	// Whether a key may be written, asked without writing it: refused for
	// good (the agent stops), naming the user.
	const std::int64_t before = node.range("/ovx/v1/", {.prefix = true}).revision;
	EXPECT_NO_THROW(node.check_write("/ovx/v1/nodes/node-a/vtep"));
	try {
		node.check_write("/ovx/v1/nodes/node-b/vtep");
		ADD_FAILURE() << "node-a may write node-b's keys";
	} catch (const EtcdError &e) {
		EXPECT_TRUE(e.refused()) << e.what();
		EXPECT_EQ(e.key(), "/ovx/v1/nodes/node-b/vtep");
		EXPECT_NE(std::string(e.what()).find("permission denied for user 'node-a'"),
			  std::string::npos)
			<< e.what();
	}
	EXPECT_EQ(node.range("/ovx/v1/", {.prefix = true}).revision, before);

	// Without the password nothing at all, and that is a refusal too.
	ClientOptions wrong = node_o;
	wrong.password = "guess";
	try {
		Client(wrong).get("/ovx/v1/segments/blue");
		ADD_FAILURE() << "a wrong password was let in";
	} catch (const EtcdError &e) {
		EXPECT_TRUE(e.refused()) << e.what();
		EXPECT_NE(std::string(e.what()).find("user 'node-a'"), std::string::npos) << e.what();
	}
	ClientOptions nobody = etcd.client_options();
	EXPECT_THROW(Client(nobody).put("/ovx/v1/nodes/node-a/x", "1"), EtcdError);
}

} // namespace
} // namespace ovx::cluster
