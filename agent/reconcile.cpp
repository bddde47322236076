#include "agent/reconcile.h"

#include <arpa/inet.h>
#include <time.h>

#include <cstring>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/journal.h"
#include "loader/netdev.h"

namespace ovx {
namespace {

// What a map holds, to diff against: hashed rather than ordered, for the
// FDB may hold a million entries and is read back on every reconcile.
struct BytesHash {
	template <typename T> std::size_t operator()(const T &v) const
	{
		return std::hash<std::string_view>{}(
			std::string_view(reinterpret_cast<const char *>(&v), sizeof(T)));
	}
};
struct BytesEqual {
	template <typename T> bool operator()(const T &a, const T &b) const
	{
		return same_bytes(a, b);
	}
};
template <typename K, typename V>
using HaveMap = std::unordered_map<K, V, BytesHash, BytesEqual>;

template <typename K, typename V> HaveMap<K, V> current(const Map<K, V> &map)
{
	HaveMap<K, V> out;
	for (auto &[k, v] : map.dump())
		out.emplace(k, v);
	return out;
}

// Tells the observer of each write, keys in words ("segment blue-web
// 02:00:00:00:02:01"), segments by name where the desired or current state
// has one; with @values (a dry run), the values before and after too.
class Notes {
public:
	Notes(const WriteObserver &observe, const AbiMap<std::uint32_t, ovx_seg_name> &want,
	      const HaveMap<std::uint32_t, ovx_seg_name> &have, bool values = false)
		: observe_(observe), want_(want), have_(have), values_(values)
	{
	}

	template <typename K, typename V>
	void operator()(const Map<K, V> &map, MapWrite::Op op, const std::vector<K> &keys,
			std::type_identity_t<const std::vector<V> *> before = nullptr,
			std::type_identity_t<const std::vector<V> *> after = nullptr) const
	{
		if (!observe_)
			return;
		for (std::size_t i = 0; i < keys.size(); i++) {
			MapWrite w{map.name(), op, describe(map.name(), keys[i])};
			if (values_ && before)
				w.before = value(map.name(), (*before)[i]);
			if (values_ && after)
				w.after = value(map.name(), (*after)[i]);
			observe_(w);
		}
	}

private:
	std::string segment_name(std::uint32_t sid) const
	{
		auto name = [](const ovx_seg_name &n) {
			return std::string(n.name, strnlen(n.name, OVX_NAME_LEN));
		};
		if (auto it = want_.find(sid); it != want_.end() && it->second.name[0])
			return name(it->second);
		if (auto it = have_.find(sid); it != have_.end() && it->second.name[0])
			return name(it->second);
		return "#" + std::to_string(sid);
	}
	std::string segment(std::uint32_t sid) const { return "segment " + segment_name(sid); }
	// The maps keyed by a plain number: ports by ifindex, the config by 0,
	// the rest by segment id.
	std::string describe(const std::string &map, std::uint32_t k) const
	{
		if (map == "ovx_ports")
			return "interface " + interface_name(k);
		if (map == "ovx_config")
			return std::to_string(k);
		return segment(k);
	}
	template <typename K> std::string describe(const std::string &, const K &k) const
	{
		return describe(k);
	}
	std::string describe(const ovx_vni_key &k) const
	{
		return std::string(encap_name(static_cast<ovx_encap>(k.encap))) + " " +
		       std::to_string(k.id);
	}
	std::string describe(const ovx_fdb_key &k) const
	{
		return segment(k.segment) + " " + mac_text(k.mac);
	}
	std::string describe(const ovx_flood_key &k) const
	{
		return segment(k.segment) + " #" + std::to_string(k.index);
	}
	std::string describe(const ovx_vtep_key &k) const
	{
		return segment(k.segment) + " " + format_ip(from_abi(k.addr));
	}
	std::string describe(const ovx_rx_key &k) const
	{
		return std::string(encap_name(static_cast<ovx_encap>(k.encap))) + " " +
		       std::to_string(k.id) + " from " + format_ip(from_abi(k.src));
	}

