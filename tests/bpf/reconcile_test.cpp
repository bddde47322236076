// reconcile() against real maps: idempotent, removals clean up after
// themselves, and a failure part-way leaves the maps exactly as they were.
#include <arpa/inet.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/desired.h"
#include "agent/reconcile.h"
#include "maps/error.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

class Reconcile : public DatapathTest {
protected:
	DesiredState desired(const std::string &yaml)
	{
		Resolved r{.underlay_ifindex = ifindex("ul0"), .underlay_mtu = 1500,
			   .port_ifindex = {}};
		for (const char *vm : {"vm1", "vm2", "vm3"})
			r.port_ifindex[vm] = ifindex(vm);
		return build_desired(parse_config(yaml, "t.yaml"), r, dp_->tables());
	}

	// reconcile_delta() from @before to @after, committed; a whole reconcile()
	// of @after then finds nothing left to write.
	ReconcileReport delta_as_whole(const DesiredState &before, const DesiredState &after)
	{
		Tables &t = dp_->tables();
		Journal journal;
		const ReconcileReport d = reconcile_delta(t, before, after, journal);
		journal.commit();
		const ReconcileReport whole = reconcile(t, after, monotonic_ns());
		EXPECT_FALSE(whole.changes()) << whole.added << " added, " << whole.changed
					      << " changed, " << whole.removed << " removed after the delta";
		return d;
	}

	void learn(std::uint32_t segment, MacAddr m, std::uint32_t vtep = kVtep2,
		   std::uint64_t seen_ns = monotonic_ns())
	{
		ovx_fdb_entry e{};
		e.kind = OVX_FDB_VTEP;
		e.flags = OVX_FDB_LEARNED;
		e.vtep.family = AF_INET;
		e.vtep.a[0] = htonl(vtep);
		e.seen_ns = seen_ns;
		put_fdb(segment, m, e);
	}

	std::string snapshot()
	{
		std::string s;
		auto add = [&](const auto &entries) {
			for (const auto &[k, v] : entries) {
				s.append(reinterpret_cast<const char *>(&k), sizeof(k));
				s.append(reinterpret_cast<const char *>(&v), sizeof(v));
			}
			s += '|';
		};
		const Tables &t = dp_->tables();
		add(t.config.dump());
		add(t.vni.dump());
		add(t.segments.dump());
		add(t.seg_names.dump());
		add(t.ports.dump());
		add(t.fdb.dump());
		add(t.flood_ports.dump());
		add(t.flood_vteps.dump());
		add(t.vteps.dump());
		return s;
	}
};

// The environment's file without its red segment.
std::string blue_only()
{
	const std::string full = packet_config_text();
	return full.substr(0, full.find("  - name: red"));
}

TEST_F(Reconcile, SameStateTwiceChangesNothing)
{
	const std::string before = snapshot();
	const std::string yaml = packet_config_text();
	const ReconcileReport r = reconcile(dp_->tables(), desired(yaml), monotonic_ns());
	EXPECT_FALSE(r.changes()) << r.added << " added, " << r.changed << " changed, "
				  << r.removed << " removed";
	EXPECT_EQ(snapshot(), before);
}

TEST_F(Reconcile, RemovedSegmentTakesItsLearnedEntriesAlong)
{
	const MacAddr blue_mac = mac("02:00:00:00:05:01"), red_mac = mac("02:00:00:00:05:02");
	learn(kBlue, blue_mac);
	learn(kRed, red_mac);
	const ReconcileReport r = reconcile(dp_->tables(), desired(blue_only()), monotonic_ns());
	EXPECT_GT(r.removed, 0u);
	EXPECT_EQ(r.learned_reclaimed, 1u);
	EXPECT_TRUE(fdb(kBlue, blue_mac)) << "a learned entry of a kept segment must stay";
	EXPECT_FALSE(fdb(kRed, red_mac));
	EXPECT_FALSE(fdb(kRed, kVm3));
	EXPECT_FALSE(dp_->tables().ports.lookup(static_cast<std::uint32_t>(ifindex("vm3"))));
	EXPECT_FALSE(dp_->tables().vni.lookup(vni_key(OVX_ENCAP_VXLAN, 5002)));
	EXPECT_EQ(dp_->tables().segments.lookup(kRed)->flags, 0);
}

TEST_F(Reconcile, AgedLearnedEntriesAreReclaimed)
{
	const MacAddr old = mac("02:00:00:00:05:03");
	learn(kBlue, old);
	const std::uint64_t later = monotonic_ns() + 301ull * 1000000000ull;
	const ReconcileReport r = reconcile(dp_->tables(), desired(blue_only()), later);
	EXPECT_EQ(r.learned_reclaimed, 1u);
	EXPECT_FALSE(fdb(kBlue, old));
}

