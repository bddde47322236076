// The Prometheus text the exporter renders, from fake per-CPU readings:
// compared with a golden file that `promtool check metrics` also checks
// (ctest unit.promtool_golden).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "agent/metrics.h"
#include "maps/error.h"
#include "maps/stats.h"

namespace ovx {
namespace {

std::string golden()
{
	std::ifstream in(OVX_METRICS_GOLDEN);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

// Two CPUs' worth of counters, as a per-CPU map lookup returns them.
MetricsSnapshot fake_snapshot()
{
	MetricsSnapshot snap;
	snap.up = true;
	StateView &v = snap.state;

	std::vector<ovx_seg_stats> blue(2);
	blue[0].rx_packets = 10;
	blue[0].rx_bytes = 1000;
	blue[1].rx_packets = 5;
	blue[1].rx_bytes = 700;
	blue[0].tx_packets = 7;
	blue[0].tx_bytes = 686;
	blue[1].local_packets = 3;
	blue[1].local_bytes = 294;
	blue[0].flood_copies = 2;
	blue[1].flood_copies = 1;
	blue[1].learned = 4;
	blue[0].drops[OVX_DROP_UNKNOWN_VTEP] = 2;
	blue[1].drops[OVX_DROP_UNKNOWN_VTEP] = 1;
	blue[1].drops[OVX_DROP_SPOOFED_SRC] = 9;
	SegmentView b;
	b.sid = 1;
	b.name = "blue-web";
	b.tenant = "blue";
	b.encap = OVX_ENCAP_VXLAN;
	b.id = 5001;
	b.stats = sum_per_cpu(blue);
	b.fdb_entries = 3;
	v.segments.push_back(b);

	std::vector<ovx_seg_stats> red(2);
	red[0].stt_segments = 40;
	red[1].stt_reassembled = 6;
	red[0].forwarded = 2;
	red[1].forwarded = 1;
	red[0].learn_refused = 5;
	red[1].learn_refused = 2;
	SegmentView r;
	r.sid = 2;
	r.name = "red-db";
	r.tenant = "red";
	r.encap = OVX_ENCAP_STT;
	r.id = 77;
	r.stats = sum_per_cpu(red);
	r.fdb_entries = 1;
	v.segments.push_back(r);

	std::vector<ovx_seg_stats> none(2);
	none[0].drops[OVX_DROP_UNKNOWN_VNI] = 3;
	none[1].drops[OVX_DROP_UNKNOWN_VNI] = 1;
	none[1].drops[OVX_DROP_MALFORMED] = 5;
	v.unassigned = sum_per_cpu(none);

	std::vector<ovx_port_stats> vm1(2);
	vm1[0].rx_packets = 6;
	vm1[0].rx_bytes = 588;
	vm1[1].rx_packets = 4;
	vm1[1].rx_bytes = 296;
	vm1[1].tx_packets = 12;
	vm1[1].tx_bytes = 1176;
	vm1[0].spoof_drops = 4;
	PortView p;
	p.interface = "vm1";
	p.ifindex = 7;
	p.segment = "blue-web";
	p.tenant = "blue";
	p.stats = sum_per_cpu(vm1);
	v.ports.push_back(p);

	snap.fdb.total = 4;
	snap.fdb.scan_seconds = 0.0125;
	snap.fdb_age_sec = 2.5;
	v.maps = {{"ovx_fdb", 4, 1048576}, {"ovx_ports", 1, 4096}};
	v.nexthops = {{.vtep = {}, .interface = "ul0", .mac = {}, .live = true},
		      {.vtep = {}, .interface = "ul0", .mac = {}, .live = false}};
	v.datapath = {.nexthop_miss = 7, .nexthop_stale = 2};

	AgentState a;
	a.running = true;
	a.last_reconcile = 1796502601;
	a.reconciles = 12;
	a.repairs = 3;
	snap.agent = a;
	return snap;
}

TEST(Metrics, GoldenTextFormat)
{
	EXPECT_EQ(render_metrics(fake_snapshot()), golden());
}

TEST(Metrics, DownInstanceHasBuildInfoAndUpZero)
{
	const std::string text = render_metrics(MetricsSnapshot{});
	EXPECT_NE(text.find("\novx_up 0\n"), std::string::npos) << text;
	EXPECT_NE(text.find("\novx_build_info{version=\"" OVX_VERSION "\",abi=\""),
		  std::string::npos)
		<< text;
	EXPECT_EQ(text.find("ovx_segment_"), std::string::npos) << text;
	EXPECT_NE(text.find("\novx_agent_up 0\n"), std::string::npos) << text;
}

TEST(Metrics, AnAgentThatCannotApplyIsReportedWithoutADataplane)
{
	MetricsSnapshot snap;
	AgentState a;
	a.running = true;
	a.last_reconcile = 1796502601;
	a.last_error = "interface vm1 not found";
	snap.agent = a;
	const std::string text = render_metrics(snap);
	EXPECT_NE(text.find("\novx_up 0\n"), std::string::npos) << text;
	EXPECT_NE(text.find("\novx_agent_up 1\n"), std::string::npos) << text;
	EXPECT_NE(text.find("\novx_agent_last_reconcile_timestamp_seconds 1796502601\n"),
		  std::string::npos)
		<< text;
	EXPECT_NE(text.find("\novx_agent_last_reconcile_failed 1\n"), std::string::npos) << text;
}

TEST(Metrics, LabelValuesAreEscaped)
{
	MetricsSnapshot snap;
	snap.up = true;
	SegmentView s;
	s.name = "a\"b\\c\nd";
	s.tenant = "t";
	snap.state.segments.push_back(s);
	const std::string text = render_metrics(snap);
	EXPECT_NE(text.find("ovx_segment_learned_total{tenant=\"t\",segment=\"a\\\"b\\\\c\\nd\"} 0\n"),
		  std::string::npos)
		<< text;
}

TEST(Metrics, ParseListen)
{
	EXPECT_EQ(parse_listen("127.0.0.1:9587").host, "127.0.0.1");
	EXPECT_EQ(parse_listen("127.0.0.1:9587").port, 9587);
	EXPECT_EQ(parse_listen("[::1]:80").host, "::1");
	EXPECT_EQ(parse_listen("0.0.0.0:65535").port, 65535);
	for (const char *bad : {"127.0.0.1", "1.2.3.4:0", "1.2.3.4:65536", "h:9x", "[::1:80"})
		EXPECT_THROW(parse_listen(bad), ConfigError) << bad;
}

} // namespace
} // namespace ovx
