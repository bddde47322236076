// The key layout and the validation of what etcd holds.
#include <gtest/gtest.h>

#include "cluster/layout.h"

namespace ovx::cluster {
namespace {

Mac mac(const char *text)
{
	return *parse_mac(text);
}

IpAddr ip(const char *text)
{
	return *parse_ip(text);
}

TEST(ClusterLayout, KeysRoundTrip)
{
	EXPECT_EQ(segment_key("blue"), "/ovx/v1/segments/blue");
	EXPECT_EQ(vtep_key("host-1"), "/ovx/v1/nodes/host-1/vtep");
	const std::string k = binding_key("host-1", "blue", mac("02:00:00:00:00:0a"));
	EXPECT_EQ(k, "/ovx/v1/nodes/host-1/bindings/blue/02:00:00:00:00:0a");
	const KeyRef ref = parse_key(k);
	EXPECT_EQ(ref.kind, KeyRef::Kind::binding);
	EXPECT_EQ(ref.node, "host-1");
	EXPECT_EQ(ref.segment, "blue");
	EXPECT_EQ(ref.mac, mac("02:00:00:00:00:0a"));
	EXPECT_EQ(parse_key(vtep_key("h")).kind, KeyRef::Kind::vtep);
	EXPECT_EQ(parse_key(segment_key("s")).segment, "s");
}

TEST(ClusterLayout, RecordsRoundTrip)
{
	Segment s;
	s.name = "blue";
	s.tenant = "acme";
	s.encap = OVX_ENCAP_GENEVE;
	s.id = 7001;
	s.learning = false;
	s.aging_sec = 60;
	const Segment back = std::get<Segment>(parse_record(segment_key("blue"), encode(s)));
	EXPECT_EQ(back.name, "blue");
	EXPECT_EQ(back.tenant, "acme");
	EXPECT_EQ(back.encap, OVX_ENCAP_GENEVE);
	EXPECT_EQ(back.id, 7001u);
	EXPECT_FALSE(back.learning);
	EXPECT_EQ(back.aging_sec, 60u);

	const VtepRecord v{"h1", ip("10.0.0.1"), ip("fd00::1")};
	EXPECT_EQ(std::get<VtepRecord>(parse_record(vtep_key("h1"), encode(v))), v);

	const Binding b{"h1", "blue", mac("02:00:00:00:00:0a"), 4294967295u, "vm1", {ip("10.1.0.5")}};
	EXPECT_EQ(std::get<Binding>(parse_record(binding_key("h1", "blue", b.mac), encode(b))), b);
}

TEST(ClusterLayout, SegmentDefaultsAreTheFilesDefaults)
{
	const auto s = std::get<Segment>(
		parse_record(segment_key("blue"), R"({"name":"blue","tenant":"acme","id":5001})"));
	EXPECT_EQ(s.encap, OVX_ENCAP_VXLAN);
	EXPECT_TRUE(s.learning);
	EXPECT_EQ(s.aging_sec, 300u);
}

struct BadCase {
	const char *key;
	const char *value;
	const char *reason; // a part of it
};

void PrintTo(const BadCase &c, std::ostream *os)
{
	*os << c.key << " = " << c.value;
}

class ClusterLayoutBad : public testing::TestWithParam<BadCase> {};

TEST_P(ClusterLayoutBad, IsRefusedWithTheKeyNamed)
{
	const BadCase &c = GetParam();
	try {
		parse_record(c.key, c.value);
		FAIL() << c.key << " = " << c.value << " was accepted";
	} catch (const BadRecord &e) {
		EXPECT_EQ(e.key(), c.key);
		EXPECT_NE(e.reason().find(c.reason), std::string::npos) << e.reason();
		EXPECT_EQ(std::string(e.what()).rfind(std::string(c.key) + ": ", 0), 0u) << e.what();
	}
}

constexpr const char *kSeg = "/ovx/v1/segments/blue";
constexpr const char *kVtep = "/ovx/v1/nodes/h1/vtep";
constexpr const char *kBind = "/ovx/v1/nodes/h1/bindings/blue/02:00:00:00:00:0a";

INSTANTIATE_TEST_SUITE_P(
	Values, ClusterLayoutBad,
	testing::Values(
		BadCase{kSeg, "not json", "not a JSON object"},
		BadCase{kSeg, "[1]", "not a JSON object"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":0})", "out of range"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":16777216})", "out of range"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","encap":"nvgre","id":4095})",
			"out of range"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":-1})", "out of range"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":"x"})", "not an integer"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","encap":"gre","id":1})",
			"unknown encapsulation"},
		BadCase{kSeg, R"({"name":"blue","id":1})", "tenant: required key is missing"},
		BadCase{kSeg, R"({"name":"blue","tenant":"a b","id":1})", "may only contain"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":1,"learning":"yes"})",
			"expected true or false"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":1,"aging":86401})", "out of range"},
		BadCase{kSeg, R"({"name":"red","tenant":"acme","id":1})", "is not the key's"},
		BadCase{kSeg, R"({"name":"blue","tenant":"acme","id":1,"ports":[]})",
			"unknown field 'ports'"},
		// Nothing but the value reaches the file reader.
		BadCase{kSeg, R"({"name":"blue","tenant":"a]\nunderlay: {}","id":1})", "may only contain"},
		BadCase{kVtep, R"({"address":"224.0.0.1"})", "not a unicast host address"},
		BadCase{kVtep, R"({"address":["10.0.0.1","10.0.0.2"]})", "a second IPv4 address"},
		BadCase{kVtep, R"({"address":"fe80::1"})", "link-local"},
		BadCase{kVtep, R"({"address":"banana"})", "malformed IP address"},
		BadCase{kVtep, R"({"address":[]})", "expected an IPv4 address"},
		BadCase{kVtep, R"({})", "'address' is missing"},
		BadCase{kBind, R"({"seq":-1})", "is not a number in 0..4294967295"},
		BadCase{kBind, R"({"seq":4294967296})", "is not a number in 0..4294967295"},
		BadCase{kBind, R"({"seq":"1"})", "is not a number"},
		BadCase{kBind, R"({"seq":1.5})", "is not a number"},
		BadCase{kBind, R"({"port":"vm1"})", "'seq' is missing"},
		BadCase{kBind, R"({"seq":1,"port":"a-very-long-interface"})", "not an interface name"},
		BadCase{kBind, R"({"seq":1,"ips":["10.0.0.300"]})", "not an IP address"},
		BadCase{kBind, R"({"seq":1,"vtep":"10.0.0.1"})", "unknown field 'vtep'"},
		BadCase{"/ovx/v1/nodes/h1/bindings/blue/02:00:00:00:00:0A", "{}", "lower case"},
		BadCase{"/ovx/v1/nodes/h1/bindings/blue/01:00:5e:00:00:01", "{}", "multicast"},
		BadCase{"/ovx/v1/nodes/h1/bindings/blue/00:00:00:00:00:00", "{}", "all zero"},
		BadCase{"/ovx/v1/nodes/h1/bindings/blue", "{}", "not a key of the cluster layout"},
		BadCase{"/ovx/v1/nodes/h 1/vtep", "{}", "is not a node name"},
		BadCase{"/ovx/v1/nodes/h1/bindings/b%e/02:00:00:00:00:0a", "{}", "is not a segment name"},
		BadCase{"/ovx/v1/segments/", "{}", "is not a segment name"},
		BadCase{"/ovx/v1/tenants/acme", "{}", "not a key of the cluster layout"},
		BadCase{"/ovx/v2/segments/blue", "{}", "not under /ovx/v1/"}));

} // namespace
} // namespace ovx::cluster