// The datapath refreshes entries while reconcile reads the FDB: one seen
// after the caller's clock reading is live, not aged by 2^64 ns.
TEST_F(Reconcile, EntryRefreshedAfterNowIsKept)
{
	const MacAddr live = mac("02:00:00:00:05:05");
	const std::uint64_t now = monotonic_ns();
	learn(kBlue, live, kVtep2, now + 1000000000ull);
	const ReconcileReport r = reconcile(dp_->tables(), desired(packet_config_text()), now);
	EXPECT_EQ(r.learned_reclaimed, 0u);
	EXPECT_TRUE(fdb(kBlue, live));
}

// A VTEP taken out of a segment takes the MACs learned behind it along,
// whatever their age (aging: 0 keeps them for ever otherwise).
TEST_F(Reconcile, LearnedEntryBehindAVtepNoLongerInTheSegmentGoes)
{
	const MacAddr behind3 = mac("02:00:00:00:05:06"), behind2 = mac("02:00:00:00:05:07");
	learn(kRed, behind3, kVtep3); // red's only VTEP is .2
	learn(kRed, behind2, kVtep2);
	const ReconcileReport r = reconcile(dp_->tables(), desired(packet_config_text()), monotonic_ns());
	EXPECT_EQ(r.learned_reclaimed, 1u);
	EXPECT_FALSE(fdb(kRed, behind3));
	EXPECT_TRUE(fdb(kRed, behind2));
}

// Static remotes replaced by as many others: the final state fits the FDB
// (4096 in the fixture), so removals must make room before additions.
TEST_F(Reconcile, ReplacementThatFitsTheFinalSizeSucceeds)
{
	auto with_remotes = [](int first) {
		std::string yaml = blue_only();
		for (int i = first; i < first + 2500; i++) {
			char line[96];
			std::snprintf(line, sizeof(line),
				      "      - {mac: \"06:00:00:00:%02x:%02x\", vtep: 192.168.77.2}\n",
				      i >> 8, i & 0xff);
			yaml += line;
		}
		return yaml;
	};
	reconcile(dp_->tables(), desired(with_remotes(0)), monotonic_ns());
	const ReconcileReport r =
		reconcile(dp_->tables(), desired(with_remotes(3000)), monotonic_ns());
	EXPECT_EQ(r.added, 2500u);
	EXPECT_EQ(r.removed, 2500u);
	EXPECT_TRUE(fdb(kBlue, mac("06:00:00:00:0b:b8")));
	EXPECT_FALSE(fdb(kBlue, mac("06:00:00:00:00:00")));
}

// The datapath's learned counts (the learning limit) get back what
// reconcile reclaims, and only once the writes stand.
TEST_F(Reconcile, ReclaimedEntriesGiveBackTheirLearnedCount)
{
	CounterArray &learned = dp_->tables().learned;
	const std::uint64_t total = learned.get(0), red = learned.get(kRed);
	learn(kRed, mac("02:00:00:00:05:08"), kVtep3); // behind a VTEP red does not have
	learned.add(kRed, 1);
	learned.add(0, 1);
	const ReconcileReport r = reconcile(dp_->tables(), desired(packet_config_text()), monotonic_ns());
	EXPECT_EQ(r.learned_reclaimed, 1u);
	EXPECT_EQ(learned.get(kRed), red);
	EXPECT_EQ(learned.get(0), total);
}

// blue_only() with remotes 06:00:00:00:00:<i> for @first <= i < @last, each
// behind @vtep.
std::string with_remotes(int first, int last, const char *vtep = "192.168.77.2")
{
	std::string yaml = blue_only();
	for (int i = first; i < last; i++) {
		char line[96];
		std::snprintf(line, sizeof(line), "      - {mac: \"06:00:00:00:%02x:%02x\", vtep: %s}\n",
			      i >> 8, i & 0xff, vtep);
		yaml += line;
	}
	return yaml;
}

