// `ovx monitor`'s events: their JSON and text encodings, the FDB diff that
// makes learn/move/age-out/flush, and the writers' side, which must never
// block on a monitor that does not read.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "agent/events.h"
#include "agent/monitor.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {
namespace {

constexpr std::uint64_t kWhen = 1796502601123; // 2026-12-05T20:30:01.123Z

Event learn_event()
{
	Event e{"learn", kWhen, nlohmann::ordered_json::object()};
	e.fields["segment"] = "blue-web";
	e.fields["tenant"] = "blue";
	e.fields["mac"] = "02:00:00:00:02:01";
	e.fields["vtep"] = "192.168.77.2";
	return e;
}

TEST(Events, JsonIsOneObjectWithTimeAndEventFirst)
{
	EXPECT_EQ(event_json(learn_event()),
		  R"({"time":"2026-12-05T20:30:01.123Z","event":"learn","segment":"blue-web",)"
		  R"("tenant":"blue","mac":"02:00:00:00:02:01","vtep":"192.168.77.2"})");
}

TEST(Events, TextReadsLikeBridgeMonitor)
{
	EXPECT_EQ(event_text(learn_event()),
		  "2026-12-05T20:30:01.123Z learn blue/blue-web 02:00:00:00:02:01 vtep 192.168.77.2");
	Event move = learn_event();
	move.kind = "move";
	move.fields["from"] = "192.168.77.3";
	EXPECT_EQ(event_text(move), "2026-12-05T20:30:01.123Z move blue/blue-web 02:00:00:00:02:01 "
				    "vtep 192.168.77.2 from=192.168.77.3");
	Event drift{"drift", kWhen, nlohmann::ordered_json::object()};
	drift.fields["map"] = "ovx_ports";
	drift.fields["key"] = "interface vm1";
	drift.fields["repair"] = "restored";
	drift.fields["pid"] = 42;
	EXPECT_EQ(event_text(drift), "2026-12-05T20:30:01.123Z drift map=ovx_ports "
				     "key=\"interface vm1\" repair=restored pid=42");
}

TEST(Events, ParseReadsWhatJsonWrote)
{
	const Event e = learn_event();
	const auto back = parse_event(event_json(e));
	ASSERT_TRUE(back);
	EXPECT_EQ(back->kind, e.kind);
	EXPECT_EQ(back->unix_ms, e.unix_ms);
	EXPECT_EQ(back->fields, e.fields);
	EXPECT_FALSE(parse_event("not json"));
	EXPECT_FALSE(parse_event(R"({"event":"learn"})"));
	EXPECT_FALSE(parse_event(R"({"time":"yesterday","event":"learn"})"));
	EXPECT_FALSE(parse_event("[1,2]"));
}

TEST(Events, DownSaysWhoTookTheInstanceDown)
{
	const Event e = down_event("ovx down");
	const std::string pid = std::to_string(getpid());
	EXPECT_EQ(e.kind, "down");
	EXPECT_TRUE(event_json(e).ends_with(R"(,"event":"down","by":"ovx down","pid":)" + pid + "}"))
		<< event_json(e);
	EXPECT_EQ(event_text(e).substr(25), "down by=\"ovx down\" pid=" + pid);
}

TEST(Events, KindsAndGroups)
{
	EXPECT_EQ(expand_kinds({"fdb", "drift"}),
		  (std::set<std::string>{"learn", "move", "age-out", "flush", "drift"}));
	EXPECT_EQ(expand_kinds({"agent"}),
		  (std::set<std::string>{"agent-start", "agent-reload", "agent-stop"}));
	EXPECT_EQ(expand_kinds({"down", "apply"}), (std::set<std::string>{"down", "apply"}));
	EXPECT_TRUE(expand_kinds({}).empty());
	EXPECT_THROW(expand_kinds({"lern"}), ConfigError);
}

// --- the FDB diff ----------------------------------------------------------

constexpr std::uint64_t kSec = 1000000000ull;

struct Fdb {
	std::map<std::pair<std::uint32_t, std::uint8_t>, ovx_fdb_entry> entries;

