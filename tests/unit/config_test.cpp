#include "agent/apply.h"
#include "agent/config.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "maps/error.h"

namespace ovx {
namespace {

// Raw strings open with a newline so the YAML in them starts at column 1 of
// its own line; drop it so that line numbers match what the reader sees.
std::string yaml(std::string_view text)
{
	if (!text.empty() && text.front() == '\n')
		text.remove_prefix(1);
	return std::string(text);
}

std::string error_of(const std::string &text, const std::string &path = "h.yaml")
{
	try {
		parse_config(text, path);
	} catch (const ConfigError &e) {
		return e.what();
	}
	return "(no error)";
}

std::string replaced(std::string text, std::string_view from, std::string_view to)
{
	const auto at = text.find(from);
	EXPECT_NE(at, std::string::npos) << from;
	return text.replace(at, from.size(), to);
}

IpAddr v4(const char *text)
{
	IpAddr a;
	a.family = AF_INET;
	EXPECT_EQ(inet_pton(AF_INET, text, a.bytes.data()), 1) << text;
	return a;
}

Mac mac(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint8_t e,
	std::uint8_t f)
{
	return {a, b, c, d, e, f};
}

const std::string kFull = yaml(R"(
underlay:
  interface: eth1            # NIC that carries the overlay
  address: 192.168.77.1
  mode: generic
  port: 8472
limits:
  fdb_entries: 2048
segments:
  - name: blue-web
    tenant: blue
    encap: vxlan
    id: 5001
    learning: false
    aging: 0
    flood: [192.168.77.2, 192.168.77.3]
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:01
      - interface: vm2
        mac: 02:00:00:00:01:0A
    remotes:
      - mac: 02:00:00:00:02:01
        vtep: 192.168.77.2
  - name: red.db_1
    tenant: red
    id: 16777215
)");

TEST(ConfigTest, FullFileReadsBackEveryField)
{
	const Config c = parse_config(kFull, "/etc/ovx/host.yaml");

	EXPECT_EQ(c.path, "/etc/ovx/host.yaml");
	EXPECT_EQ(c.underlay.interface, "eth1");
	EXPECT_EQ(c.underlay.address4, v4("192.168.77.1"));
	EXPECT_EQ(c.underlay.mode, XdpMode::generic);
	EXPECT_EQ(c.underlay.vxlan_port, 8472);
	EXPECT_EQ(c.underlay.interface_origin.line, 2);
	EXPECT_EQ(c.underlay.interface_origin.column, 14);
	EXPECT_EQ(c.limits.fdb_entries, 2048u);

	ASSERT_EQ(c.segments.size(), 2u);
	const Segment &blue = c.segments[0];
	EXPECT_EQ(blue.name, "blue-web");
	EXPECT_EQ(blue.tenant, "blue");
	EXPECT_EQ(blue.encap, OVX_ENCAP_VXLAN);
	EXPECT_EQ(blue.id, 5001u);
	EXPECT_FALSE(blue.learning);
	EXPECT_EQ(blue.aging_sec, 0u);
	EXPECT_EQ(blue.flood, (std::vector<IpAddr>{v4("192.168.77.2"), v4("192.168.77.3")}));
	EXPECT_EQ(blue.origin.line, 9);
	EXPECT_EQ(blue.origin.column, 5);

	ASSERT_EQ(blue.ports.size(), 2u);
	EXPECT_EQ(blue.ports[0].interface, "vm1");
	EXPECT_EQ(blue.ports[0].mac, mac(0x02, 0, 0, 0, 0x01, 0x01));
	EXPECT_EQ(blue.ports[0].origin.line, 17);
	EXPECT_EQ(blue.ports[0].origin.column, 20);
	EXPECT_EQ(blue.ports[1].interface, "vm2");
	EXPECT_EQ(blue.ports[1].mac, mac(0x02, 0, 0, 0, 0x01, 0x0a));
	EXPECT_EQ(blue.ports[1].origin.line, 19);

	ASSERT_EQ(blue.remotes.size(), 1u);
	EXPECT_EQ(blue.remotes[0].mac, mac(0x02, 0, 0, 0, 0x02, 0x01));
	EXPECT_EQ(blue.remotes[0].vtep, v4("192.168.77.2"));
	EXPECT_EQ(blue.remotes[0].origin.line, 22);
	EXPECT_EQ(blue.remotes[0].origin.column, 9);

	const Segment &red = c.segments[1];
	EXPECT_EQ(red.name, "red.db_1");
	EXPECT_EQ(red.tenant, "red");
	EXPECT_EQ(red.id, 16777215u);
	EXPECT_EQ(red.origin.line, 24);
	// Everything left out takes its default.
	EXPECT_EQ(red.encap, OVX_ENCAP_VXLAN);
	EXPECT_TRUE(red.learning);
	EXPECT_EQ(red.aging_sec, 300u);
	EXPECT_TRUE(red.flood.empty());
	EXPECT_TRUE(red.ports.empty());
	EXPECT_TRUE(red.remotes.empty());
}

TEST(ConfigTest, MinimalFileTakesDefaults)
{
	const Config c = parse_config(yaml(R"(
underlay:
  interface: eth1
  address: 10.0.0.1
)"),
				      "h.yaml");
	EXPECT_EQ(c.underlay.mode, XdpMode::automatic);
	EXPECT_EQ(c.underlay.vxlan_port, 4789);
	EXPECT_EQ(c.limits.fdb_entries, static_cast<std::uint32_t>(OVX_FDB_DEFAULT));
	EXPECT_TRUE(c.segments.empty());
}

// One host with all four encapsulations, IPv4 and IPv6 VTEPs side by side.
TEST(ConfigTest, EveryEncapsulationOnADualStackUnderlay)
{
	const Config c = parse_config(yaml(R"(
underlay:
  interface: eth1
  address: [10.0.0.1, "fd00::1"]
  geneve_port: 6082
segments:
  - {name: v, tenant: t, encap: vxlan, id: 16777215, flood: [10.0.0.2]}
  - {name: g, tenant: t, encap: geneve, id: 5001, flood: ["fd00::2"]}
  - {name: n, tenant: t, encap: nvgre, id: 4096, flood: ["fd00::2"]}
  - {name: s, tenant: t, encap: stt, id: 18446744073709551615, flood: [10.0.0.2]}
  - {name: s2, tenant: t, encap: stt, id: 5001}
)"),
				      "h.yaml");
	EXPECT_EQ(c.underlay.address4, v4("10.0.0.1"));
	EXPECT_EQ(c.underlay.address6, *parse_ip("fd00::1"));
	EXPECT_EQ(c.underlay.geneve_port, 6082);
	ASSERT_EQ(c.segments.size(), 5u);
	EXPECT_EQ(c.segments[0].encap, OVX_ENCAP_VXLAN);
	EXPECT_EQ(c.segments[0].vtep_family(), AF_INET);
	EXPECT_EQ(c.segments[1].encap, OVX_ENCAP_GENEVE);
	EXPECT_EQ(c.segments[1].vtep_family(), AF_INET6);
	EXPECT_EQ(c.segments[2].encap, OVX_ENCAP_NVGRE);
	EXPECT_EQ(c.segments[2].id, 4096u);
	EXPECT_EQ(c.segments[3].encap, OVX_ENCAP_STT);
	EXPECT_EQ(c.segments[3].id, UINT64_MAX);
	// Ids are per encapsulation: the same number is another segment.
	EXPECT_EQ(c.segments[4].id, 5001u);
	EXPECT_EQ(c.segments[4].vtep_family(), 0);
}

TEST(ConfigTest, IPv6OnlyUnderlay)
{
	const Config c = parse_config(yaml(R"(
underlay: {interface: eth1, address: "2001:db8::1"}
segments:
  - name: a
    tenant: t
    id: 9
    remotes: [{mac: "02:00:00:00:00:09", vtep: "2001:db8::9"}]
)"),
				      "h.yaml");
	EXPECT_EQ(c.underlay.address4.family, 0);
	EXPECT_EQ(c.underlay.address6, *parse_ip("2001:db8::1"));
	EXPECT_EQ(c.segments[0].remotes[0].vtep, *parse_ip("2001:db8::9"));
}

TEST(ConfigTest, IdNamesFollowTheEncapsulation)
{
	EXPECT_STREQ(id_name(OVX_ENCAP_VXLAN), "VNI");
	EXPECT_STREQ(id_name(OVX_ENCAP_GENEVE), "VNI");
	EXPECT_STREQ(id_name(OVX_ENCAP_NVGRE), "VSID");
	EXPECT_STREQ(id_name(OVX_ENCAP_STT), "context ID");
}

TEST(ConfigTest, EmptySectionsAreAccepted)
{
	for (const char *segments : {"segments: []", "segments:", "segments: # none yet"}) {
		const std::string text = yaml(R"(
underlay:
  interface: eth1
  address: 10.0.0.1
limits:
)") + segments + "\n";
		const Config c = parse_config(text, "h.yaml");
		EXPECT_TRUE(c.segments.empty()) << segments;
		EXPECT_EQ(c.limits.fdb_entries, static_cast<std::uint32_t>(OVX_FDB_DEFAULT));
	}
}

TEST(ConfigTest, SegmentListsMayBeEmpty)
{
	const Config c = parse_config(yaml(R"(
underlay:
  interface: eth1
  address: 10.0.0.1
segments:
  - name: a
    tenant: t
    id: 1
    flood: []
    ports:
    remotes: []
)"),
				      "h.yaml");
	ASSERT_EQ(c.segments.size(), 1u);
	EXPECT_TRUE(c.segments[0].flood.empty());
	EXPECT_TRUE(c.segments[0].ports.empty());
	EXPECT_TRUE(c.segments[0].remotes.empty());
}

// Tenants pick their MACs independently; only one segment is one MAC space.
TEST(ConfigTest, SameMacInDifferentSegmentsIsAccepted)
{
	const Config c = parse_config(yaml(R"(
underlay:
  interface: eth1
  address: 10.0.0.1
segments:
  - name: blue
    tenant: blue
    id: 10
    ports:
      - interface: vm1
        mac: 02:00:00:00:00:01
    remotes:
      - mac: 02:00:00:00:00:02
        vtep: 10.0.0.2
  - name: red
    tenant: red
    id: 20
    ports:
      - interface: vm2
        mac: 02:00:00:00:00:02
    remotes:
      - mac: 02:00:00:00:00:01
        vtep: 10.0.0.2
)"),
				      "h.yaml");
	ASSERT_EQ(c.segments.size(), 2u);
	EXPECT_EQ(c.segments[0].ports[0].mac, c.segments[1].remotes[0].mac);
	EXPECT_EQ(c.segments[1].ports[0].mac, c.segments[0].remotes[0].mac);
}

TEST(ConfigTest, QuotedScalarsAreRead)
{
	const Config c = parse_config(yaml(R"(
underlay: {interface: "eth1", address: '10.0.0.1', port: "4790"}
segments:
  - {name: "a", tenant: t, id: "7", learning: "true"}
)"),
				      "h.yaml");
	EXPECT_EQ(c.underlay.vxlan_port, 4790);
	ASSERT_EQ(c.segments.size(), 1u);
	EXPECT_EQ(c.segments[0].id, 7u);
}

// JSON is YAML: a generated file may be JSON, and reads the same.
TEST(ConfigTest, JsonIsRead)
{
	const Config c = parse_config(
		R"({"underlay": {"interface": "eth1", "address": "10.0.0.1", "port": 4790},)"
		"\n"
		R"( "segments": [{"name": "a", "tenant": "t", "id": 7, "learning": false,)"
		"\n"
		R"(  "remotes": [{"mac": "02:00:00:00:00:01", "vtep": "10.0.0.2"}]}]})",
		"h.json");
	EXPECT_EQ(c.underlay.vxlan_port, 4790);
	ASSERT_EQ(c.segments.size(), 1u);
	EXPECT_EQ(c.segments[0].id, 7u);
	EXPECT_FALSE(c.segments[0].learning);
	ASSERT_EQ(c.segments[0].remotes.size(), 1u);
	EXPECT_EQ(c.segments[0].remotes[0].vtep, v4("10.0.0.2"));
	EXPECT_EQ(c.segments[0].remotes[0].origin.line, 3);
	EXPECT_EQ(c.segments[0].remotes[0].origin.column, 15);
}

// An alias is the anchored node: one flood list for two segments.
TEST(ConfigTest, AliasesAreTheAnchoredNode)
{
	const Config c = parse_config(yaml(R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, id: 1, flood: &vteps [10.0.0.2, 10.0.0.3]}
  - {name: b, tenant: t, id: 2, flood: *vteps}
)"),
				      "h.yaml");
	ASSERT_EQ(c.segments.size(), 2u);
	EXPECT_EQ(c.segments[1].flood, (std::vector<IpAddr>{v4("10.0.0.2"), v4("10.0.0.3")}));
	EXPECT_EQ(c.segments[1].flood, c.segments[0].flood);
}

TEST(ConfigTest, BoolSpellings)
{
	for (const auto &[text, want] : std::initializer_list<std::pair<const char *, bool>>{
		     {"true", true}, {"True", true}, {"TRUE", true},
		     {"false", false}, {"False", false}, {"FALSE", false}}) {
		const Config c = parse_config(yaml(R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, id: 1, learning: )") + text + "}\n",
					      "h.yaml");
		EXPECT_EQ(c.segments[0].learning, want) << text;
	}
}

