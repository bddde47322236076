// offload_desired(): which part of a desired state the NIC's maps hold.
#include <gtest/gtest.h>
#include <arpa/inet.h>

#include "agent/config.h"
#include "agent/desired.h"
#include "agent/offload.h"

namespace ovx {
namespace {

DesiredState desired()
{
	const Config config = parse_config(R"(
underlay: {interface: eth1, address: 192.168.77.1, port: 8472}
segments:
  - name: blue
    tenant: blue
    id: 5001
    flood: [192.168.77.2, 192.168.77.3]
    remotes:
      - {mac: "02:00:00:00:02:01", vtep: 192.168.77.4}
  - name: red
    tenant: red
    id: 5002
    flood: [192.168.77.2]
)",
					   "offload.yaml");
	return build_desired(config, Resolved{.underlay_ifindex = 2, .underlay_mtu = 1500, .port_ifindex = {}},
			     {}, {});
}

TEST(OffloadDesired, CarriesTheVtepAddressAndPortInNetworkOrder)
{
	const OffloadDesired o = offload_desired(desired());
	EXPECT_EQ(o.config.vtep4, htonl(0xc0a84d01));
	EXPECT_EQ(o.config.vxlan_port, htons(8472));
}

TEST(OffloadDesired, SameSegmentIdsAndMembersAsTheHost)
{
	const DesiredState d = desired();
	const OffloadDesired o = offload_desired(d);
	EXPECT_EQ(o.vni.size(), 2u);
	for (const auto &[key, segment] : o.vni)
		EXPECT_EQ(d.vni.at(key), segment);
	// blue: two flood VTEPs and the static remote's; red: one.
	EXPECT_EQ(o.vteps.size(), d.vteps.size());
	EXPECT_EQ(o.vteps.size(), 4u);
}

TEST(OffloadDesired, InactiveSegmentsStayOnTheHost)
{
	DesiredState d = desired();
	const std::uint32_t red = d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5002));
	d.segments.at(red).flags &= static_cast<std::uint8_t>(~OVX_SEG_ACTIVE);

	const OffloadDesired o = offload_desired(d);
	EXPECT_EQ(o.vni.size(), 1u);
	EXPECT_FALSE(o.vni.count(vni_key(OVX_ENCAP_VXLAN, 5002)));
	EXPECT_EQ(o.vteps.size(), 3u); // blue's
	for (const auto &[key, one] : o.vteps)
		EXPECT_NE(key.segment, red);
}

// Geneve and NVGRE segments, IPv6 VTEPs: their drops are the NIC's too.
DesiredState every_encap()
{
	const Config config = parse_config(R"(
underlay: {interface: eth1, address: [192.168.77.1, "fd00:77::1"], port: 8472, geneve_port: 6082}
segments:
  - {name: vx6, tenant: t, id: 5001, flood: ["fd00:77::2"],
     remotes: [{mac: "02:00:00:00:02:01", vtep: "fd00:77::2"}]}
  - {name: gen4, tenant: t, encap: geneve, id: 5001, flood: [192.168.77.2],
     remotes: [{mac: "02:00:00:00:02:02", vtep: 192.168.77.2}]}
  - {name: gre6, tenant: t, encap: nvgre, id: 5001, flood: ["fd00:77::3"]}
  - {name: stt4, tenant: t, encap: stt, id: 5001, flood: [192.168.77.3]}
)",
					   "offload.yaml");
	return build_desired(config, Resolved{.underlay_ifindex = 2, .underlay_mtu = 1500, .port_ifindex = {}},
			     {}, {});
}

TEST(OffloadDesired, EveryEncapsulationAndFamilyButStt)
{
	const DesiredState d = every_encap();
	const OffloadDesired o = offload_desired(d);
	EXPECT_EQ(o.config.vtep4, htonl(0xc0a84d01));
	const std::uint32_t v6[4] = {htonl(0xfd000077), 0, 0, htonl(1)};
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(o.config.vtep6[i], v6[i]) << i;
	EXPECT_EQ(o.config.geneve_port, htons(6082));
	// Which encapsulations the host claims: all four, STT too (the NIC
	// must pass STT to the host rather than take it for someone else's).
	EXPECT_EQ(o.config.encaps, d.config.encaps);
	EXPECT_EQ(o.vni.size(), 3u);
	EXPECT_FALSE(o.vni.count(vni_key(OVX_ENCAP_STT, 5001))) << "STT stays on the host";
	for (const ovx_encap e : {OVX_ENCAP_VXLAN, OVX_ENCAP_GENEVE, OVX_ENCAP_NVGRE})
		EXPECT_EQ(o.vni.at(vni_key(e, 5001)), d.vni.at(vni_key(e, 5001)));
	EXPECT_EQ(o.vteps.size(), 3u);
	int families[2] = {};
	for (const auto &[key, one] : o.vteps)
		families[key.addr.family == AF_INET6]++;
	EXPECT_EQ(families[0], 1); // gen4's
	EXPECT_EQ(families[1], 2); // vx6's and gre6's

	// The relay is VXLAN over IPv4's only: neither remote here gets an entry.
	RelayHops hops{.own_mac = {2, 0, 0, 0, 0, 1},
		       .next_hop = [](std::uint32_t) { return MacBytes{2, 0, 0, 0, 0, 2}; }};
	EXPECT_TRUE(offload_desired(d, &hops).relay.empty());
}

TEST(OffloadDesired, RelayOnlyWhenAskedAndOnlyWithANextHop)
{
	const DesiredState d = desired();
	EXPECT_TRUE(offload_desired(d).relay.empty());

	const MacBytes own{2, 0, 0, 0, 0, 1}, hop{2, 0, 0, 0, 0, 4};
	RelayHops hops{.own_mac = own, .next_hop = [&](std::uint32_t vtep4) -> std::optional<MacBytes> {
			       if (vtep4 == htonl(0xc0a84d04))
				       return hop;
			       return std::nullopt;
		       }};
	const OffloadDesired o = offload_desired(d, &hops);
	EXPECT_TRUE(o.config.flags & OVX_OFFLOAD_CFG_RELAY) << "the record export reads back";
	EXPECT_FALSE(offload_desired(d).config.flags & OVX_OFFLOAD_CFG_RELAY);
	ASSERT_EQ(o.relay.size(), 1u); // the one static remote, behind .4
	const auto &[key, r] = *o.relay.begin();
	EXPECT_EQ(key.segment, d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5001)));
	EXPECT_EQ(r.vtep4, htonl(0xc0a84d04));
	EXPECT_EQ(MacBytes(std::to_array(r.dst_mac)), hop);
	EXPECT_EQ(MacBytes(std::to_array(r.src_mac)), own);

	hops.next_hop = [](std::uint32_t) { return std::nullopt; };
	EXPECT_TRUE(offload_desired(d, &hops).relay.empty()) << "no next hop: the host's";
}

} // namespace
} // namespace ovx
