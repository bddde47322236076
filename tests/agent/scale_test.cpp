// The FDB at scale through reconcile(): a large static FDB goes in with batch
// map writes, a change of 10 entries writes exactly 10, and the FDB streams
// back in O(n). OVX_SCALE_ENTRIES sets the size (CI: 100000; the report's
// figure: 1000000); seconds and peak memory are printed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "agent/desired.h"
#include "agent/inspect.h"
#include "agent/reconcile.h"
#include "loader/dataplane.h"

namespace ovx {
namespace {

std::size_t scale_entries()
{
	const char *env = std::getenv("OVX_SCALE_ENTRIES");
	return env ? std::strtoul(env, nullptr, 10) : 100000;
}

IpAddr ip4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d)
{
	IpAddr ip;
	ip.family = AF_INET;
	ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
	return ip;
}

Mac mac_of(std::size_t i)
{
	return Mac{0x02, 0x10, static_cast<std::uint8_t>(i >> 24), static_cast<std::uint8_t>(i >> 16),
		   static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
}

double seconds_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long peak_rss_mb()
{
	rusage ru{};
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

TEST(FdbScale, BatchApplyTenDifferencesAndStream)
{
	const std::size_t n = scale_entries();
	Dataplane dp = Dataplane::load_unpinned(static_cast<std::uint32_t>(n + 1024));

	Config c;
	c.path = "scale";
	c.underlay.interface = "lo";
	c.underlay.address4 = ip4(192, 168, 77, 1);
	Segment s;
	s.name = "big";
	s.tenant = "t";
	s.id = 7000;
	for (int v = 0; v < 8; v++)
		s.flood.push_back(ip4(192, 168, 77, static_cast<std::uint8_t>(2 + v)));
	for (std::size_t i = 0; i < n; i++)
		s.remotes.push_back(Remote{mac_of(i), s.flood[i % 8], {}});
	c.segments.push_back(s);
	const Resolved r{.underlay_ifindex = 1, .underlay_mtu = 1500, .port_ifindex = {}};

	auto t0 = std::chrono::steady_clock::now();
	const DesiredState want = build_desired(c, r, dp.tables());
	const ReconcileReport first = reconcile(dp.tables(), want, monotonic_ns());
	const double apply_secs = seconds_since(t0);
	EXPECT_EQ(dp.tables().fdb.count(), n);
	EXPECT_GE(first.added, n);
	std::printf("FDB scale: %zu static entries applied in %.2f s (build + diff + batch "
		    "writes), peak RSS %ld MB\n",
		    n, apply_secs, peak_rss_mb());

	// 10 differences: 4 entries move to another VTEP, 3 go, 3 are new.
	auto &remotes = c.segments[0].remotes;
	for (std::size_t i = 0; i < 4; i++)
		remotes[i * 1000].vtep = remotes[i * 1000 + 1].vtep;
	remotes.erase(remotes.end() - 3, remotes.end());
	for (std::size_t i = 0; i < 3; i++)
		remotes.push_back(Remote{mac_of(n + 10 + i), c.segments[0].flood[0], {}});
	std::size_t writes = 0;
	t0 = std::chrono::steady_clock::now();
	const DesiredState want2 = build_desired(c, r, dp.tables());
	const ReconcileReport second = reconcile(dp.tables(), want2, monotonic_ns(),
						 [&](const MapWrite &w) {
							 EXPECT_EQ(w.map, "ovx_fdb") << w.key;
							 writes++;
						 });
	std::printf("FDB scale: a change of 10 entries among %zu: %zu map writes, %.2f s\n", n,
		    writes, seconds_since(t0));
	EXPECT_EQ(writes, 10u);
	EXPECT_EQ(second.added, 3u);
	EXPECT_EQ(second.changed, 4u);
	EXPECT_EQ(second.removed, 3u);

	std::size_t streamed = 0;
	t0 = std::chrono::steady_clock::now();
	for_each_fdb(dp, [&](const FdbView &f) {
		streamed++;
		EXPECT_EQ(f.segment, "big");
	});
	std::printf("FDB scale: %zu entries streamed in %.2f s\n", streamed, seconds_since(t0));
	EXPECT_EQ(streamed, n);

	// The same state again writes nothing.
	std::size_t again = 0;
	reconcile(dp.tables(), build_desired(c, r, dp.tables()), monotonic_ns(),
		  [&](const MapWrite &) { again++; });
	EXPECT_EQ(again, 0u);
}

} // namespace
} // namespace ovx