	// A zeroed array slot is no value at all.
	template <typename V> Fields value(const std::string &map, const V &v) const
	{
		return same_bytes(v, V{}) ? Fields{} : fields(map, v);
	}
	static std::string mac_text(const std::uint8_t (&bytes)[6])
	{
		Mac mac;
		std::memcpy(mac.data(), bytes, mac.size());
		return format_mac(mac);
	}
	static std::string addr_text(const ovx_addr &a)
	{
		return a.family ? format_ip(from_abi(a)) : "";
	}
	// Names of the bits of @flags set, "a,b"; unknown bits by number.
	static std::string flag_names(std::uint32_t flags,
				      std::initializer_list<std::pair<std::uint32_t, const char *>> names)
	{
		std::string out;
		for (const auto &[bit, name] : names)
			if (flags & bit) {
				out += (out.empty() ? "" : ",") + std::string(name);
				flags &= ~bit;
			}
		if (flags)
			out += (out.empty() ? "" : ",") + std::to_string(flags);
		return out;
	}
	Fields fields(const std::string &map, std::uint32_t v) const
	{
		if (map == "ovx_vni" || map == "ovx_rx_vteps")
			return {{"segment", segment_name(v)}};
		return {{"value", std::to_string(v)}}; // ovx_vteps: a member
	}
	Fields fields(const std::string &, const ovx_flood_port &p) const
	{
		return {{"interface", interface_name(p.ifindex)}, {"index", std::to_string(p.index)}};
	}
	Fields fields(const std::string &, const ovx_addr &a) const
	{
		return {{"vtep", addr_text(a)}};
	}
	Fields fields(const std::string &, const ovx_seg_name &n) const
	{
		return {{"name", std::string(n.name, strnlen(n.name, OVX_NAME_LEN))},
			{"tenant", std::string(n.tenant, strnlen(n.tenant, OVX_NAME_LEN))}};
	}
	Fields fields(const std::string &, const ovx_port &p) const
	{
		return {{"segment", p.segment ? segment_name(p.segment) : "(segmenter return side)"},
			{"mac", mac_text(p.mac)},
			{"index", std::to_string(p.index)}};
	}
	Fields fields(const std::string &, const ovx_fdb_entry &e) const
	{
		Fields f;
		if (e.kind == OVX_FDB_PORT) {
			f.emplace_back("interface", interface_name(e.ifindex));
			f.emplace_back("index", std::to_string(e.port));
		} else {
			f.emplace_back("vtep", addr_text(e.vtep));
		}
		f.emplace_back("flags", flag_names(e.flags, {{OVX_FDB_STATIC, "static"},
							      {OVX_FDB_LEARNED, "learned"},
							      {OVX_FDB_FORWARD, "forward"},
							      {OVX_FDB_ASKED_XDP, "asked_xdp"},
							      {OVX_FDB_ASKED_TC, "asked_tc"}}));
		return f;
	}
	Fields fields(const std::string &, const ovx_segment &s) const
	{
		return {{"id", std::to_string(s.id)},
			{"encap", encap_name(static_cast<ovx_encap>(s.encap))},
			{"flags", flag_names(s.flags, {{OVX_SEG_ACTIVE, "active"},
						       {OVX_SEG_LEARNING, "learning"}})},
			{"ports", std::to_string(s.n_ports)},
			{"flood_vteps", std::to_string(s.n_vteps)},
			{"inner_mtu", std::to_string(s.inner_mtu)},
			{"aging", std::to_string(s.aging_sec)},
			{"learn_max", std::to_string(s.learn_max)},
			{"segmenter", s.gso_ifindex ? interface_name(s.gso_ifindex) : ""}};
	}
	// The receive cookie is left out: it is kept, and it is the one
	// secret of the instance.
	Fields fields(const std::string &, const ovx_config &c) const
	{
		std::string encaps;
		for (ovx_encap e : {OVX_ENCAP_VXLAN, OVX_ENCAP_NVGRE, OVX_ENCAP_STT, OVX_ENCAP_GENEVE})
			if (c.encaps & (1u << e))
				encaps += (encaps.empty() ? "" : ",") + std::string(encap_name(e));
		return {{"abi", std::to_string(c.abi_version)},
			{"underlay", c.underlay_ifindex ? interface_name(c.underlay_ifindex) : ""},
			{"mtu", std::to_string(c.underlay_mtu)},
			{"vxlan_port", std::to_string(ntohs(c.vxlan_port))},
			{"geneve_port", std::to_string(ntohs(c.geneve_port))},
			{"encaps", encaps},
			{"vtep4", addr_text(c.vtep4)},
			{"vtep6", addr_text(c.vtep6)},
			{"learn_max", std::to_string(c.learn_max)},
			{"flags", flag_names(c.flags, {{OVX_CFG_OWNS_FORWARDING, "owns_forwarding"},
						       {OVX_CFG_OWNS_FORWARDING6, "owns_forwarding6"},
						       {OVX_CFG_TRACE_DROPS, "trace_drops"},
						       {OVX_CFG_TRACE_ALL, "trace_all"},
						       {OVX_CFG_TC_ONLY, "tc_only"},
						       {OVX_CFG_XDP_PORTS, "xdp_ports"}})}};
	}