// The cluster agent's delta: remotes bound, moved and gone, written key by
// key, leave the maps exactly where a whole reconcile would.
TEST_F(Reconcile, FdbDeltaLeavesWhatAWholeReconcileWould)
{
	const DesiredState before = desired(with_remotes(0, 10));
	reconcile(dp_->tables(), before, monotonic_ns());
	// 0-4 kept, 5-9 gone, 10-14 new; and 0 moves to another VTEP.
	std::string yaml = with_remotes(1, 5) + with_remotes(10, 15).substr(blue_only().size());
	yaml += "      - {mac: \"06:00:00:00:00:00\", vtep: 192.168.77.3}\n";
	const DesiredState after = desired(yaml);
	ASSERT_TRUE(delta_applicable(before, after));
	const ReconcileReport d = delta_as_whole(before, after);
	EXPECT_EQ(d.added, 5u);
	EXPECT_EQ(d.removed, 5u);
	EXPECT_EQ(d.changed, 1u); // the moved MAC; learn_max counts the same statics
}

// A static entry that replaces a learned one gives its learned count back;
// a learned entry where a static one went stays (it is the datapath's).
TEST_F(Reconcile, FdbDeltaReplacingALearnedEntryGivesItsCountBack)
{
	const DesiredState before = desired(with_remotes(0, 2));
	reconcile(dp_->tables(), before, monotonic_ns());
	CounterArray &learned = dp_->tables().learned;
	const std::uint64_t total = learned.get(0), blue = learned.get(kBlue);
	learn(kBlue, mac("06:00:00:00:00:05"));
	learned.add(kBlue, 1);
	learned.add(0, 1);
	Journal journal;
	reconcile_delta(dp_->tables(), before, desired(with_remotes(0, 6)), journal);
	journal.commit();
	EXPECT_EQ(learned.get(kBlue), blue);
	EXPECT_EQ(learned.get(0), total);
	EXPECT_TRUE(fdb(kBlue, mac("06:00:00:00:00:05"))->flags & OVX_FDB_STATIC);
}

TEST_F(Reconcile, FdbDeltaFailingPartWayIsUndone)
{
	const DesiredState before = desired(blue_only());
	learn(kBlue, mac("02:00:00:00:05:09"));
	const std::string snap = snapshot();
	// More than the FDB holds (4096 in the fixture).
	const DesiredState after = desired(with_remotes(0, 4200));
	{
		Journal journal;
		EXPECT_THROW(reconcile_delta(dp_->tables(), before, after, journal), SystemError);
	}
	EXPECT_EQ(snapshot(), snap);
}

// with_remotes(0, 2) with blue's flood list @list.
std::string flooding_to(const std::string &list)
{
	std::string yaml = with_remotes(0, 2);
	const std::string was = "flood: [192.168.77.2, 192.168.77.3]";
	const auto at = yaml.find(was);
	EXPECT_NE(at, std::string::npos);
	return yaml.replace(at, was.size(), "flood: [" + list + "]");
}

TEST_F(Reconcile, ADeltaIsStaticEntriesAndJoiningVtepsOnly)
{
	const DesiredState base = desired(with_remotes(0, 2));
	EXPECT_TRUE(delta_applicable(base, desired(with_remotes(0, 3))));
	EXPECT_TRUE(delta_applicable(base, desired(flooding_to("192.168.77.2, 192.168.77.3, 192.168.77.9"))))
		<< "a VTEP joins";
	EXPECT_FALSE(delta_applicable(base, desired(packet_config_text()))) << "a segment more";
	EXPECT_FALSE(delta_applicable(base, desired(flooding_to("192.168.77.2, 192.168.77.9"))))
		<< "a VTEP leaves (and one joins)";
	EXPECT_FALSE(delta_applicable(base, desired(flooding_to("192.168.77.2"))))
		<< "a VTEP leaves";
}

// A host joining a segment (the cluster's most common change after a move)
// written as a delta: members, flood list and the segment's count, exactly
// as a whole reconcile leaves them; an entry behind the new VTEP with it.
TEST_F(Reconcile, AJoiningVtepWrittenAsADeltaLeavesWhatAWholeReconcileWould)
{
	const DesiredState before = desired(with_remotes(0, 2));
	reconcile(dp_->tables(), before, monotonic_ns());
	std::string yaml = flooding_to("192.168.77.2, 192.168.77.9, 192.168.77.3");
	yaml += "      - {mac: \"06:00:00:00:00:09\", vtep: 192.168.77.9}\n";
	const DesiredState after = desired(yaml);
	ASSERT_TRUE(delta_applicable(before, after));
	EXPECT_TRUE(delta_as_whole(before, after).changes());
	EXPECT_EQ(dp_->tables().segments.lookup(kBlue)->n_vteps, 3);
}

