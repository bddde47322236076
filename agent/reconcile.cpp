#include "agent/reconcile.h"

#include <time.h>

#include <functional>
#include <vector>

namespace ovx {
namespace {

// Every write is journaled with its inverse, replayed backwards on failure.
class Journal {
public:
	~Journal()
	{
		if (!committed_)
			for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
				try {
					(*it)();
				} catch (...) {
					// Best effort: keep undoing the rest.
				}
	}
	void record(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
	void commit() { committed_ = true; }

private:
	std::vector<std::function<void()>> undo_;
	bool committed_ = false;
};

template <typename K, typename V> AbiMap<K, V> current(const Map<K, V> &map)
{
	AbiMap<K, V> out;
	for (auto &[k, v] : map.dump())
		out.emplace(k, v);
	return out;
}

template <typename K, typename V>
void upsert_all(Map<K, V> &map, const AbiMap<K, V> &want, const AbiMap<K, V> &have,
		Journal &journal, ReconcileReport &report)
{
	for (const auto &[k, v] : want) {
		auto it = have.find(k);
		if (it != have.end() && same_bytes(it->second, v))
			continue;
		map.update(k, v);
		if (it != have.end()) {
			journal.record([&map, k, old = it->second] { map.update(k, old); });
			report.changed++;
		} else {
			journal.record([&map, k] { map.erase(k); });
			report.added++;
		}
	}
}

// Removes what @have holds, @owned claims, and @want lacks. An array's
// entries cannot be deleted: they are zeroed instead.
template <typename K, typename V, typename Owned>
void remove_stale(Map<K, V> &map, const AbiMap<K, V> &want, const AbiMap<K, V> &have,
		  Owned owned, bool is_array, Journal &journal, std::size_t &count)
{
	for (const auto &[k, v] : have) {
		if (want.contains(k) || !owned(k, v))
			continue;
		if (is_array)
			map.update(k, V{});
		else
			map.erase(k);
		journal.record([&map, k, old = v] { map.update(k, old); });
		count++;
	}
}

template <typename K, typename V> bool nonzero(const K &, const V &v)
{
	return !same_bytes(v, V{});
}

template <typename K, typename V> bool any(const K &, const V &)
{
	return true;
}

} // namespace

std::uint64_t monotonic_ns()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

ReconcileReport reconcile(Tables &t, const DesiredState &want, std::uint64_t now_ns)
{
	ReconcileReport report;
	Journal journal;

	const auto have_config = current(t.config);
	const auto have_segments = current(t.segments);
	const auto have_names = current(t.seg_names);
	const auto have_vni = current(t.vni);
	const auto have_ports = current(t.ports);
	const auto have_fdb = current(t.fdb);
	const auto have_flood_ports = current(t.flood_ports);
	const auto have_flood_vteps = current(t.flood_vteps);
	const auto have_vteps = current(t.vteps);

	// A segment id that was not active before starts with zeroed counters.
	for (const auto &[sid, seg] : want.segments) {
		auto it = have_segments.find(sid);
		if (it == have_segments.end() || !(it->second.flags & OVX_SEG_ACTIVE))
			t.seg_stats.clear(sid);
	}

	const AbiMap<std::uint32_t, ovx_config> want_config{{0, want.config}};
	upsert_all(t.config, want_config, have_config, journal, report);
	upsert_all(t.seg_names, want.names, have_names, journal, report);
	upsert_all(t.vteps, want.vteps, have_vteps, journal, report);
	upsert_all(t.flood_ports, want.flood_ports, have_flood_ports, journal, report);
	upsert_all(t.flood_vteps, want.flood_vteps, have_flood_vteps, journal, report);
	upsert_all(t.fdb, want.fdb, have_fdb, journal, report);
	upsert_all(t.segments, want.segments, have_segments, journal, report);
	upsert_all(t.ports, want.ports, have_ports, journal, report);
	upsert_all(t.vni, want.vni, have_vni, journal, report);

	remove_stale(t.vni, want.vni, have_vni, any<ovx_vni_key, std::uint32_t>, false, journal,
		     report.removed);
	remove_stale(t.ports, want.ports, have_ports, any<std::uint32_t, ovx_port>, false,
		     journal, report.removed);

	// Static entries are ours; learned ones go with their segment or age.
	auto fdb_owned = [&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		if (e.flags & OVX_FDB_STATIC)
			return true;
		auto seg = want.segments.find(k.segment);
		if (seg == want.segments.end())
			return true;
		return seg->second.aging_sec &&
		       now_ns - e.seen_ns > std::uint64_t{seg->second.aging_sec} * 1000000000ull;
	};
	std::size_t fdb_removed = 0;
	remove_stale(t.fdb, want.fdb, have_fdb, fdb_owned, false, journal, fdb_removed);
	for (const auto &[k, e] : have_fdb)
		if (!(e.flags & OVX_FDB_STATIC) && !want.fdb.contains(k) && fdb_owned(k, e))
			report.learned_reclaimed++;
	report.removed += fdb_removed - report.learned_reclaimed;

	remove_stale(t.flood_vteps, want.flood_vteps, have_flood_vteps,
		     any<ovx_flood_key, ovx_addr>, false, journal, report.removed);
	remove_stale(t.flood_ports, want.flood_ports, have_flood_ports,
		     any<ovx_flood_key, std::uint32_t>, false, journal, report.removed);
	remove_stale(t.vteps, want.vteps, have_vteps, any<ovx_vtep_key, std::uint32_t>, false,
		     journal, report.removed);
	remove_stale(t.segments, want.segments, have_segments, nonzero<std::uint32_t, ovx_segment>,
		     true, journal, report.removed);
	remove_stale(t.seg_names, want.names, have_names, nonzero<std::uint32_t, ovx_seg_name>,
		     true, journal, report.removed);

	journal.commit();
	return report;
}

} // namespace ovx