TEST(ConfigTest, AutoModeIsMadeConcreteByTheDriver)
{
	// Only auto changes; a driver not known for native XDP (here: no
	// interface at all, driver "unknown") gets TC, which works everywhere.
	EXPECT_EQ(effective_mode(XdpMode::native, "ovx-no-such0"), XdpMode::native);
	EXPECT_EQ(effective_mode(XdpMode::generic, "ovx-no-such0"), XdpMode::generic);
	EXPECT_EQ(effective_mode(XdpMode::automatic, "ovx-no-such0"), XdpMode::tc);
}

TEST(ConfigTest, XdpModes)
{
	for (const auto &[text, want] : std::initializer_list<std::pair<const char *, XdpMode>>{
		     {"auto", XdpMode::automatic},
		     {"native", XdpMode::native},
		     {"generic", XdpMode::generic},
		     {"offload", XdpMode::offload},
		     {"tc", XdpMode::tc}}) {
		const Config c = parse_config(
			"underlay: {interface: eth1, address: 10.0.0.1, mode: " + std::string(text) + "}\n",
			"h.yaml");
		EXPECT_EQ(c.underlay.mode, want) << text;
		EXPECT_STREQ(xdp_mode_name(want), text);
	}
}

TEST(ConfigTest, OffloadRelayIsOffUnlessAsked)
{
	EXPECT_FALSE(parse_config("underlay: {interface: eth1, address: 10.0.0.1, mode: offload}\n",
				  "h.yaml")
			     .underlay.offload_relay);
	EXPECT_FALSE(parse_config("underlay: {interface: eth1, address: 10.0.0.1, mode: offload, "
				  "offload: {relay: false}}\n",
				  "h.yaml")
			     .underlay.offload_relay);
	EXPECT_TRUE(parse_config("underlay: {interface: eth1, address: 10.0.0.1, mode: offload, "
				 "offload: {relay: true}}\n",
				 "h.yaml")
			    .underlay.offload_relay);
}

