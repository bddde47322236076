// The imperative verbs' edits of a Config and the Config -> YAML step that
// `ovx export` and the verbs' validation use, without a kernel.
#include <gtest/gtest.h>

#include "agent/config.h"
#include "agent/imperative.h"
#include "maps/error.h"

namespace ovx {
namespace {

Config sample()
{
	return parse_config(R"(
underlay: {interface: eth1, address: 192.168.77.1, mode: generic, port: 4790}
limits: {fdb_entries: 4096}
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
    ports:
      - {interface: vm2, mac: "02:00:00:00:01:01"}
)",
			    "test.yaml");
}

// Everything a Config says, in one string, to compare two of them.
std::string fingerprint(const Config &c)
{
	std::string s = c.underlay.interface + " " + format_ip(c.underlay.address4) + " " +
			xdp_mode_name(c.underlay.mode) + " " + std::to_string(c.underlay.vxlan_port) +
			" " + std::to_string(c.limits.fdb_entries) + "\n";
	for (const Segment &g : c.segments) {
		s += g.name + " " + g.tenant + " " + encap_name(g.encap) + " " + std::to_string(g.id) +
		     (g.learning ? " learn " : " nolearn ") + std::to_string(g.aging_sec) + " flood";
		for (const IpAddr &a : g.flood)
			s += " " + format_ip(a);
		for (const Port &p : g.ports)
			s += " port " + p.interface + "=" + format_mac(p.mac);
		for (const Remote &r : g.remotes)
			s += " remote " + format_mac(r.mac) + "@" + format_ip(r.vtep);
		s += "\n";
	}
	return s;
}

TEST(ToYaml, ReadsBackEqual)
{
	const Config c = sample();
	const std::string text = to_yaml(c);
	EXPECT_EQ(fingerprint(parse_config(text, "export")), fingerprint(c)) << text;
}

// A segment's own learning limit survives export and the imperative verbs
// (which re-apply what export writes).
TEST(ToYaml, LearnLimitReadsBack)
{
	Config c = sample();
	c.segments.at(0).learn_limit = 77;
	const Config back = parse_config(to_yaml(c), "export");
	ASSERT_TRUE(back.segments.at(0).learn_limit);
	EXPECT_EQ(*back.segments.at(0).learn_limit, 77u);
	EXPECT_FALSE(back.segments.at(1).learn_limit);
}

// `ovx export --json` writes the same tree as JSON, which apply reads too.
TEST(ToYaml, JsonFormReadsBackEqual)
{
	Config c = sample();
	c.segments.at(0).learn_limit = 77;
	const std::string text = config_tree(c).dump(2);
	EXPECT_EQ(fingerprint(parse_config(text, "export")), fingerprint(c)) << text;
}

// The NIC's relay survives export and the imperative verbs too.
TEST(ToYaml, OffloadRelayReadsBack)
{
	Config c = sample();
	c.underlay.mode = XdpMode::offload;
	c.underlay.offload_relay = true;
	EXPECT_TRUE(parse_config(to_yaml(c), "export").underlay.offload_relay);
	EXPECT_TRUE(parse_config(config_tree(c).dump(2), "export").underlay.offload_relay);
	c.underlay.offload_relay = false;
	EXPECT_EQ(to_yaml(c).find("relay"), std::string::npos) << "nothing written for the default";
}

TEST(ToYaml, EmptySegmentsReadBack)
{
	Config c = sample();
	c.segments.clear();
	EXPECT_EQ(fingerprint(parse_config(to_yaml(c), "export")), fingerprint(c));
}

Segment segment(const std::string &name, std::uint64_t id)
{
	Segment s;
	s.name = name;
	s.tenant = "t";
	s.id = id;
	return s;
}

TEST(Imperative, SegmentAddAndDel)
{
	Config c = sample();
	segment_add(c, segment("green", 6000));
	ASSERT_EQ(c.segments.size(), 3u);
	EXPECT_EQ(c.segments.back().aging_sec, 300u);
	EXPECT_THROW(segment_add(c, segment("green", 6001)), ConfigError);
	EXPECT_THROW(segment_add(c, segment("other", 5001)), ConfigError);
	segment_del(c, "green");
	EXPECT_EQ(c.segments.size(), 2u);
	EXPECT_THROW(segment_del(c, "green"), ConfigError);
	// A segment with ports goes only after its ports.
	EXPECT_THROW(segment_del(c, "red-web"), ConfigError);
	port_del(c, "vm2");
	segment_del(c, "red-web");
	EXPECT_EQ(c.segments.size(), 1u);
}

TEST(Imperative, Ports)
{
	Config c = sample();
	port_add(c, "red-web", "vm3", "02:00:00:00:03:01");
	EXPECT_EQ(c.segments[1].ports.size(), 2u);
	EXPECT_THROW(port_add(c, "blue-web", "vm3", "02:00:00:00:03:02"), ConfigError);
	EXPECT_THROW(port_add(c, "nosuch", "vm4", "02:00:00:00:03:02"), ConfigError);
	EXPECT_THROW(port_add(c, "blue-web", "vm4", "02:00:00:00:03"), ConfigError);
	EXPECT_THROW(port_del(c, "vm9"), ConfigError);
}

TEST(Imperative, Fdb)
{
	Config c = sample();
	fdb_add(c, "blue-web", "02:00:00:00:03:01", "192.168.77.3");
	EXPECT_EQ(c.segments[0].remotes.size(), 2u);
	EXPECT_THROW(fdb_add(c, "blue-web", "02:00:00:00:03:01", "192.168.77.2"), ConfigError);
	EXPECT_THROW(fdb_add(c, "blue-web", "02:00:00:00:03:02", "not-an-ip"), ConfigError);
	// A port's MAC is the port's business.
	EXPECT_THROW(fdb_del(c, "blue-web", "02:00:00:00:01:01"), ConfigError);
	EXPECT_THROW(fdb_del(c, "blue-web", "02:00:00:00:09:09"), ConfigError);
	fdb_del(c, "blue-web", "02:00:00:00:03:01");
	EXPECT_EQ(c.segments[0].remotes.size(), 1u);
}

TEST(Imperative, Flood)
{
	Config c = sample();
	flood_add(c, "red-web", "192.168.77.4");
	EXPECT_EQ(c.segments[1].flood.size(), 1u);
	EXPECT_THROW(flood_add(c, "red-web", "192.168.77.4"), ConfigError);
	flood_del(c, "blue-web", "192.168.77.2");
	ASSERT_EQ(c.segments[0].flood.size(), 1u);
	EXPECT_EQ(format_ip(c.segments[0].flood[0]), "192.168.77.3");
	EXPECT_THROW(flood_del(c, "blue-web", "192.168.77.2"), ConfigError);
}

// An edit the edit functions let through but the file's rules do not is
// still refused: the verbs validate the whole result with parse_config().
TEST(Imperative, FileRulesJudgeTheResult)
{
	Config c = sample();
	flood_add(c, "blue-web", "192.168.77.1"); // this host's own address
	EXPECT_THROW(parse_config(to_yaml(c), "ovx flood add"), ConfigError);
}

} // namespace
} // namespace ovx
