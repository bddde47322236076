// The cluster's segments in etcd, through cluster/ and through the ovx
// binary, against an etcd the test starts.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cluster/cluster_config.h"
#include "cluster/layout.h"
#include "tests/cluster/etcd_harness.h"

namespace ovx::cluster {
namespace {

using test::EtcdCluster;

struct Ran {
	int status;
	std::string out; // stdout
	std::string err; // stderr
};

Ran ovx(const std::string &dir, const std::string &args)
{
	Ran r{-1, {}, {}};
	const std::string err = dir + "/stderr";
	FILE *p = ::popen((std::string(OVX_BIN) + " " + args + " 2>" + err).c_str(), "r");
	char buf[4096];
	std::size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	const int st = ::pclose(p);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	std::ifstream in(err);
	r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
	return r;
}

std::string write_file(const std::string &dir, const std::string &name, const std::string &text)
{
	const std::string path = dir + "/" + name;
	std::ofstream(path) << text;
	return path;
}

std::vector<std::string> segment_keys(Client &c)
{
	std::vector<std::string> out;
	for (const auto &kv : c.range(segments_prefix(), {.prefix = true}).kvs)
		out.push_back(kv.key);
	return out;
}

TEST(ClusterSegments, ApplyIsOneTransactionAndOnlyWritesChanges)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());
	auto segs = parse_cluster_file("segments:\n  - {name: a, tenant: t, id: 1}\n"
				       "  - {name: b, tenant: t, id: 2}\n",
				       "c.yaml");
	const SegmentsChange first = apply_segments(c, segs);
	EXPECT_EQ(first.added, (std::vector<std::string>{"a", "b"}));
	EXPECT_GT(first.revision, 0);
	// Both in one revision.
	EXPECT_EQ(c.get(segment_key("a"))->mod_revision, c.get(segment_key("b"))->mod_revision);

	const SegmentsChange again = apply_segments(c, segs);
	EXPECT_EQ(again.unchanged.size(), 2u);
	EXPECT_EQ(again.revision, 0);

	segs = parse_cluster_file("segments:\n  - {name: a, tenant: t, id: 1, learning: false}\n"
				  "  - {name: c, tenant: t, id: 3}\n",
				  "c.yaml");
	const SegmentsChange edit = apply_segments(c, segs);
	EXPECT_EQ(edit.added, std::vector<std::string>{"c"});
	EXPECT_EQ(edit.changed, std::vector<std::string>{"a"});
	EXPECT_EQ(edit.removed, std::vector<std::string>{"b"});
	EXPECT_EQ(segment_keys(c), (std::vector<std::string>{segment_key("a"), segment_key("c")}));
	EXPECT_FALSE(read_cluster(c).segments().at(0).learning);
}

TEST(ClusterSegments, AddRefusesATakenNameOrId)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());
	Segment s = test::segment("a", 10);
	add_segment(c, s);
	EXPECT_THROW(add_segment(c, s), ConfigError);
	s.name = "b";
	try {
		add_segment(c, s);
		FAIL() << "VNI 10 taken twice";
	} catch (const ConfigError &e) {
		EXPECT_STREQ(e.what(), "vxlan VNI 10 is already used by segment 'a'");
	}
	s.id = 0;
	EXPECT_THROW(add_segment(c, s), ConfigError);
	EXPECT_EQ(segment_keys(c), std::vector<std::string>{segment_key("a")});
	del_segment(c, "a");
	EXPECT_THROW(del_segment(c, "a"), ConfigError);
	EXPECT_TRUE(segment_keys(c).empty());
}