TEST(ConfigTest, LearnLimitIsPerSegmentAndOptional)
{
	const Config c = parse_config(yaml(R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, id: 1, learn_limit: 500}
  - {name: b, tenant: t, id: 2}
)"),
				      "h.yaml");
	EXPECT_EQ(c.segments[0].learn_limit, 500u);
	EXPECT_FALSE(c.segments[1].learn_limit);
}

TEST(ConfigTest, RangeBoundsAreInclusive)
{
	const Config c = parse_config(yaml(R"(
underlay: {interface: eth1, address: 10.0.0.1, port: 65535}
limits: {fdb_entries: 16777216}
segments:
  - {name: a, tenant: t, id: 1, aging: 86400}
  - {name: b, tenant: t, id: 16777215, aging: 0}
)"),
				      "h.yaml");
	EXPECT_EQ(c.underlay.vxlan_port, 65535);
	EXPECT_EQ(c.limits.fdb_entries, 16777216u);
	EXPECT_EQ(c.segments[0].id, 1u);
	EXPECT_EQ(c.segments[0].aging_sec, 86400u);
	EXPECT_EQ(c.segments[1].id, 16777215u);
	EXPECT_EQ(parse_config("underlay: {interface: eth1, address: 10.0.0.1, port: 1}\n"
			       "limits: {fdb_entries: 1024}\n",
			       "h.yaml")
			  .limits.fdb_entries,
		  1024u);
}

// The example from the documentation, to the byte.
TEST(ConfigTest, MalformedMacPointsAtTheValue)
{
	EXPECT_EQ(error_of(replaced(kFull, "02:00:00:00:01:01", "02:00:zz:00:01:01"), "/tmp/h1.yaml"),
		  "/tmp/h1.yaml:18:14: segments[0].ports[0].mac: "
		  "malformed MAC address '02:00:zz:00:01:01'");
}

TEST(ConfigTest, ErrorsInTheSecondSegmentNameIt)
{
	EXPECT_EQ(error_of(replaced(kFull, "id: 16777215", "id: 5001")),
		  "h.yaml:26:9: segments[1].id: vxlan VNI 5001 is already used by segment "
		  "'blue-web' (line 12)");
	EXPECT_EQ(error_of(replaced(kFull, "tenant: red", "tenant: red\n    ports: [{interface: vm2, "
								"mac: 02:00:00:00:00:01}]")),
		  "h.yaml:26:25: segments[1].ports[0].interface: interface 'vm2' is already "
		  "a port of segment 'blue-web' (line 19)");
}

struct ErrorCase {
	const char *name;
	const char *text;
	const char *error; // the whole message, for a file called h.yaml
};

void PrintTo(const ErrorCase &c, std::ostream *os)
{
	*os << c.name;
}

class ConfigErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, IsRejectedWithThisMessage)
{
	EXPECT_EQ(error_of(yaml(GetParam().text)), GetParam().error);
}

// `--json` hands the location to scripts as fields: the same as the message
// says, with the key path when one key is at fault.
TEST_P(ConfigErrorTest, CarriesItsLocationAsFields)
{
	try {
		parse_config(yaml(GetParam().text), "h.yaml");
		FAIL() << "no error";
	} catch (const ConfigError &e) {
		ASSERT_TRUE(e.location()) << e.what();
		const Location &at = *e.location();
		EXPECT_EQ(at.file, "h.yaml");
		EXPECT_GE(at.line, 1);
		EXPECT_GE(at.column, 1);
		EXPECT_EQ(std::string(e.what()).rfind("h.yaml:" + std::to_string(at.line) + ":" +
							      std::to_string(at.column) + ": " +
							      (at.key.empty() ? "" : at.key + ": "),
						      0),
			  0u)
			<< e.what() << " key " << at.key;
	}
}