TEST_F(Reconcile, AJoiningVtepDeltaFailingPartWayIsUndone)
{
	const DesiredState before = desired(with_remotes(0, 2));
	reconcile(dp_->tables(), before, monotonic_ns());
	const std::string snap = snapshot();
	// A VTEP joins, and more remotes than the FDB holds (4096 in the fixture).
	std::string yaml = flooding_to("192.168.77.2, 192.168.77.3, 192.168.77.9");
	yaml += with_remotes(2, 4200).substr(blue_only().size());
	const DesiredState after = desired(yaml);
	ASSERT_TRUE(delta_applicable(before, after));
	{
		Journal journal;
		EXPECT_THROW(reconcile_delta(dp_->tables(), before, after, journal), SystemError);
	}
	EXPECT_EQ(snapshot(), snap);
}

// Static entries that do not fit beside what was learned push out the
// least recently seen learned entries, never fail the apply for them.
TEST_F(Reconcile, StaticEntriesThatDoNotFitEvictTheOldestLearned)
{
	const std::uint32_t cap = dp_->tables().fdb.max_entries();
	const std::size_t statics = dp_->tables().fdb.dump().size();
	const std::uint64_t now = monotonic_ns();
	// The FDB full of learned entries, the first 100 the oldest, the very
	// first oldest of all (ties would leave the choice to the sort).
	for (std::uint32_t i = 0; i < cap - statics; i++) {
		MacAddr m = mac("0e:00:00:00:00:00");
		m.b[3] = static_cast<std::uint8_t>(i >> 16);
		m.b[4] = static_cast<std::uint8_t>(i >> 8);
		m.b[5] = static_cast<std::uint8_t>(i);
		learn(kBlue, m, kVtep2,
		      now - (i < 100 ? 10'000'000'000ull + (100 - i) * 1'000ull : 1'000'000ull));
	}
	const ReconcileReport r = reconcile(dp_->tables(), desired(with_remotes(0, 100)), now);
	EXPECT_EQ(r.added, 100u);
	// As many as the new ones need, less what red's removal freed.
	EXPECT_GT(r.learned_reclaimed, 90u);
	EXPECT_LE(r.learned_reclaimed, 100u);
	EXPECT_TRUE(fdb(kBlue, mac("06:00:00:00:00:63")));
	EXPECT_FALSE(fdb(kBlue, mac("0e:00:00:00:00:00"))) << "the oldest learned entry must go";
	EXPECT_TRUE(fdb(kBlue, mac("0e:00:00:00:00:64"))) << "a newer learned entry must stay";
}

TEST_F(Reconcile, FailurePartWayLeavesTheMapsAsTheyWere)
{
	learn(kBlue, mac("02:00:00:00:05:04"));
	const std::string before = snapshot();
	// More static entries than the FDB holds (4096 in the fixture): the
	// kernel refuses one part-way, after thousands were written.
	std::string yaml = blue_only();
	for (int i = 0; i < 4200; i++) {
		char line[96];
		std::snprintf(line, sizeof(line),
			      "      - {mac: \"06:00:00:00:%02x:%02x\", vtep: 192.168.77.2}\n",
			      i >> 8, i & 0xff);
		yaml += line;
	}
	EXPECT_THROW(reconcile(dp_->tables(), desired(yaml), monotonic_ns()), SystemError);
	EXPECT_EQ(snapshot(), before);
}


// --- the dry run (`ovx apply --dry-run`): reconcile_plan() ---------------

std::string replaced(std::string text, const std::string &from, const std::string &to)
{
	const auto at = text.find(from);
	if (at == std::string::npos)
		throw std::runtime_error("test config lacks '" + from + "'");
	return text.replace(at, from.size(), to);
}

// Every kind of change at once: blue's aging and a remote's VTEP changed,
// a remote added, red removed with its learned entry, green added, and an
// aged learned entry in blue to reclaim.
std::string everything_changed()
{
	std::string yaml = replaced(blue_only(), "aging: 300", "aging: 60");
	yaml = replaced(yaml, "vtep: 192.168.77.2}", "vtep: 192.168.77.3}\n"
						     "      - {mac: \"02:00:00:00:02:02\", vtep: 192.168.77.3}");
	return yaml + "  - name: green\n"
		      "    tenant: green\n"
		      "    id: 5003\n"
		      "    flood: [192.168.77.3]\n"
		      "    ports:\n"
		      "      - {interface: vm3, mac: \"02:00:00:00:01:03\"}\n";
}

std::string write_line(const MapWrite &w)
{
	return w.map + " " + op_name(w.op) + " " + w.key;
}

