// build_desired(): the Config -> map contents step, without a kernel.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "agent/config.h"
#include "agent/desired.h"
#include "maps/error.h"

namespace ovx {
namespace {

Config two_segments()
{
	return parse_config(R"(
underlay: {interface: eth1, address: 192.168.77.1}
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    aging: 60
    flood: [192.168.77.2, 192.168.77.3]
    ports:
      - {interface: vm1, mac: "02:00:00:00:01:01"}
    remotes:
      - {mac: "02:00:00:00:02:01", vtep: 192.168.77.2}
  - name: red-web
    tenant: red
    id: 5002
    learning: false
    flood: [192.168.77.2]
    ports:
      - {interface: vm2, mac: "02:00:00:00:01:01"}
)",
			    "test.yaml");
}

Resolved resolved()
{
	return Resolved{.underlay_ifindex = 2,
			.underlay_mtu = 1500,
			.port_ifindex = {{"vm1", 10}, {"vm2", 11}}};
}

ovx_fdb_key fdb_key(std::uint32_t segment, const std::string &mac)
{
	ovx_fdb_key k{};
	k.segment = segment;
	auto m = parse_mac(mac);
	std::memcpy(k.mac, m->data(), 6);
	return k;
}

TEST(Desired, ConfigRecord)
{
	const DesiredState d = build_desired(two_segments(), resolved(), {}, {});
	EXPECT_EQ(d.config.abi_version, OVX_ABI_VERSION);
	EXPECT_EQ(d.config.underlay_ifindex, 2u);
	EXPECT_EQ(d.config.underlay_mtu, 1500u);
	EXPECT_EQ(d.config.vxlan_port, htons(4789));
	EXPECT_EQ(d.config.vtep4.family, AF_INET);
	EXPECT_EQ(d.config.vtep4.a[0], htonl(0xc0a84d01));
}

TEST(Desired, SegmentsGetFreshIdsAndTheirMembers)
{
	const DesiredState d = build_desired(two_segments(), resolved(), {}, {});
	ASSERT_EQ(d.segments.size(), 2u);
	const ovx_segment &blue = d.segments.at(1);
	EXPECT_EQ(blue.id, 5001u);
	EXPECT_EQ(blue.flags, OVX_SEG_ACTIVE | OVX_SEG_LEARNING);
	EXPECT_EQ(blue.n_ports, 1);
	EXPECT_EQ(blue.n_vteps, 2);
	EXPECT_EQ(blue.inner_mtu, 1450);
	EXPECT_EQ(blue.aging_sec, 60u);
	EXPECT_EQ(d.segments.at(2).flags, OVX_SEG_ACTIVE);
	EXPECT_EQ(d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5002)), 2u);
	EXPECT_EQ(d.ports.at(11).segment, 2u);
	EXPECT_EQ(d.flood_ports.at(ovx_flood_key{1, 0}).ifindex, 10u);
	EXPECT_EQ(d.flood_vteps.size(), 3u);
	EXPECT_EQ(d.vteps.size(), 3u); // the static remote's VTEP is in blue's flood list too
}

TEST(Desired, LearningLimitsLeaveRoomForStaticEntries)
{
	Config c = two_segments();
	c.limits.fdb_entries = 1024;
	c.segments[1].learn_limit = 10;
	const DesiredState d = build_desired(c, resolved(), {}, {});
	EXPECT_EQ(d.segments.at(1).learn_max, 256u) << "a quarter of the FDB by default";
	EXPECT_EQ(d.segments.at(2).learn_max, 10u);
	// All segments together: the FDB less its static entries and 1/16 of it.
	EXPECT_EQ(d.config.learn_max, 1024u - d.fdb.size() - 64);
	EXPECT_EQ(fdb_learn_max(1024, 1000), 0u);
}

TEST(Desired, SameMacInTwoSegmentsIsTwoEntries)
{
	const DesiredState d = build_desired(two_segments(), resolved(), {}, {});
	const auto &blue = d.fdb.at(fdb_key(1, "02:00:00:00:01:01"));
	const auto &red = d.fdb.at(fdb_key(2, "02:00:00:00:01:01"));
	EXPECT_EQ(blue.kind, OVX_FDB_PORT);
	EXPECT_EQ(blue.ifindex, 10u);
	EXPECT_EQ(red.ifindex, 11u);
	const auto &remote = d.fdb.at(fdb_key(1, "02:00:00:00:02:01"));
	EXPECT_EQ(remote.kind, OVX_FDB_VTEP);
	EXPECT_EQ(remote.flags, OVX_FDB_STATIC);
	EXPECT_EQ(remote.vtep.a[0], htonl(0xc0a84d02));
}

