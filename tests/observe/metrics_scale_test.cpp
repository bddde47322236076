// The exporter against real maps at scale: 10,000 segments with per-CPU
// counters, 4,096 ports and 100,000 FDB entries. Each CPU's value differs,
// so a series is right only if the reader summed every CPU; a scrape must
// take well under a second (the figure is printed).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "agent/metrics.h"
#include "loader/dataplane.h"
#include "maps/error.h"
#include "maps/map.h"

namespace ovx {
namespace {

constexpr std::uint32_t kSegments = 10000;
constexpr std::uint32_t kPorts = OVX_MAX_PORTS - 1; // index 0 is no port's
constexpr std::uint32_t kFdb = 100000;

void fill(Tables &t)
{
	const std::size_t ncpus = possible_cpus();
	for (std::uint32_t sid = 1; sid <= kSegments; sid++) {
		ovx_segment seg{};
		seg.id = 100000 + sid;
		seg.encap = OVX_ENCAP_VXLAN;
		seg.flags = OVX_SEG_ACTIVE;
		t.segments.update(sid, seg);
		ovx_seg_name name{};
		std::snprintf(name.name, sizeof(name.name), "seg%u", sid);
		std::snprintf(name.tenant, sizeof(name.tenant), "tenant%u", sid % 100);
		t.seg_names.update(sid, name);
		std::vector<ovx_seg_stats> per_cpu(ncpus);
		for (std::size_t cpu = 0; cpu < ncpus; cpu++) {
			per_cpu[cpu].rx_packets = sid * 10 + cpu + 1;
			per_cpu[cpu].tx_bytes = sid * 1000 + cpu + 1;
			per_cpu[cpu].drops[OVX_DROP_UNKNOWN_VTEP] = cpu + 1;
		}
		t.seg_stats.update(sid, per_cpu);
	}
	for (std::uint32_t i = 0; i < kPorts; i++) {
		const std::uint32_t ifindex = 100000 + i; // no such interface: named "ifN"
		const auto index = static_cast<std::uint16_t>(i + 1);
		t.ports.update(ifindex, ovx_port{.segment = 1 + i % kSegments, .mac = {2}, .index = index});
		std::vector<ovx_port_stats> per_cpu(ncpus);
		for (std::size_t cpu = 0; cpu < ncpus; cpu++)
			per_cpu[cpu].rx_packets = i + cpu + 1;
		t.port_stats.update(index, per_cpu);
	}
	for (std::uint32_t i = 0; i < kFdb; i++) {
		ovx_fdb_key k{};
		k.segment = 1 + i % kSegments;
		std::memcpy(k.mac, &i, sizeof(i));
		ovx_fdb_entry e{};
		e.kind = OVX_FDB_PORT;
		e.flags = OVX_FDB_STATIC;
		t.fdb.update(k, e);
	}
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(MetricsScale, TenThousandSegmentsUnderASecond)
{
	Dataplane dp = Dataplane::load_unpinned(OVX_FDB_DEFAULT);
	fill(dp.tables());
	const std::size_t ncpus = possible_cpus();
	MetricsCollector collector("scale", std::chrono::seconds(30));

	auto start = std::chrono::steady_clock::now();
	render_metrics(collector.collect(dp)); // the first scrape counts the FDB
	const double with_fdb_count = seconds_since(start);
	start = std::chrono::steady_clock::now();
	const std::string text = render_metrics(collector.collect(dp));
	const double cached = seconds_since(start);

	std::printf("scrape of %u segments, %u ports, %u FDB entries on %zu CPUs: %.3f s with "
		    "the FDB count, %.3f s with it cached; %zu bytes\n",
		    kSegments, kPorts, kFdb, ncpus, with_fdb_count, cached, text.size());
	RecordProperty("scrape_seconds", std::to_string(cached));
	RecordProperty("scrape_with_fdb_count_seconds", std::to_string(with_fdb_count));
	EXPECT_LT(with_fdb_count, 1.0);
	EXPECT_LT(cached, 1.0);

	// Sums over every CPU: sid*10*ncpus + (1 + .. + ncpus).
	const std::uint64_t cpus_sum = ncpus * (ncpus + 1) / 2;
	const std::uint32_t sid = 1234;
	const std::string rx = "ovx_segment_packets_total{tenant=\"tenant34\",segment=\"seg1234\","
			       "direction=\"rx\"} " +
			       std::to_string(sid * 10 * ncpus + cpus_sum) + "\n";
	EXPECT_NE(text.find(rx), std::string::npos) << rx;
	const std::string txb = "ovx_segment_bytes_total{tenant=\"tenant34\",segment=\"seg1234\","
				"direction=\"tx\"} " +
				std::to_string(sid * 1000 * ncpus + cpus_sum) + "\n";
	EXPECT_NE(text.find(txb), std::string::npos) << txb;
	const std::string drops = "ovx_segment_drops_total{tenant=\"tenant34\",segment=\"seg1234\","
				  "reason=\"unknown_vtep\"} " +
				  std::to_string(cpus_sum) + "\n";
	EXPECT_NE(text.find(drops), std::string::npos) << drops;
	const std::string port = "ovx_port_packets_total{tenant=\"tenant1\",segment=\"seg1\","
				 "port=\"if100000\",direction=\"rx\"} " +
				 std::to_string(cpus_sum) + "\n";
	EXPECT_NE(text.find(port), std::string::npos) << port;
	// 100,000 entries over 10,000 segments: 10 each.
	EXPECT_NE(text.find("ovx_segment_fdb_entries{tenant=\"tenant34\",segment=\"seg1234\"} 10\n"),
		  std::string::npos);
	EXPECT_NE(text.find("\novx_fdb_entries 100000\n"), std::string::npos);
	EXPECT_NE(text.find("\novx_map_entries{map=\"ovx_segments\"} 10000\n"), std::string::npos);
	EXPECT_NE(text.find("\novx_map_entries{map=\"ovx_port_stats\"} 4095\n"), std::string::npos);
}

// Pins of a test instance, removed whatever happens (nothing is attached).
struct PinnedInstance {
	std::string name = "ovxtest-scale-" + std::to_string(getpid());
	~PinnedInstance()
	{
		std::error_code ec;
		std::filesystem::remove_all(Dataplane::instance_dir(name), ec);
		std::filesystem::remove(std::filesystem::path(Dataplane::instance_dir(name)).parent_path(),
					ec);
	}
};

// The whole path an operator's Prometheus takes: HTTP, gzip, 10,000 segments.
TEST(MetricsScale, HttpScrapeOfTenThousandSegments)
{
	PinnedInstance pins;
	{
		Dataplane dp = Dataplane::create(pins.name, OVX_FDB_DEFAULT);
		fill(dp.tables());
	}
	MetricsCollector collector(pins.name, std::chrono::seconds(30));
	std::mt19937 rng(static_cast<unsigned>(getpid()));
	std::unique_ptr<MetricsServer> server;
	ListenAddr listen{"127.0.0.1", 0};
	for (int attempt = 0; !server && attempt < 20; attempt++) {
		listen.port = 40000 + static_cast<int>(rng() % 20000);
		try {
			server = std::make_unique<MetricsServer>(collector, listen);
		} catch (const SystemError &) {
			// that port is taken: another one
		}
	}
	ASSERT_TRUE(server) << "no free port on 127.0.0.1";
	std::thread serving([&] { server->run(); });

	httplib::Client client(listen.host, listen.port);
	client.set_read_timeout(10, 0);
	const httplib::Headers gzip = {{"Accept-Encoding", "gzip"}};
	auto first = client.Get("/metrics", gzip); // counts the FDB
	auto start = std::chrono::steady_clock::now();
	auto res = client.Get("/metrics", gzip);
	const double seconds = seconds_since(start);
	server->stop();
	serving.join();

	ASSERT_TRUE(first && res) << "GET /metrics failed";
	EXPECT_EQ(res->status, 200);
	EXPECT_EQ(res->get_header_value("Content-Type"), kMetricsContentType);
	EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
	EXPECT_NE(res->body.find("ovx_segment_info{tenant=\"tenant34\",segment=\"seg1234\""),
		  std::string::npos);
	std::printf("HTTP scrape of %u segments (gzip): %.3f s, %zu bytes of text\n", kSegments,
		    seconds, res->body.size());
	RecordProperty("http_scrape_seconds", std::to_string(seconds));
	EXPECT_LT(seconds, 1.0);
}

// A full FDB is why the count is cached between scrapes: its cost, printed.
TEST(MetricsScale, FullFdbCount)
{
	Dataplane dp = Dataplane::load_unpinned(OVX_FDB_DEFAULT);
	Tables &t = dp.tables();
	for (std::uint32_t i = 0; i < OVX_FDB_DEFAULT; i++) {
		ovx_fdb_key k{};
		k.segment = 1 + i % kSegments;
		std::memcpy(k.mac, &i, sizeof(i));
		t.fdb.update(k, ovx_fdb_entry{});
	}
	MetricsCollector collector("scale", std::chrono::seconds(30));
	const MetricsSnapshot snap = collector.collect(dp);
	std::printf("FDB count of %u entries: %.3f s\n", OVX_FDB_DEFAULT, snap.fdb.scan_seconds);
	RecordProperty("fdb_count_seconds", std::to_string(snap.fdb.scan_seconds));
	EXPECT_EQ(snap.fdb.total, OVX_FDB_DEFAULT);
	EXPECT_EQ(snap.fdb.by_segment.at(1), OVX_FDB_DEFAULT / kSegments + 1);
	EXPECT_LT(snap.fdb.scan_seconds, 5.0);
}

} // namespace
} // namespace ovx