// Files start with the same three lines where they can, so that line numbers
// are easy to check by eye: the first segment is at line 5.
const ErrorCase kErrorCases[] = {
	// The document itself.
	{"EmptyFile", "", "h.yaml:1:1: expected a map with 'underlay' and 'segments' at the top "
			  "level, got nothing"},
	{"TopLevelList", R"(
- underlay
)",
	 "h.yaml:1:1: expected a map with 'underlay' and 'segments' at the top level, got a list"},
	{"SyntaxError", R"(
underlay:
  interface: eth1
  address: [192.168.77.1
)",
	 "h.yaml:4:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow "
	 "sequence that starts at line 3)"},
	{"TwoDocuments", R"(
underlay: {interface: eth1, address: 10.0.0.1}
---
segments: []
)",
	 "h.yaml:3:1: only one YAML document is allowed per file"},
	{"EmptySecondDocument", R"(
underlay: {interface: eth1, address: 10.0.0.1}
---
)",
	 "h.yaml:3:1: only one YAML document is allowed per file"},
	{"UnknownAnchor", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: b, tenant: t, id: 2, flood: *vteps}
)",
	 "h.yaml:3:40: YAML syntax error: unknown anchor 'vteps'"},
	{"NotUtf8", "underlay: {interface: eth1, address: 10.0.0.1}\nsegments:\n  - {name: \xff}\n",
	 "h.yaml:3:12: YAML syntax error: invalid leading UTF-8 octet"},
	{"EmptyKey", R"(
underlay: {interface: eth1, address: 10.0.0.1, "": 1}
)",
	 "h.yaml:1:48: underlay.: unknown key '' (expected one of: interface, address, mode, port, "
	 "geneve_port, offload)"},
	{"UnknownTopLevelKey", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segment: []
)",
	 "h.yaml:2:1: segment: unknown key 'segment' (expected one of: underlay, limits, segments)"},
	{"DuplicateKey", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  address: 192.168.77.9
)",
	 "h.yaml:4:3: underlay.address: duplicate key 'address', first at line 3"},
	{"NonScalarKey", R"(
underlay: {interface: eth1, address: 10.0.0.1}
[a]: 1
)",
	 "h.yaml:2:1: expected a key name, got a list"},

	// underlay
	{"MissingUnderlay", R"(
segments: []
)",
	 "h.yaml:1:1: underlay: required key is missing"},
	{"EmptyUnderlay", R"(
underlay:
segments: []
)",
	 "h.yaml:1:1: underlay.interface: required key is missing"},
	{"UnderlayNotAMap", R"(
underlay: eth1
)",
	 "h.yaml:1:11: underlay: expected a map, got 'eth1'"},
	{"MissingInterface", R"(
underlay:
  address: 192.168.77.1
)",
	 "h.yaml:2:3: underlay.interface: required key is missing"},
	{"MissingAddress", R"(
underlay:
  interface: eth1
)",
	 "h.yaml:2:3: underlay.address: required key is missing"},
	{"InterfaceWithoutValue", R"(
underlay:
  interface:
  address: 192.168.77.1
)",
	 "h.yaml:2:3: underlay.interface: missing value"},
	{"InterfaceIsAList", R"(
underlay:
  interface: [eth1, eth2]
  address: 192.168.77.1
)",
	 "h.yaml:2:14: underlay.interface: expected a single value, got a list"},
	{"InterfaceTooLong", R"(
underlay:
  interface: abcdefghijklmnop
  address: 192.168.77.1
)",
	 "h.yaml:2:14: underlay.interface: interface name 'abcdefghijklmnop' is too long (at "
	 "most 15 characters)"},
	{"InterfaceWithSlash", R"(
underlay:
  interface: eth/1
  address: 192.168.77.1
)",
	 "h.yaml:2:14: underlay.interface: interface name 'eth/1' is not valid (no '/', ':' or "
	 "white space; not '.' or '..')"},
	{"UnknownUnderlayKey", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  mtu: 9000
)",
	 "h.yaml:4:3: underlay.mtu: unknown key 'mtu' (expected one of: interface, address, "
	 "mode, port, geneve_port, offload)"},
	{"MalformedAddress", R"(
underlay:
  interface: eth1
  address: 192.168.77
)",
	 "h.yaml:3:12: underlay.address: malformed IP address '192.168.77'"},
	{"TwoIPv4Addresses", R"(
underlay:
  interface: eth1
  address: [192.168.77.1, fd00::1, 10.0.0.1]
)",
	 "h.yaml:3:36: underlay.address[2]: a second IPv4 address; give at most one of each "
	 "family"},
	{"EmptyAddressList", R"(
underlay:
  interface: eth1
  address: []
)",
	 "h.yaml:3:12: underlay.address: expected an IPv4 address, an IPv6 address, or one of "
	 "each"},
	{"IPv6Multicast", R"(
underlay: {interface: eth1, address: "ff02::1"}
)",
	 "h.yaml:1:38: underlay.address: 'ff02::1' is a multicast address"},
	{"IPv6Loopback", R"(
underlay: {interface: eth1, address: "::1"}
)",
	 "h.yaml:1:38: underlay.address: '::1' is the loopback address"},
	{"IPv6LinkLocal", R"(
underlay: {interface: eth1, address: "fe80::1"}
)",
	 "h.yaml:1:38: underlay.address: 'fe80::1' is link-local; use a global or unique local "
	 "address"},
	{"SamePortForVxlanAndGeneve", R"(
underlay: {interface: eth1, address: 10.0.0.1, port: 6081}
)",
	 "h.yaml:1:54: underlay.port: VXLAN and Geneve need different UDP ports (both are 6081)"},
	{"MulticastAddress", R"(
underlay:
  interface: eth1
  address: 239.1.1.1
)",
	 "h.yaml:3:12: underlay.address: '239.1.1.1' is not a unicast host address"},
	{"ZeroAddress", R"(
underlay:
  interface: eth1
  address: 0.0.0.0
)",
	 "h.yaml:3:12: underlay.address: '0.0.0.0' is not a unicast host address"},
	{"BadMode", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  mode: turbo
)",
	 "h.yaml:4:9: underlay.mode: unknown mode 'turbo' (expected auto, native, generic, "
	 "offload or tc)"},
	{"OffloadRelayNotABoolean", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  mode: offload
  offload: {relay: yes}
)",
	 "h.yaml:5:20: underlay.offload.relay: expected true or false, got 'yes'"},
	{"OffloadUnknownKey", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  mode: offload
  offload: {relay: true, hops: 2}
)",
	 "h.yaml:5:26: underlay.offload.hops: unknown key 'hops' (expected one of: relay)"},
	{"OffloadNotAMap", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  mode: offload
  offload: true
)",
	 "h.yaml:5:12: underlay.offload: expected a map, got 'true'"},
	{"OffloadWithoutOffloadMode", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  offload: {relay: true}
)",
	 "h.yaml:4:12: underlay.offload: needs mode: offload (the relay runs on the NIC; the "
	 "mode is auto)"},
	{"PortZero", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  port: 0
)",
	 "h.yaml:4:9: underlay.port: port '0' is out of range (expected 1..65535)"},
	{"PortTooBig", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  port: 65536
)",
	 "h.yaml:4:9: underlay.port: port '65536' is out of range (expected 1..65535)"},
	{"PortNotANumber", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  port: vxlan
)",
	 "h.yaml:4:9: underlay.port: port 'vxlan' is not an integer"},
	{"PortHex", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
  port: 0x12b5
)",
	 "h.yaml:4:9: underlay.port: port '0x12b5' is not an integer"},

	// limits
	{"FdbTooSmall", R"(
underlay: {interface: eth1, address: 10.0.0.1}
limits:
  fdb_entries: 1023
)",
	 "h.yaml:3:16: limits.fdb_entries: FDB size '1023' is out of range (expected "
	 "1024..16777216)"},
	{"FdbTooBig", R"(
underlay: {interface: eth1, address: 10.0.0.1}
limits:
  fdb_entries: 16777217
)",
	 "h.yaml:3:16: limits.fdb_entries: FDB size '16777217' is out of range (expected "
	 "1024..16777216)"},
	{"UnknownLimit", R"(
underlay: {interface: eth1, address: 10.0.0.1}
limits:
  ports: 10
)",
	 "h.yaml:3:3: limits.ports: unknown key 'ports' (expected one of: fdb_entries)"},
	{"LimitsIsAList", R"(
underlay: {interface: eth1, address: 10.0.0.1}
limits: [1024]
)",
	 "h.yaml:2:9: limits: expected a map, got a list"},

	// segments
	{"SegmentsIsAMap", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  name: blue
)",
	 "h.yaml:3:3: segments: expected a list, got a map"},
	{"SegmentIsAScalar", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - blue
)",
	 "h.yaml:3:5: segments[0]: expected a map, got 'blue'"},
	{"MissingName", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - tenant: blue
    id: 5001
)",
	 "h.yaml:5:5: segments[0].name: required key is missing"},
	{"MissingTenant", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    id: 5001
)",
	 "h.yaml:5:5: segments[0].tenant: required key is missing"},
	{"MissingId", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
)",
	 "h.yaml:5:5: segments[0].id: required key is missing"},
	{"UnknownSegmentKey", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    vni: 5001
)",
	 "h.yaml:7:5: segments[0].vni: unknown key 'vni' (expected one of: name, tenant, encap, "
	 "id, learning, aging, learn_limit, flood, ports, remotes)"},
	{"NameWithSpace", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue web
    tenant: blue
    id: 5001
)",
	 "h.yaml:5:11: segments[0].name: segment name 'blue web' may only contain A-Z, a-z, 0-9, "
	 "'_', '.' and '-'"},
	{"NameTooLong", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: abcdefghijklmnopqrstuvwxyz012345
    tenant: blue
    id: 5001
)",
	 "h.yaml:5:11: segments[0].name: segment name 'abcdefghijklmnopqrstuvwxyz012345' is too "
	 "long (at most 31 characters)"},
	{"EmptyName", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: ""
    tenant: blue
    id: 5001
)",
	 "h.yaml:5:11: segments[0].name: segment name must not be empty"},
	{"TenantWithSlash", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue/1
    id: 5001
)",
	 "h.yaml:6:13: segments[0].tenant: tenant name 'blue/1' may only contain A-Z, a-z, 0-9, "
	 "'_', '.' and '-'"},
	{"DuplicateName", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
  - name: blue-web
    tenant: blue
    id: 5002
)",
	 "h.yaml:8:11: segments[1].name: segment name 'blue-web' is already used (line 5)"},
	{"NvgreReservedVsid", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    encap: nvgre
    id: 4095
)",
	 "h.yaml:8:9: segments[0].id: VSID '4095' is out of range (expected 4096..16777214)"},
	{"NvgreVsidAllOnes", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, id: 16777215, encap: nvgre}
)",
	 "h.yaml:3:30: segments[0].id: VSID '16777215' is out of range (expected "
	 "4096..16777214)"},
	{"GeneveVniAbove24Bits", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, encap: geneve, id: 16777216}
)",
	 "h.yaml:3:45: segments[0].id: VNI '16777216' is out of range (expected 1..16777215)"},
	{"SttContextIdAbove64Bits", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, encap: stt, id: 18446744073709551616}
)",
	 "h.yaml:3:42: segments[0].id: context ID '18446744073709551616' is out of range "
	 "(expected 1..18446744073709551615)"},
	{"SameIdTwiceInOneEncap", R"(
underlay: {interface: eth1, address: 10.0.0.1}
segments:
  - {name: a, tenant: t, encap: nvgre, id: 5001}
  - {name: b, tenant: t, encap: vxlan, id: 5001}
  - {name: c, tenant: t, encap: nvgre, id: 5001}
)",
	 "h.yaml:5:44: segments[2].id: nvgre VSID 5001 is already used by segment 'a' (line 3)"},
	{"MixedFamiliesInOneSegment", R"(
underlay: {interface: eth1, address: [10.0.0.1, "fd00::1"]}
segments:
  - name: a
    tenant: t
    id: 7
    flood: [10.0.0.2]
    remotes:
      - {mac: "02:00:00:00:00:09", vtep: "fd00::9"}
)",
	 "h.yaml:8:42: segments[0].remotes[0].vtep: VTEP 'fd00::9' is IPv6 but this segment's "
	 "VTEPs are IPv4 (line 6); a segment's VTEPs share one family"},
	{"OwnIPv6Address", R"(
underlay: {interface: eth1, address: "fd00::1"}
segments:
  - {name: a, tenant: t, id: 7, flood: ["fd00::1"]}
)",
	 "h.yaml:3:41: segments[0].flood[0]: 'fd00::1' is this host's own address "
	 "(underlay.address)"},
	{"EncapUnknown", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    encap: VXLAN
    id: 5001
)",
	 "h.yaml:7:12: segments[0].encap: unknown encapsulation 'VXLAN' (expected vxlan, nvgre, "
	 "stt or geneve)"},
	{"IdZero", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 0
)",
	 "h.yaml:7:9: segments[0].id: VNI '0' is out of range (expected 1..16777215)"},
	{"IdTooBig", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 16777216
)",
	 "h.yaml:7:9: segments[0].id: VNI '16777216' is out of range (expected 1..16777215)"},
	{"IdNegative", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: -5
)",
	 "h.yaml:7:9: segments[0].id: VNI '-5' is out of range (expected 1..16777215)"},
	{"IdBeyondInt64", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 99999999999999999999999
)",
	 "h.yaml:7:9: segments[0].id: VNI '99999999999999999999999' is out of range (expected "
	 "1..16777215)"},
	{"IdNotAnInteger", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001.5
)",
	 "h.yaml:7:9: segments[0].id: VNI '5001.5' is not an integer"},
	{"IdIsAMap", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: {vni: 5001}
)",
	 "h.yaml:7:9: segments[0].id: expected a single value, got a map"},
	{"IdWithoutValue", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id:
)",
	 "h.yaml:7:5: segments[0].id: missing value"},
	{"DuplicateVni", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: x
    tenant: blue
    id: 5001
  - name: y
    tenant: red
    id: 5001
)",
	 "h.yaml:10:9: segments[1].id: vxlan VNI 5001 is already used by segment 'x' (line 7)"},
	{"BadBool", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    learning: yes
)",
	 "h.yaml:8:15: segments[0].learning: expected true or false, got 'yes'"},
	{"AgingTooLong", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    aging: 86401
)",
	 "h.yaml:8:12: segments[0].aging: aging time '86401' is out of range (expected 0..86400)"},
	{"LearnLimitZero", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    learn_limit: 0
)",
	 "h.yaml:8:18: segments[0].learn_limit: learning limit '0' is out of range (expected "
	 "1..16777216)"},
	{"AgingNegative", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    aging: -1
)",
	 "h.yaml:8:12: segments[0].aging: aging time '-1' is out of range (expected 0..86400)"},

	// flood
	{"FloodIsAScalar", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    flood: 192.168.77.2
)",
	 "h.yaml:8:12: segments[0].flood: expected a list, got '192.168.77.2'"},
	{"FloodMalformed", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    flood: [192.168.77.2, 192.168.77.300]
)",
	 "h.yaml:8:27: segments[0].flood[1]: malformed IP address '192.168.77.300'"},
	{"FloodIPv6", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    flood:
      - fd00::2
)",
	 "h.yaml:9:9: segments[0].flood[0]: VTEP 'fd00::2' is IPv6 but underlay.address has no "
	 "IPv6 address"},
	{"FloodDuplicate", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    flood:
      - 192.168.77.2
      - 192.168.77.3
      - 192.168.77.2
)",
	 "h.yaml:11:9: segments[0].flood[2]: VTEP '192.168.77.2' is already in this flood list "
	 "(line 9)"},
	{"FloodOwnAddress", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    flood: [192.168.77.1]
)",
	 "h.yaml:8:13: segments[0].flood[0]: '192.168.77.1' is this host's own address "
	 "(underlay.address)"},
	{"FloodItemIsAList", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    flood: [[192.168.77.2]]
)",
	 "h.yaml:8:13: segments[0].flood[0]: expected a single value, got a list"},

	// ports
	{"PortsIsAMap", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports: {interface: vm1}
)",
	 "h.yaml:8:12: segments[0].ports: expected a list, got a map"},
	{"PortMissingInterface", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - mac: 02:00:00:00:01:01
)",
	 "h.yaml:9:9: segments[0].ports[0].interface: required key is missing"},
	{"PortMissingMac", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
)",
	 "h.yaml:9:9: segments[0].ports[0].mac: required key is missing"},
	{"PortUnknownKey", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:01
        vlan: 10
)",
	 "h.yaml:11:9: segments[0].ports[0].vlan: unknown key 'vlan' (expected one of: interface, "
	 "mac, delivery)"},
	{"PortInterfaceTooLong", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: tap-0123456789ab
        mac: 02:00:00:00:01:01
)",
	 "h.yaml:9:20: segments[0].ports[0].interface: interface name 'tap-0123456789ab' is too "
	 "long (at most 15 characters)"},
	{"PortIsTheUnderlay", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: eth1
        mac: 02:00:00:00:01:01
)",
	 "h.yaml:9:20: segments[0].ports[0].interface: interface 'eth1' is the underlay "
	 "interface (line 2)"},
	{"PortTwiceInOneSegment", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:01
      - interface: vm1
        mac: 02:00:00:00:01:02
)",
	 "h.yaml:11:20: segments[0].ports[1].interface: interface 'vm1' is already a port of "
	 "segment 'blue-web' (line 9)"},
	{"PortInTwoSegments", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:01
  - name: red-web
    tenant: red
    id: 5002
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:01
)",
	 "h.yaml:15:20: segments[1].ports[0].interface: interface 'vm1' is already a port of "
	 "segment 'blue-web' (line 9)"},
	{"PortMacMalformed", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 02-00-00-00-01-01
)",
	 "h.yaml:10:14: segments[0].ports[0].mac: malformed MAC address '02-00-00-00-01-01'"},
	{"PortMacShortGroup", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 2:00:00:00:01:01
)",
	 "h.yaml:10:14: segments[0].ports[0].mac: malformed MAC address '2:00:00:00:01:01'"},
	{"PortMacMulticast", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 01:00:5e:00:00:01
)",
	 "h.yaml:10:14: segments[0].ports[0].mac: MAC address '01:00:5e:00:00:01' is a "
	 "multicast address"},
	{"PortMacBroadcast", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: ff:ff:ff:ff:ff:ff
)",
	 "h.yaml:10:14: segments[0].ports[0].mac: MAC address 'ff:ff:ff:ff:ff:ff' is a "
	 "multicast address"},
	{"PortMacZero", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 00:00:00:00:00:00
)",
	 "h.yaml:10:14: segments[0].ports[0].mac: MAC address '00:00:00:00:00:00' is all zero"},
	{"MacTwiceAmongPorts", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:01
      - interface: vm2
        mac: 02:00:00:00:01:01
)",
	 "h.yaml:12:14: segments[0].ports[1].mac: MAC address '02:00:00:00:01:01' is already "
	 "used by segments[0].ports[0] (line 10)"},
	{"MacOfAPortAndARemote", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    ports:
      - interface: vm1
        mac: 02:00:00:00:01:0a
    remotes:
      - mac: 02:00:00:00:01:0A
        vtep: 192.168.77.2
)",
	 "h.yaml:12:14: segments[0].remotes[0].mac: MAC address '02:00:00:00:01:0a' is already "
	 "used by segments[0].ports[0] (line 10)"},

	// remotes
	{"RemoteMissingVtep", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - mac: 02:00:00:00:02:01
)",
	 "h.yaml:9:9: segments[0].remotes[0].vtep: required key is missing"},
	{"RemoteMissingMac", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - vtep: 192.168.77.2
)",
	 "h.yaml:9:9: segments[0].remotes[0].mac: required key is missing"},
	{"RemoteUnknownKey", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - mac: 02:00:00:00:02:01
        address: 192.168.77.2
)",
	 "h.yaml:10:9: segments[0].remotes[0].address: unknown key 'address' (expected one of: "
	 "mac, vtep)"},
	{"RemoteVtepIsUs", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - mac: 02:00:00:00:02:01
        vtep: 192.168.77.1
)",
	 "h.yaml:10:15: segments[0].remotes[0].vtep: '192.168.77.1' is this host's own address "
	 "(underlay.address)"},
	{"RemoteVtepMalformed", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - mac: 02:00:00:00:02:01
        vtep: host-b
)",
	 "h.yaml:10:15: segments[0].remotes[0].vtep: malformed IP address 'host-b'"},
	{"RemoteMacMulticast", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - mac: 33:33:00:00:00:01
        vtep: 192.168.77.2
)",
	 "h.yaml:9:14: segments[0].remotes[0].mac: MAC address '33:33:00:00:00:01' is a "
	 "multicast address"},
	{"MacTwiceAmongRemotes", R"(
underlay:
  interface: eth1
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    id: 5001
    remotes:
      - mac: 02:00:00:00:02:01
        vtep: 192.168.77.2
      - mac: 02:00:00:00:02:01
        vtep: 192.168.77.3
)",
	 "h.yaml:11:14: segments[0].remotes[1].mac: MAC address '02:00:00:00:02:01' is already "
	 "used by segments[0].remotes[0] (line 9)"},
};