TEST_F(Reconcile, PlanIsExactlyWhatReconcileThenWrites)
{
	const std::uint64_t now = monotonic_ns();
	learn(kBlue, mac("02:00:00:00:05:04"), kVtep2, now - 400ull * 1000000000ull);
	learn(kRed, mac("02:00:00:00:05:05"), kVtep2, now);
	Tables &t = dp_->tables();
	const DesiredState want = desired(everything_changed());

	std::vector<std::string> planned, written;
	const ReconcileReport p = reconcile_plan(
		t, want, now, [&](const MapWrite &w) { planned.push_back(write_line(w)); });
	const ReconcileReport r =
		reconcile(t, want, now, [&](const MapWrite &w) { written.push_back(write_line(w)); });
	EXPECT_EQ(planned, written);
	EXPECT_EQ(p.added, r.added);
	EXPECT_EQ(p.changed, r.changed);
	EXPECT_EQ(p.removed, r.removed);
	EXPECT_EQ(p.learned_reclaimed, r.learned_reclaimed);
	EXPECT_EQ(r.learned_reclaimed, 2u);
	EXPECT_GE(written.size(), 10u) << "the test changes too little to compare";

	// Applied, the same file plans nothing.
	planned.clear();
	EXPECT_FALSE(reconcile_plan(t, want, monotonic_ns(), [&](const MapWrite &w) {
			     planned.push_back(write_line(w));
		     }).changes());
	EXPECT_TRUE(planned.empty()) << planned.front();
}

TEST_F(Reconcile, PlanWritesNothing)
{
	const std::uint64_t now = monotonic_ns();
	learn(kBlue, mac("02:00:00:00:05:04"), kVtep2, now - 400ull * 1000000000ull);
	learn(kRed, mac("02:00:00:00:05:05"), kVtep2, now);
	Tables &t = dp_->tables();
	t.learned.add(kBlue, 1);
	t.learned.add(kRed, 1);
	t.learned.add(0, 2);
	const std::string before = snapshot();
	const std::uint64_t learned_blue = t.learned.get(kBlue), learned_all = t.learned.get(0);
	std::size_t told = 0;
	const ReconcileReport p = reconcile_plan(t, desired(everything_changed()), now,
						 [&](const MapWrite &) { told++; });
	EXPECT_TRUE(p.changes());
	EXPECT_GE(told, 10u);
	EXPECT_EQ(snapshot(), before) << "the dry run wrote to the maps";
	EXPECT_EQ(t.learned.get(kBlue), learned_blue) << "the dry run gave learned entries back";
	EXPECT_EQ(t.learned.get(0), learned_all);
}

TEST_F(Reconcile, PlanTellsValuesBeforeAndAfter)
{
	std::vector<MapWrite> plan;
	reconcile_plan(dp_->tables(), desired(everything_changed()), monotonic_ns(),
		       [&](const MapWrite &w) { plan.push_back(w); });
	auto find = [&](const std::string &map, MapWrite::Op op, const std::string &key) {
		for (const MapWrite &w : plan)
			if (w.map == map && w.op == op && w.key == key)
				return w;
		ADD_FAILURE() << "no " << op_name(op) << " " << map << " " << key;
		return MapWrite{};
	};
	auto field = [](const Fields &f, const std::string &name) {
		for (const auto &[n, v] : f)
			if (n == name)
				return v;
		return std::string("(none)");
	};
	const MapWrite blue = find("ovx_segments", MapWrite::Op::change, "segment blue");
	EXPECT_EQ(field(blue.before, "aging"), "300");
	EXPECT_EQ(field(blue.after, "aging"), "60");
	const MapWrite moved =
		find("ovx_fdb", MapWrite::Op::change, "segment blue 02:00:00:00:02:01");
	EXPECT_EQ(field(moved.before, "vtep"), "192.168.77.2");
	EXPECT_EQ(field(moved.after, "vtep"), "192.168.77.3");
	EXPECT_EQ(field(moved.after, "flags"), "static");
	const MapWrite added = find("ovx_fdb", MapWrite::Op::add, "segment blue 02:00:00:00:02:02");
	EXPECT_TRUE(added.before.empty());
	EXPECT_EQ(field(added.after, "vtep"), "192.168.77.3");
	const MapWrite red = find("ovx_vni", MapWrite::Op::remove, "vxlan 5002");
	EXPECT_EQ(field(red.before, "segment"), "red");
	EXPECT_TRUE(red.after.empty());
	const MapWrite port = find("ovx_ports", MapWrite::Op::change, "interface vm3");
	EXPECT_EQ(field(port.before, "segment"), "red");
	EXPECT_EQ(field(port.after, "segment"), "green");
	EXPECT_EQ(field(port.after, "mac"), "02:00:00:00:01:03");
}

} // namespace
} // namespace ovx::test
