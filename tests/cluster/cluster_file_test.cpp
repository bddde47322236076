// cluster.yaml: the file's reader and validation, less the hosts' parts.
#include <gtest/gtest.h>

#include "cluster/cluster_config.h"
#include "maps/error.h"

namespace ovx::cluster {
namespace {

std::string error_of(const std::string &text)
{
	try {
		parse_cluster_file(text, "cluster.yaml");
	} catch (const ConfigError &e) {
		return e.what();
	}
	return "accepted";
}

TEST(ClusterFile, SegmentsAsInAHostsFile)
{
	const auto segs = parse_cluster_file(R"(# the cloud's segments
segments:
  - name: blue-web
    tenant: blue
    id: 5001
  - name: red-db
    tenant: red
    encap: geneve
    id: 5001
    learning: false
    aging: 60
)",
					     "cluster.yaml");
	ASSERT_EQ(segs.size(), 2u);
	EXPECT_EQ(segs[0].name, "blue-web");
	EXPECT_EQ(segs[0].encap, OVX_ENCAP_VXLAN);
	EXPECT_EQ(segs[1].encap, OVX_ENCAP_GENEVE);
	EXPECT_FALSE(segs[1].learning);
	EXPECT_EQ(segs[1].aging_sec, 60u);
	EXPECT_EQ(segs[1].origin.line, 6);
	EXPECT_TRUE(parse_cluster_file("", "cluster.yaml").empty());
	EXPECT_TRUE(parse_cluster_file("segments:\n", "cluster.yaml").empty());
	// No newline at the end of the file.
	EXPECT_EQ(parse_cluster_file("segments:\n  - {name: a, tenant: t, id: 1}", "c.yaml").size(),
		  1u);
}

TEST(ClusterFile, ErrorsPointAtTheFileLineAndColumn)
{
	EXPECT_EQ(error_of("segments:\n  - name: a\n    tenant: t\n    id: 0\n"),
		  "cluster.yaml:4:9: segments[0].id: VNI '0' is out of range (expected 1..16777215)");
	EXPECT_EQ(error_of("segments:\n  - {name: a, tenant: t, id: 7}\n  - {name: b, tenant: t, id: 7}\n"),
		  "cluster.yaml:3:30: segments[1].id: vxlan VNI 7 is already used by segment 'a' "
		  "(line 2)");
	EXPECT_EQ(error_of("segments:\n  - name: a\n    tenant: t\n    id: 1\n    ports:\n"
			   "      - {interface: vm1, mac: '02:00:00:00:00:01'}\n"),
		  "cluster.yaml:5:5: segments[0].ports: not in a cluster file (each host publishes "
		  "its ports; remote MACs and flood lists follow from them)");
	EXPECT_EQ(error_of("segments:\n  - {name: a, tenant: t, id: 1, flood: ['fd00::1']}\n"),
		  "cluster.yaml:2:33: segments[0].flood: not in a cluster file (each host publishes "
		  "its ports; remote MACs and flood lists follow from them)");
	EXPECT_EQ(error_of("underlay: {interface: eth1, address: 10.0.0.1}\nsegments:\n"),
		  "cluster.yaml:1:1: unknown key 'underlay' (a cluster file holds only 'segments'; "
		  "underlay and limits are each host's, in its agent's file)");
	EXPECT_EQ(error_of("- a\n"), "cluster.yaml:1:1: expected a map with 'segments' at the top level");
	EXPECT_NE(error_of("segments: [\n").find("cluster.yaml:2:1: "), std::string::npos)
		<< error_of("segments: [\n");
	EXPECT_EQ(error_of("segments:\n  - {name: a, tenant: t, id: 1, colour: red}\n").rfind(
			  "cluster.yaml:2:33: segments[0].colour: unknown key 'colour'", 0),
		  0u);
}

} // namespace
} // namespace ovx::cluster