INSTANTIATE_TEST_SUITE_P(Config, ConfigErrorTest, testing::ValuesIn(kErrorCases),
			 [](const testing::TestParamInfo<ErrorCase> &info) { return info.param.name; });

// The capacity limits need files too long to write out.
std::string with_segments(int count, int ports_each, int flood_each)
{
	std::string text = "underlay: {interface: eth1, address: 10.0.0.1}\nsegments:\n";
	for (int s = 0; s < count; s++) {
		text += "  - {name: s" + std::to_string(s) + ", tenant: t, id: " +
			std::to_string(s + 1) + ", flood: [";
		for (int f = 0; f < flood_each; f++)
			text += (f ? ", 10.1." : "10.1.") + std::to_string(f / 250) + "." +
				std::to_string(f % 250 + 1);
		text += "], ports: [";
		for (int p = 0; p < ports_each; p++) {
			text += std::string(p ? ", " : "") + "{interface: p" + std::to_string(s) + "." +
				std::to_string(p) + ", mac: '" +
				format_mac(mac(2, 0, 0, 0, 0, static_cast<std::uint8_t>(p))) + "'}";
		}
		text += "]}\n";
	}
	return text;
}

TEST(ConfigLimitsTest, Segments)
{
	EXPECT_EQ(parse_config(with_segments(OVX_MAX_SEGMENTS - 1, 0, 0), "h.yaml").segments.size(),
		  static_cast<std::size_t>(OVX_MAX_SEGMENTS - 1));
	EXPECT_EQ(error_of(with_segments(OVX_MAX_SEGMENTS, 0, 0)),
		  "h.yaml:16386:5: segments[16383]: too many segments (at most 16383)");
}