	void learned(std::uint32_t sid, std::uint8_t mac, const char *vtep, std::uint64_t seen_ns)
	{
		ovx_fdb_entry e{};
		e.kind = OVX_FDB_VTEP;
		e.flags = OVX_FDB_LEARNED;
		e.vtep.family = AF_INET;
		inet_pton(AF_INET, vtep, &e.vtep.a[0]);
		e.seen_ns = seen_ns;
		entries[{sid, mac}] = e;
	}
	void fixed(std::uint32_t sid, std::uint8_t mac, const char *vtep)
	{
		learned(sid, mac, vtep, 0);
		entries[{sid, mac}].flags = OVX_FDB_STATIC;
	}
	FdbWatch::Scan scan() const
	{
		return [this](const FdbWatch::Visit &visit) {
			for (const auto &[k, e] : entries) {
				ovx_fdb_key key{};
				key.segment = k.first;
				const std::uint8_t mac[6] = {2, 0, 0, 0, 2, k.second};
				std::memcpy(key.mac, mac, 6);
				visit(key, e);
			}
		};
	}
};

const std::map<std::uint32_t, FdbSegment> kSegments = {{1, {"blue-web", "blue", 4}},
						       {2, {"red-db", "red", 0}}};

std::vector<std::string> texts(const std::vector<Event> &events)
{
	std::vector<std::string> out;
	for (const auto &e : events)
		out.push_back(event_text(e).substr(25)); // without the time
	return out;
}

TEST(FdbWatch, LearnMoveAgeOutFlush)
{
	FdbWatch w;
	Fdb fdb;
	fdb.learned(1, 1, "192.168.77.2", 100 * kSec);
	fdb.fixed(1, 9, "192.168.77.9");
	// The first read is the baseline: what is there already is no news.
	EXPECT_TRUE(w.update(kSegments, fdb.scan(), 101 * kSec, kWhen).empty());

	fdb.learned(1, 2, "192.168.77.2", 101 * kSec);
	fdb.learned(2, 1, "192.168.77.3", 101 * kSec); // same MAC, other segment
	fdb.fixed(1, 8, "192.168.77.9");	       // static: apply's business
	EXPECT_EQ(texts(w.update(kSegments, fdb.scan(), 102 * kSec, kWhen)),
		  (std::vector<std::string>{"learn blue/blue-web 02:00:00:00:02:02 vtep 192.168.77.2",
					    "learn red/red-db 02:00:00:00:02:01 vtep 192.168.77.3"}));

	// A refresh is not news; a new VTEP is a move.
	fdb.learned(1, 1, "192.168.77.2", 102 * kSec);
	fdb.learned(1, 2, "192.168.77.3", 102 * kSec);
	EXPECT_EQ(texts(w.update(kSegments, fdb.scan(), 103 * kSec, kWhen)),
		  (std::vector<std::string>{
			  "move blue/blue-web 02:00:00:00:02:02 vtep 192.168.77.3 from=192.168.77.2"}));

	// Aging is lazy: the entry stays in the map, older than its segment's
	// 4 s; red's entries never age.
	EXPECT_EQ(texts(w.update(kSegments, fdb.scan(), 106.5 * kSec, kWhen)),
		  (std::vector<std::string>{
			  "age-out blue/blue-web 02:00:00:00:02:01 vtep 192.168.77.2 age=4.5",
			  "age-out blue/blue-web 02:00:00:00:02:02 vtep 192.168.77.3 age=4.5"}));
	EXPECT_TRUE(w.update(kSegments, fdb.scan(), 107 * kSec, kWhen).empty());

	// Learned again after it aged: a learn. Reclaimed once aged: nothing
	// more. Deleted while it lived: a flush.
	fdb.learned(1, 1, "192.168.77.4", 107 * kSec);
	fdb.entries.erase({1, 2});
	fdb.entries.erase({2, 1});
	EXPECT_EQ(texts(w.update(kSegments, fdb.scan(), 108 * kSec, kWhen)),
		  (std::vector<std::string>{"learn blue/blue-web 02:00:00:00:02:01 vtep 192.168.77.4",
					    "flush red/red-db 02:00:00:00:02:01 vtep 192.168.77.3"}));

	// Aged and reclaimed between two reads: still an age-out.
	fdb.entries.erase({1, 1});
	EXPECT_EQ(texts(w.update(kSegments, fdb.scan(), 112 * kSec, kWhen)),
		  (std::vector<std::string>{
			  "age-out blue/blue-web 02:00:00:00:02:01 vtep 192.168.77.4 age=5.0"}));
	EXPECT_EQ(w.size(), 0u);
}

// --- writers never block on monitors ----------------------------------------

class EventBusTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		dir_ = std::filesystem::temp_directory_path() /
		       ("ovx-events-test-" + std::to_string(getpid()));
		std::filesystem::create_directories(dir_);
		setenv("OVX_RUN_DIR", dir_.c_str(), 1);
		std::filesystem::create_directories(monitor_dir("t"));
	}
	void TearDown() override
	{
		unsetenv("OVX_RUN_DIR");
		std::filesystem::remove_all(dir_);
	}

	// A monitor's socket that listens; accepting is up to the test.
	UniqueFd listen_at(const std::string &name)
	{
		UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		const std::string path = monitor_dir("t") + "/" + name;
		std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
		EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr *>(&sa), sizeof(sa)), 0);
		EXPECT_EQ(::listen(fd.get(), 4), 0);
		return fd;
	}

	std::filesystem::path dir_;
};

TEST_F(EventBusTest, AMonitorThatDoesNotReadLosesEventsAndIsToldHowMany)
{
	UniqueFd listener = listen_at("1.sock");
	EventBus bus("t");
	const auto start = std::chrono::steady_clock::now();
	constexpr int kEvents = 20000;
	for (int i = 0; i < kEvents; i++)
		bus.publish(learn_event());
	const double took =
		std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	EXPECT_LT(took, 5.0) << "publishing blocked on a monitor that does not read";
	ASSERT_GT(bus.dropped(), 0u);
	EXPECT_LT(bus.dropped(), static_cast<std::uint64_t>(kEvents));

	// The monitor catches up: what was queued arrives whole, one event per
	// message, and the next event says how many it missed.
	UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
	ASSERT_TRUE(conn);
	char buf[4096];
	std::uint64_t got = 0;
	for (ssize_t n; (n = ::recv(conn.get(), buf, sizeof(buf), MSG_DONTWAIT)) > 0; got++)
		ASSERT_EQ(std::string(buf, static_cast<std::size_t>(n)), event_json(learn_event()));
	EXPECT_EQ(got + bus.dropped(), static_cast<std::uint64_t>(kEvents));
	bus.publish(learn_event());
	const ssize_t n = ::recv(conn.get(), buf, sizeof(buf), MSG_DONTWAIT);
	ASSERT_GT(n, 0);
	const auto e = parse_event(std::string_view(buf, static_cast<std::size_t>(n)));
	ASSERT_TRUE(e);
	EXPECT_EQ(e->fields.value("lost", std::uint64_t{0}), bus.dropped());
}

TEST_F(EventBusTest, ADeadMonitorsSocketIsRemoved)
{
	{
		UniqueFd gone = listen_at("2.sock");
	}
	EventBus bus("t");
	bus.publish(learn_event());
	EXPECT_FALSE(std::filesystem::exists(monitor_dir("t") + "/2.sock"));
}

} // namespace
} // namespace ovx