// tc_port sends to a static entry's VTEP without asking ovx_vteps: that
// VTEP must be a member of the entry's segment in every desired state, also
// when no flood list names it.
TEST(Desired, EveryStaticRemoteVtepIsAMemberOfItsSegment)
{
	Config c = two_segments();
	Remote far;
	far.mac = *parse_mac("02:00:00:00:09:01");
	far.vtep = *parse_ip("192.168.77.9");
	c.segments[1].remotes.push_back(far);
	const DesiredState d = build_desired(c, resolved(), {}, {});
	std::size_t remotes = 0;
	for (const auto &[k, e] : d.fdb) {
		if (e.kind != OVX_FDB_VTEP)
			continue;
		remotes++;
		EXPECT_TRUE(d.vteps.contains(ovx_vtep_key{k.segment, e.vtep}))
			<< "segment " << k.segment << ": a static remote's VTEP is not a member";
	}
	EXPECT_EQ(remotes, 2u);
}

TEST(Desired, SegmentKeepsItsIdAcrossApplies)
{
	AbiMap<ovx_vni_key, std::uint32_t> current{{vni_key(OVX_ENCAP_VXLAN, 5002), 7}};
	const DesiredState d = build_desired(two_segments(), resolved(), current, {{7, true}});
	EXPECT_EQ(d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5002)), 7u);
	EXPECT_EQ(d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5001)), 1u);
}

TEST(Desired, NewSegmentNeverTakesAnIdStillInUse)
{
	// Id 1 belongs to a segment this apply removes: its learned entries are
	// still in the FDB, so a new segment must not inherit them.
	const DesiredState d = build_desired(two_segments(), resolved(), {}, {{1, true}});
	EXPECT_FALSE(d.segments.contains(1));
	EXPECT_TRUE(d.segments.contains(2));
	EXPECT_TRUE(d.segments.contains(3));
}

TEST(Desired, PortsAreNumberedFromOneEverywhereTheDatapathLooks)
{
	const DesiredState d = build_desired(two_segments(), resolved(), {}, {});
	EXPECT_EQ(d.ports.at(10).index, 1);
	EXPECT_EQ(d.ports.at(11).index, 2);
	EXPECT_EQ(d.fdb.at(fdb_key(1, "02:00:00:00:01:01")).port, 1);
	EXPECT_EQ(d.fdb.at(fdb_key(2, "02:00:00:00:01:01")).port, 2);
	EXPECT_EQ(d.flood_ports.at(ovx_flood_key{2, 0}).index, 2);
	EXPECT_EQ(d.flood_ports.at(ovx_flood_key{2, 0}).ifindex, 11u);
	EXPECT_EQ(d.fdb.at(fdb_key(1, "02:00:00:00:02:01")).port, 0) << "a remote has none";
}

TEST(Desired, PortKeepsItsIndexAcrossApplies)
{
	// vm2 (ifindex 11) has index 7 in the maps: kept; vm1 is new.
	const DesiredState d = build_desired(two_segments(), resolved(), {}, {}, {{11, 7}});
	EXPECT_EQ(d.ports.at(11).index, 7);
	EXPECT_EQ(d.ports.at(10).index, 1);
	EXPECT_EQ(port_indexes(d.ports), (std::map<std::uint32_t, std::uint16_t>{{10, 1}, {11, 7}}));
}

TEST(Desired, NewPortNeverTakesAnIndexStillHeld)
{
	// Indexes 1 and 2 belong to ports this apply removes: their counters
	// are only zeroed when a later apply hands the slots out.
	const DesiredState d =
		build_desired(two_segments(), resolved(), {}, {}, {{50, 1}, {51, 2}, {52, 0}});
	EXPECT_EQ(d.ports.at(10).index, 3);
	EXPECT_EQ(d.ports.at(11).index, 4);
}

TEST(Desired, NoFreePortIndexIsAClearError)
{
	std::map<std::uint32_t, std::uint16_t> held;
	for (std::uint16_t i = 1; i < OVX_MAX_PORTS - 1; i++)
		held[1000 + i] = i;
	// One index left: vm1 takes it, vm2 finds none.
	try {
		build_desired(two_segments(), resolved(), {}, {}, held);
		FAIL() << "no error";
	} catch (const ConfigError &e) {
		EXPECT_STREQ(e.what(), "no free port index: at most 4095 ports");
	}
	held.erase(1001);
	EXPECT_EQ(build_desired(two_segments(), resolved(), {}, {}, held).ports.at(11).index, 4095);
}

TEST(Desired, InnerMtuIsUnderlayMinusVxlanOverhead)
{
	EXPECT_EQ(inner_mtu(1500, OVX_ENCAP_VXLAN, AF_INET), 1450u);
	EXPECT_EQ(inner_mtu(9000, OVX_ENCAP_VXLAN, AF_INET), 8950u);
}

TEST(Desired, AddressRoundTrip)
{
	auto ip = parse_ip("10.1.2.3");
	ASSERT_TRUE(ip);
	EXPECT_EQ(from_abi(to_abi(*ip)), *ip);
}

} // namespace
} // namespace ovx