TEST(ConfigLimitsTest, FloodPerSegment)
{
	// A segment spanning a cluster floods to every other host of it.
	EXPECT_EQ(OVX_MAX_FLOOD_VTEPS, 1024);
	EXPECT_EQ(parse_config(with_segments(1, 0, OVX_MAX_FLOOD_VTEPS), "h.yaml")
			  .segments[0]
			  .flood.size(),
		  static_cast<std::size_t>(OVX_MAX_FLOOD_VTEPS));
	const std::string error = error_of(with_segments(1, 0, OVX_MAX_FLOOD_VTEPS + 1));
	EXPECT_EQ(error.substr(0, 7), "h.yaml:") << error;
	EXPECT_NE(error.find(": segments[0].flood[1024]: too many flood VTEPs (at most 1024)"),
		  std::string::npos)
		<< error;
}

TEST(ConfigLimitsTest, FloodInAllSegments)
{
	// ovx_flood_vteps holds OVX_MAX_VTEPS entries for all segments.
	const int full = OVX_MAX_VTEPS / OVX_MAX_FLOOD_VTEPS;
	EXPECT_NO_THROW(parse_config(with_segments(full, 0, OVX_MAX_FLOOD_VTEPS), "h.yaml"));
	const std::string error = error_of(with_segments(full + 1, 0, OVX_MAX_FLOOD_VTEPS));
	EXPECT_NE(error.find(": segments[64].flood[0]: too many flood VTEPs (at most 65536 in all "
			     "segments together)"),
		  std::string::npos)
		<< error;
}