	const WriteObserver &observe_;
	const AbiMap<std::uint32_t, ovx_seg_name> &want_;
	const HaveMap<std::uint32_t, ovx_seg_name> &have_;
	bool values_;
};

// Below this many writes, one syscall per entry is as cheap as packing.
constexpr std::size_t kBatchMin = 64;

// @have: what @map holds, read back (HaveMap) or known (a DesiredState's
// AbiMap that a delta starts from). No @journal: a dry run, which only
// tells @note.
template <typename K, typename V, typename Have>
void upsert_all(Map<K, V> &map, const AbiMap<K, V> &want, const Have &have, Journal *journal,
		ReconcileReport &report, const Notes &note)
{
	std::vector<K> keys, added, changed;
	std::vector<V> values, added_values, changed_values, old;
	for (const auto &[k, v] : want) {
		auto it = have.find(k);
		if (it != have.end() && same_bytes(it->second, v))
			continue;
		keys.push_back(k);
		values.push_back(v);
		// An array's zeroed slot holds nothing: filling it adds.
		if (it != have.end() && !(map.is_array() && same_bytes(it->second, V{}))) {
			changed.push_back(k);
			old.push_back(it->second);
			if (!journal) // told only in a dry run
				changed_values.push_back(v);
		} else {
			added.push_back(k);
			if (!journal)
				added_values.push_back(v);
		}
	}
	if (keys.empty())
		return;
	report.added += added.size();
	report.changed += changed.size();
	if (!journal) {
		note(map, MapWrite::Op::add, added, nullptr, &added_values);
		note(map, MapWrite::Op::change, changed, &old, &changed_values);
		return;
	}
	// Journaled first: a batch that fails half-way has written some of
	// its entries, and undoing one that was never written is harmless.
	journal->record([&map, added, changed, old] {
		for (const K &k : added)
			if (map.is_array())
				map.update(k, V{});
			else
				map.erase(k);
		for (std::size_t i = 0; i < changed.size(); i++)
			map.update(changed[i], old[i]);
	});
	if (keys.size() >= kBatchMin)
		map.update_batch(keys, values);
	else
		for (std::size_t i = 0; i < keys.size(); i++)
			map.update(keys[i], values[i]);
	note(map, MapWrite::Op::add, added);
	note(map, MapWrite::Op::change, changed);
}

// Removes what @have holds, @owned claims, and @want lacks; returns how
// many. An array's entries cannot be deleted: they are zeroed instead.
// No @journal: a dry run, which only tells @note.
template <typename K, typename V, typename Have, typename Owned>
std::size_t remove_stale(Map<K, V> &map, const AbiMap<K, V> &want, const Have &have,
			 Owned owned, Journal *journal, const Notes &note,
			 MapWrite::Op op = MapWrite::Op::remove)
{
	std::vector<K> keys;
	std::vector<V> old;
	// Hashed, and only once an owned entry needs it: a million ordered
	// lookups in @want cost more than indexing it.
	std::unordered_set<K, BytesHash, BytesEqual> wanted;
	for (const auto &[k, v] : have) {
		if (!owned(k, v))
			continue;
		if (wanted.empty())
			for (const auto &[wk, wv] : want)
				wanted.insert(wk);
		if (!wanted.contains(k)) {
			keys.push_back(k);
			old.push_back(v);
		}
	}
	if (keys.empty())
		return 0;
	if (!journal) {
		note(map, op, keys, &old);
		return keys.size();
	}
	journal->record([&map, keys, old] {
		for (std::size_t i = 0; i < keys.size(); i++)
			map.update(keys[i], old[i]);
	});
	if (map.is_array())
		for (const K &k : keys)
			map.update(k, V{});
	else if (keys.size() >= kBatchMin)
		map.erase_batch(keys);
	else
		for (const K &k : keys)
			map.erase(k);
	note(map, op, keys);
	return keys.size();
}

template <typename K, typename V> bool nonzero(const K &, const V &v)
{
	return !same_bytes(v, V{});
}

template <typename K, typename V> bool any(const K &, const V &)
{
	return true;
}

// The datapath counts learned entries per segment (and in all, index 0) to
// bound learning; @gone (segment -> entries) gives them back.
void release_learned(Tables &t, const std::map<std::uint32_t, std::uint64_t> &gone,
		     Journal &journal)
{
	std::uint64_t total = 0;
	for (const auto &[segment, n] : gone) {
		t.learned.release(segment, n);
		total += n;
	}
	if (!total)
		return;
	t.learned.release(0, total);
	journal.record([&t, gone, total] {
		for (const auto &[segment, n] : gone)
			t.learned.add(segment, n);
		t.learned.add(0, total);
	});
}

} // namespace

const char *op_name(MapWrite::Op op)
{
	switch (op) {
	case MapWrite::Op::add:
		return "added";
	case MapWrite::Op::change:
		return "changed";
	case MapWrite::Op::remove:
		return "removed";
	case MapWrite::Op::reclaim:
		return "reclaimed";
	}
	return "";
}

std::uint64_t monotonic_ns()
{
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
	       static_cast<std::uint64_t>(ts.tv_nsec);
}

ReconcileReport reconcile(Tables &t, const DesiredState &want, std::uint64_t now_ns,
			  const WriteObserver &observe)
{
	Journal journal;
	const ReconcileReport report = reconcile(t, want, now_ns, journal, observe);
	journal.commit();
	return report;
}

namespace {

// reconcile(); without @journal, reconcile_plan(): the same decisions, told
// and not made.
ReconcileReport reconcile_maps(Tables &t, const DesiredState &want, std::uint64_t now_ns,
			       Journal *journal, const WriteObserver &observe)
{
	ReconcileReport report;

	const auto have_config = current(t.config);
	const auto have_segments = current(t.segments);
	const auto have_names = current(t.seg_names);
	const auto have_vni = current(t.vni);
	const auto have_ports = current(t.ports);
	const auto have_fdb = current(t.fdb);
	const auto have_flood_ports = current(t.flood_ports);
	const auto have_flood_vteps = current(t.flood_vteps);
	const auto have_vteps = current(t.vteps);
	const auto have_rx_vteps = current(t.rx_vteps);

	const AbiMap<std::uint32_t, ovx_config> want_config{{0, want.config}};
	const Notes o(observe, want.names, have_names, !journal);

	// FDB entries that go make room first: the FDB is the one map whose
	// old and new contents together may not fit (a thousand remotes
	// replaced by a thousand others). A MAC removed a moment early floods
	// as unknown, which it is about to be anyway.
	// Static entries are ours; learned ones go with their segment, with a
	// VTEP that no longer belongs to the segment, or when they age.
	auto stale_static = [](const ovx_fdb_key &, const ovx_fdb_entry &e) {
		return (e.flags & OVX_FDB_STATIC) != 0;
	};
	auto reclaimable = [&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		if (e.flags & OVX_FDB_STATIC)
			return false;
		auto seg = want.segments.find(k.segment);
		if (seg == want.segments.end())
			return true;
		if (e.kind == OVX_FDB_VTEP && !want.vteps.contains(ovx_vtep_key{k.segment, e.vtep}))
			return true;
		// The datapath refreshes entries while the FDB is read: one seen
		// after @now_ns is live.
		return seg->second.aging_sec && e.seen_ns < now_ns &&
		       now_ns - e.seen_ns > std::uint64_t{seg->second.aging_sec} * 1000000000ull;
	};
	// The datapath counts learned entries per segment (and in all, index
	// 0) to bound learning; every one that goes here, reclaimed or
	// replaced by a static entry, is given back once the writes stand.
	std::map<std::uint32_t, std::uint64_t> learned_gone;
	for (const auto &[k, e] : have_fdb)
		if (!(e.flags & OVX_FDB_STATIC) && (e.flags & OVX_FDB_LEARNED) &&
		    (want.fdb.contains(k) || reclaimable(k, e)))
			learned_gone[k.segment]++;
	const std::size_t stale = remove_stale(t.fdb, want.fdb, have_fdb, stale_static, journal, o);
	const std::size_t reclaimed =
		remove_stale(t.fdb, want.fdb, have_fdb, reclaimable, journal, o, MapWrite::Op::reclaim);
	report.removed += stale;
	report.learned_reclaimed += reclaimed;
	// Learning leaves room for static entries, but not for any number of
	// them: when the new ones do not fit, the least recently seen learned
	// entries make way (a learned MAC is learned again from its next
	// frame; a static one the operator asked for is not).
	std::size_t adds = 0;
	for (const auto &[k, e] : want.fdb)
		adds += !have_fdb.contains(k);
	const std::size_t present = have_fdb.size() - stale - reclaimed;
	if (present + adds > t.fdb.max_entries()) {
		std::vector<std::pair<std::uint64_t, ovx_fdb_key>> learned;
		for (const auto &[k, e] : have_fdb)
			if (!(e.flags & OVX_FDB_STATIC) && !want.fdb.contains(k) && !reclaimable(k, e))
				learned.emplace_back(e.seen_ns, k);
		const std::size_t n =
			std::min(learned.size(), present + adds - t.fdb.max_entries());
		std::partial_sort(learned.begin(), learned.begin() + static_cast<std::ptrdiff_t>(n),
				  learned.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
		std::unordered_set<ovx_fdb_key, BytesHash, BytesEqual> evict;
		for (std::size_t i = 0; i < n; i++) {
			evict.insert(learned[i].second);
			if (have_fdb.at(learned[i].second).flags & OVX_FDB_LEARNED)
				learned_gone[learned[i].second.segment]++;
		}
		report.learned_reclaimed += remove_stale(
			t.fdb, want.fdb, have_fdb,
			[&](const ovx_fdb_key &k, const ovx_fdb_entry &) { return evict.contains(k); },
			journal, o, MapWrite::Op::reclaim);
	}

	// A segment id that was not active before starts with zeroed counters.
	for (const auto &[sid, seg] : want.segments) {
		auto it = have_segments.find(sid);
		if (journal && (it == have_segments.end() || !(it->second.flags & OVX_SEG_ACTIVE)))
			t.seg_stats.clear(sid);
	}
	// Likewise a port index no port held: a removed port's counters stay
	// behind in its slot until a new port takes it (build_desired()).
	for (const auto &[ifindex, port] : want.ports) {
		auto it = have_ports.find(ifindex);
		if (journal && port.index != OVX_PORT_NONE &&
		    (it == have_ports.end() || it->second.index != port.index))
			t.port_stats.clear(port.index);
	}

	upsert_all(t.config, want_config, have_config, journal, report, o);
	upsert_all(t.seg_names, want.names, have_names, journal, report, o);
	upsert_all(t.vteps, want.vteps, have_vteps, journal, report, o);
	upsert_all(t.flood_ports, want.flood_ports, have_flood_ports, journal, report, o);
	upsert_all(t.flood_vteps, want.flood_vteps, have_flood_vteps, journal, report, o);
	upsert_all(t.fdb, want.fdb, have_fdb, journal, report, o);
	upsert_all(t.segments, want.segments, have_segments, journal, report, o);
	upsert_all(t.ports, want.ports, have_ports, journal, report, o);
	upsert_all(t.vni, want.vni, have_vni, journal, report, o);
	// The receive lookup last in, first out: it admits frames only into
	// segments, members and VNIs that stand.
	upsert_all(t.rx_vteps, want.rx_vteps, have_rx_vteps, journal, report, o);

	report.removed += remove_stale(t.rx_vteps, want.rx_vteps, have_rx_vteps,
				       any<ovx_rx_key, std::uint32_t>, journal, o);
	report.removed += remove_stale(t.vni, want.vni, have_vni, any<ovx_vni_key, std::uint32_t>,
				       journal, o);
	report.removed += remove_stale(t.ports, want.ports, have_ports,
				       any<std::uint32_t, ovx_port>, journal, o);
	report.removed += remove_stale(t.flood_vteps, want.flood_vteps, have_flood_vteps,
				       any<ovx_flood_key, ovx_addr>, journal, o);
	report.removed += remove_stale(t.flood_ports, want.flood_ports, have_flood_ports,
				       any<ovx_flood_key, ovx_flood_port>, journal, o);
	report.removed += remove_stale(t.vteps, want.vteps, have_vteps,
				       any<ovx_vtep_key, std::uint32_t>, journal, o);
	report.removed += remove_stale(t.segments, want.segments, have_segments,
				       nonzero<std::uint32_t, ovx_segment>, journal, o);
	report.removed += remove_stale(t.seg_names, want.names, have_names,
				       nonzero<std::uint32_t, ovx_seg_name>, journal, o);

	if (journal)
		release_learned(t, learned_gone, *journal);
	return report;
}

} // namespace

ReconcileReport reconcile(Tables &t, const DesiredState &want, std::uint64_t now_ns,
			  Journal &journal, const WriteObserver &observe)
{
	return reconcile_maps(t, want, now_ns, &journal, observe);
}

ReconcileReport reconcile_plan(Tables &t, const DesiredState &want, std::uint64_t now_ns,
			       const WriteObserver &observe)
{
	return reconcile_maps(t, want, now_ns, nullptr, observe);
}



ReconcileReport reconcile_delta(Tables &t, const DesiredState &before, const DesiredState &after,
				Journal &journal, const WriteObserver &observe)
{
	ReconcileReport report;
	const HaveMap<std::uint32_t, ovx_seg_name> no_names;
	const Notes note(observe, after.names, no_names);
	std::vector<ovx_fdb_key> gone, added, changed;

	// Removals first, as in reconcile(): they make room. Only our own
	// (static) entries go; a learned one in their place is the datapath's.
	for (const auto &[k, e] : before.fdb) {
		if (after.fdb.contains(k))
			continue;
		const auto cur = t.fdb.lookup(k);
		if (!cur || !(cur->flags & OVX_FDB_STATIC))
			continue;
		journal.record([&t, key = k, old = *cur] { t.fdb.update(key, old); });
		t.fdb.erase(k);
		gone.push_back(k);
	}
	// Joining VTEPs, in reconcile()'s order: members and flood entries
	// before the segment record that counts them.
	upsert_all(t.vteps, after.vteps, before.vteps, &journal, report, note);
	upsert_all(t.flood_vteps, after.flood_vteps, before.flood_vteps, &journal, report, note);
	upsert_all(t.rx_vteps, after.rx_vteps, before.rx_vteps, &journal, report, note);
	std::map<std::uint32_t, std::uint64_t> learned_gone;
	for (const auto &[k, e] : after.fdb) {
		if (auto it = before.fdb.find(k); it != before.fdb.end() && same_bytes(it->second, e))
			continue;
		const auto cur = t.fdb.lookup(k);
		if (cur && same_bytes(*cur, e))
			continue;
		if (cur && !(cur->flags & OVX_FDB_STATIC) && (cur->flags & OVX_FDB_LEARNED))
			learned_gone[k.segment]++;
		if (cur)
			journal.record([&t, key = k, old = *cur] { t.fdb.update(key, old); });
		else
			journal.record([&t, key = k] { t.fdb.erase(key); });
		t.fdb.update(k, e);
		(cur ? changed : added).push_back(k);
	}
	if (after.config.learn_max != before.config.learn_max) {
		const auto cfg = t.config.lookup(0);
		if (cfg) {
			ovx_config next = *cfg;
			next.learn_max = after.config.learn_max;
			journal.record([&t, old = *cfg] { t.config.update(0, old); });
			t.config.update(0, next);
			note(t.config, MapWrite::Op::change, std::vector<std::uint32_t>{0});
			report.changed++;
		}
	}
	upsert_all(t.segments, after.segments, before.segments, &journal, report, note);
	report.removed += remove_stale(t.flood_vteps, after.flood_vteps, before.flood_vteps,
				       any<ovx_flood_key, ovx_addr>, &journal, note);
	report.removed += gone.size();
	report.added += added.size();
	report.changed += changed.size();
	note(t.fdb, MapWrite::Op::remove, gone);
	note(t.fdb, MapWrite::Op::add, added);
	note(t.fdb, MapWrite::Op::change, changed);
	release_learned(t, learned_gone, journal);
	return report;
}

} // namespace ovx
