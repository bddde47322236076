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

TEST(OffloadDesired, InactiveSegmentsAndOtherFamiliesStayOnTheHost)
{
	DesiredState d = desired();
	const std::uint32_t red = d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5002));
	d.segments.at(red).flags &= static_cast<std::uint8_t>(~OVX_SEG_ACTIVE);
	ovx_vtep_key v6{};
	v6.segment = d.vni.at(vni_key(OVX_ENCAP_VXLAN, 5001));
	v6.addr.family = AF_INET6;
	v6.addr.a[0] = htonl(0x20010db8);
	d.vteps[v6] = 1;

	const OffloadDesired o = offload_desired(d);
	EXPECT_EQ(o.vni.size(), 1u);
	EXPECT_FALSE(o.vni.count(vni_key(OVX_ENCAP_VXLAN, 5002)));
	EXPECT_EQ(o.vteps.size(), 3u); // blue's IPv4 VTEPs only
	for (const auto &[key, one] : o.vteps) {
		EXPECT_NE(key.segment, red);
		EXPECT_EQ(key.addr.family, AF_INET);
	}
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