TEST(ConfigLimitsTest, PortsPerSegment)
{
	EXPECT_EQ(OVX_MAX_FLOOD_PORTS, 64);
	EXPECT_EQ(parse_config(with_segments(1, OVX_MAX_FLOOD_PORTS, 0), "h.yaml").segments[0].ports.size(),
		  static_cast<std::size_t>(OVX_MAX_FLOOD_PORTS));
	const std::string error = error_of(with_segments(1, OVX_MAX_FLOOD_PORTS + 1, 0));
	EXPECT_NE(error.find(": segments[0].ports[64]: too many ports in one segment (at most 64)"),
		  std::string::npos)
		<< error;
}

TEST(ConfigLimitsTest, PortsInAllSegments)
{
	const int full = OVX_MAX_PORTS / OVX_MAX_FLOOD_PORTS;
	EXPECT_NO_THROW(parse_config(with_segments(full, OVX_MAX_FLOOD_PORTS, 0), "h.yaml"));
	const std::string error = error_of(with_segments(full + 1, OVX_MAX_FLOOD_PORTS, 0));
	EXPECT_NE(error.find(": segments[64].ports[0]: too many ports (at most 4096 in all "
			     "segments together)"),
		  std::string::npos)
		<< error;
}

TEST(LoadConfigTest, ReadsAFile)
{
	char path[] = "/tmp/ovx-config-test-XXXXXX";
	const int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, kFull.data(), kFull.size()), static_cast<ssize_t>(kFull.size()));
	close(fd);
	const Config c = load_config(path);
	unlink(path);
	EXPECT_EQ(c.path, path);
	EXPECT_EQ(c.segments.size(), 2u);
}