TEST(ClusterCli, ApplyShowNodesAndFdb)
{
	EtcdCluster etcd({});
	Client c(etcd.client_options());
	const std::string ep = " --endpoints " + etcd.endpoints()[0];
	const std::string good = write_file(etcd.dir(), "cluster.yaml",
					    "segments:\n  - {name: blue, tenant: acme, id: 5001}\n");
	Ran r = ovx(etcd.dir(), "cluster apply -f " + good + ep);
	ASSERT_EQ(r.status, 0) << r.out << r.err;
	EXPECT_NE(r.out.find("1 added (blue)"), std::string::npos) << r.out << r.err;

	// A bad file: exit 1, FILE:LINE:COLUMN, nothing written.
	const std::string bad = write_file(
		etcd.dir(), "bad.yaml",
		"segments:\n  - {name: red, tenant: acme, id: 5002}\n  - {name: x, tenant: acme, id: 0}\n");
	r = ovx(etcd.dir(), "cluster apply -f " + bad + ep);
	EXPECT_EQ(r.status, 1) << r.out << r.err;
	EXPECT_NE(r.err.find(bad + ":3:33: segments[1].id: VNI '0' is out of range"),
		  std::string::npos)
		<< r.out << r.err;
	EXPECT_EQ(segment_keys(c), std::vector<std::string>{segment_key("blue")});

	// Nodes publish their VTEPs and bindings (as agents will).
	const Lease lease = c.grant(30);
	c.put(vtep_key("h1"), encode(VtepRecord{"h1", *parse_ip("10.0.0.1"), {}}), lease.id);
	c.put(vtep_key("h2"), encode(VtepRecord{"h2", *parse_ip("10.0.0.2"), {}}), lease.id);
	const Mac m = *parse_mac("02:00:00:00:00:01");
	c.put(binding_key("h1", "blue", m), encode(Binding{"h1", "blue", m, 0, "vm1", {}}), lease.id);
	c.put(binding_key("h2", "blue", m), encode(Binding{"h2", "blue", m, 1, "vm1", {}}), lease.id);
	c.put(binding_key("h2", "blue", *parse_mac("02:00:00:00:00:02")), "{\"seq\":\"x\"}");

	r = ovx(etcd.dir(), "cluster fdb show --json" + ep);
	ASSERT_EQ(r.status, 0) << r.out << r.err;
	const auto fdb = nlohmann::json::parse(r.out);
	ASSERT_EQ(fdb["fdb"].size(), 1u) << r.out << r.err;
	EXPECT_EQ(fdb["fdb"][0]["node"], "h2");
	EXPECT_EQ(fdb["fdb"][0]["vtep"], "10.0.0.2");
	EXPECT_EQ(fdb["fdb"][0]["seq"], 1);
	ASSERT_EQ(fdb["ignored"].size(), 1u);
	EXPECT_EQ(fdb["ignored"][0]["key"], binding_key("h2", "blue", *parse_mac("02:00:00:00:00:02")));

	r = ovx(etcd.dir(), "cluster nodes --json" + ep);
	ASSERT_EQ(r.status, 0) << r.out << r.err;
	const auto nodes = nlohmann::json::parse(r.out)["nodes"];
	ASSERT_EQ(nodes.size(), 2u);
	EXPECT_EQ(nodes[0]["name"], "h1");
	EXPECT_EQ(nodes[0]["vtep"][0], "10.0.0.1");
	EXPECT_GT(nodes[0]["ttl"].get<std::int64_t>(), 20);

	r = ovx(etcd.dir(), "cluster segment show --json" + ep);
	ASSERT_EQ(r.status, 0) << r.out << r.err;
	const auto segs = nlohmann::json::parse(r.out)["segments"];
	ASSERT_EQ(segs.size(), 1u);
	EXPECT_EQ(segs[0]["member_vteps"], (nlohmann::json{"10.0.0.1", "10.0.0.2"}));

	r = ovx(etcd.dir(), "cluster segment add red --tenant acme --vni 5001" + ep);
	EXPECT_EQ(r.status, 1) << r.out << r.err;
	EXPECT_NE(r.err.find("VNI 5001 is already used by segment 'blue'"), std::string::npos) << r.out << r.err;
	r = ovx(etcd.dir(), "cluster segment add red --tenant acme --vni 5002 --learning yes" + ep);
	EXPECT_EQ(r.status, 1) << r.out << r.err;
	EXPECT_NE(r.err.find("--learning: yes not in {true,false}"), std::string::npos) << r.out << r.err;
	r = ovx(etcd.dir(), "cluster segment add red --tenant acme --vni 5002 --encap geneve" + ep);
	EXPECT_EQ(r.status, 0) << r.out << r.err;
	r = ovx(etcd.dir(), "cluster segment show red" + ep);
	EXPECT_EQ(r.status, 0) << r.out << r.err;
	EXPECT_NE(r.out.find("geneve"), std::string::npos) << r.out << r.err;
	r = ovx(etcd.dir(), "cluster segment del red --json" + ep);
	EXPECT_EQ(r.status, 0) << r.out << r.err;
	EXPECT_EQ(nlohmann::json::parse(r.out)["removed"], nlohmann::json{"red"});

	// etcd unreachable: exit 2, the endpoint named.
	r = ovx(etcd.dir(), "cluster segment show --endpoints 127.0.0.1:1");
	EXPECT_EQ(r.status, 2) << r.out << r.err;
	EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.out << r.err;
}

} // namespace
} // namespace ovx::cluster