TEST(LoadConfigTest, MissingFile)
{
	try {
		load_config("/nonexistent/ovx.yaml");
		FAIL() << "no error";
	} catch (const ConfigError &e) {
		EXPECT_STREQ(e.what(), "/nonexistent/ovx.yaml: cannot read: No such file or directory");
	}
}

TEST(LoadConfigTest, Directory)
{
	try {
		load_config("/tmp");
		FAIL() << "no error";
	} catch (const ConfigError &e) {
		EXPECT_STREQ(e.what(), "/tmp: cannot read: not a regular file (a directory)");
	}
}

TEST(LoadConfigTest, ErrorsNameTheFile)
{
	char path[] = "/tmp/ovx-config-test-XXXXXX";
	const int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	const std::string text = "underlay:\n  interface: eth1\n  address: 10.0.0.999\n";
	ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
	close(fd);
	try {
		load_config(path);
		ADD_FAILURE() << "no error";
	} catch (const ConfigError &e) {
		EXPECT_EQ(e.what(), std::string(path) + ":3:12: underlay.address: malformed IP "
							"address '10.0.0.999'");
	}
	unlink(path);
}

TEST(MacTest, ParseAndFormat)
{
	struct {
		const char *text;
		std::optional<Mac> want;
	} const cases[] = {
		{"02:00:00:00:01:01", mac(0x02, 0, 0, 0, 0x01, 0x01)},
		{"AA:bb:Cc:dD:ee:FF", mac(0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff)},
		{"ff:ff:ff:ff:ff:ff", mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"", std::nullopt},
		{"02:00:00:00:01", std::nullopt},
		{"02:00:00:00:01:01:", std::nullopt},
		{"02:00:00:00:01:1", std::nullopt},
		{"2:00:00:00:01:01", std::nullopt},
		{"02-00-00-00-01-01", std::nullopt},
		{"0200.0000.0101", std::nullopt},
		{"02:00:00:00:01:0g", std::nullopt},
		{"02:00:00:00:01: 1", std::nullopt},
		{"+2:00:00:00:01:01", std::nullopt},
	};
	for (const auto &c : cases)
		EXPECT_EQ(parse_mac(c.text), c.want) << c.text;

	EXPECT_EQ(format_mac(mac(0xaa, 0xbb, 0x0c, 0x00, 0x01, 0xff)), "aa:bb:0c:00:01:ff");
	EXPECT_EQ(format_mac(*parse_mac("02:AB:00:00:01:0F")), "02:ab:00:00:01:0f");
}

TEST(IpTest, ParseAndFormat)
{
	const std::optional<IpAddr> a = parse_ip("192.168.77.1");
	ASSERT_TRUE(a);
	EXPECT_EQ(a->family, AF_INET);
	EXPECT_EQ(a->bytes[0], 192);
	EXPECT_EQ(a->bytes[3], 1);
	EXPECT_EQ(a->bytes[4], 0);
	EXPECT_EQ(format_ip(*a), "192.168.77.1");

	const std::optional<IpAddr> b = parse_ip("FD00::0:1");
	ASSERT_TRUE(b);
	EXPECT_EQ(b->family, AF_INET6);
	EXPECT_EQ(b->bytes[0], 0xfd);
	EXPECT_EQ(b->bytes[15], 1);
	EXPECT_EQ(format_ip(*b), "fd00::1");

	for (const char *bad : {"", "192.168.77", "192.168.77.256", "192.168.077.1", " 10.0.0.1",
				"10.0.0.1/24", "fd00:::1", "host-b"})
		EXPECT_FALSE(parse_ip(bad)) << bad;
	EXPECT_FALSE(parse_ip(std::string("10.0.0.1\0junk", 13)));

	EXPECT_EQ(format_ip(IpAddr{}), "unset");
}

TEST(NamesTest, EncapAndXdpMode)
{
	EXPECT_STREQ(encap_name(OVX_ENCAP_VXLAN), "vxlan");
	EXPECT_STREQ(encap_name(OVX_ENCAP_NVGRE), "nvgre");
	EXPECT_STREQ(encap_name(OVX_ENCAP_STT), "stt");
	EXPECT_STREQ(encap_name(OVX_ENCAP_GENEVE), "geneve");
	EXPECT_STREQ(xdp_mode_name(XdpMode::native), "native");
	EXPECT_STREQ(xdp_mode_name(XdpMode::generic), "generic");
	EXPECT_STREQ(xdp_mode_name(XdpMode::offload), "offload");
	EXPECT_STREQ(xdp_mode_name(XdpMode::tc), "tc");
}

} // namespace
} // namespace ovx
