// Convergence of the cluster control plane: from the etcd write of a MAC's
// new binding to each host's FDB map holding it. Two simulated nodes
// (bench-a, bench-b: VTEP records under this tool's lease) take turns
// binding one MAC with a rising sequence number; after each write the tool
// polls every instance's pinned FDB until the MAC points at the new node's
// VTEP. Each node also keeps one MAC that never moves. With --burst N, N
// more MACs bound on bench-a then all moved to bench-b at once (etcd
// transactions of 64 moves, as fast as they go): the time from the first
// write until every host's FDB has all N at bench-b. Prints the figures as
// JSON; bench/cluster_converge.sh runs it.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "agent/desired.h"
#include "cluster/etcd_client.h"
#include "cluster/layout.h"
#include "loader/dataplane.h"
#include "loader/netns.h"

using namespace ovx;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
	std::string instance;
	Dataplane dp;
	std::uint32_t sid = 0;
};

std::uint32_t segment_id(const Dataplane &dp, const std::string &name)
{
	for (const auto &[sid, n] : dp.tables().seg_names.dump())
		if (name == std::string(n.name, strnlen(n.name, OVX_NAME_LEN)))
			return sid;
	throw std::runtime_error("instance " + dp.instance() + " has no segment " + name);
}

double percentile(std::vector<double> v, double p)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// The burst's MAC @i: 0a:00:00:01:<i>.
Mac burst_mac(int i)
{
	Mac m = *parse_mac("0a:00:00:01:00:00");
	m[4] = static_cast<std::uint8_t>(i >> 8);
	m[5] = static_cast<std::uint8_t>(i);
	return m;
}

// Waits until every target's FDB has every one of @n burst MACs at @vtep;
// returns the milliseconds each target took from @t0 (-1: not within
// @timeout_sec).
std::vector<double> wait_burst(std::vector<Target> &targets, int n, const ovx_addr &vtep,
			       Clock::time_point t0, double timeout_sec)
{
	std::vector<double> took(targets.size(), -1);
	std::vector<int> next(targets.size(), 0); // MACs below this one are there
	std::size_t left = targets.size();
	while (left) {
		const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
		if (sec > timeout_sec)
			break;
		for (std::size_t t = 0; t < targets.size(); t++) {
			if (took[t] >= 0)
				continue;
			ovx_fdb_key key{};
			key.segment = targets[t].sid;
			for (; next[t] < n; next[t]++) {
				std::memcpy(key.mac, burst_mac(next[t]).data(), 6);
				const auto e = targets[t].dp.tables().fdb.lookup(key);
				if (!e || e->kind != OVX_FDB_VTEP || !same_bytes(e->vtep, vtep))
					break;
			}
			if (next[t] == n) {
				took[t] = std::chrono::duration<double>(Clock::now() - t0).count() * 1000;
				left--;
			}
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return took;
}

// @n MACs bound on @node[0], then all moved to @node[1] at once; returns the
// milliseconds until every host had them all (-1: not within a minute) and
// each host's own time.
std::pair<double, std::vector<double>> move_burst(cluster::Client &client, std::int64_t lease,
						  std::vector<Target> &targets, const std::string &segment,
						  const std::string (&node)[2], const ovx_addr (&vtep)[2], int n)
{
	// etcd takes at most 128 operations a transaction (--max-txn-ops).
	constexpr int kPerTxn = 64;
	auto write = [&](int to, std::uint32_t seq) {
		for (int first = 0; first < n; first += kPerTxn) {
			cluster::Txn txn;
			for (int i = first; i < std::min(n, first + kPerTxn); i++) {
				const Mac m = burst_mac(i);
				txn.success.push_back(
					{cluster::TxnOp::Kind::put, cluster::binding_key(node[to], segment, m),
					 cluster::encode(cluster::Binding{node[to], segment, m, seq, "bench", {}}),
					 lease});
				if (seq > 1) {
					cluster::TxnOp del;
					del.kind = cluster::TxnOp::Kind::del;
					del.key = cluster::binding_key(node[1 - to], segment, m);
					txn.success.push_back(del);
				}
			}
			client.txn(txn);
		}
	};
	write(0, 1);
	// Not timed: every host holds the N MACs at bench-a first.
	if (std::ranges::any_of(wait_burst(targets, n, vtep[0], Clock::now(), 120),
				[](double ms) { return ms < 0; })) {
		std::cerr << "the burst's MACs never reached every host\n";
		return {-1, {}};
	}
	const auto t0 = Clock::now();
	write(1, 2);
	std::vector<double> took = wait_burst(targets, n, vtep[1], t0, 60);
	const bool all = std::ranges::none_of(took, [](double ms) { return ms < 0; });
	return {all ? *std::ranges::max_element(took) : -1, took};
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"ovx cluster convergence benchmark"};
	std::vector<std::string> endpoints, instances;
	std::string segment, netns;
	int moves = 100, burst = 0;
	double timeout_sec = 5;
	app.add_option("--endpoints", endpoints, "etcd endpoints")->required()->delimiter(',');
	app.add_option("--instances", instances, "ovx instances to watch")->required()->delimiter(',');
	app.add_option("--segment", segment, "cluster segment of the moving MAC")->required();
	app.add_option("--moves", moves, "how many moves");
	app.add_option("--burst", burst, "then move this many MACs at once (0: none)");
	app.add_option("--timeout", timeout_sec, "seconds a host may take before a move counts as lost");
	app.add_option("--netns", netns, "network namespace to reach etcd from");
	CLI11_PARSE(app, argc, argv);
	if (!netns.empty())
		enter_netns(netns);

	std::vector<Target> targets;
	for (const std::string &i : instances) {
		auto dp = Dataplane::open(i);
		if (!dp) {
			std::cerr << "no instance " << i << '\n';
			return 2;
		}
		const std::uint32_t sid = segment_id(*dp, segment);
		targets.push_back({i, std::move(*dp), sid});
	}
	cluster::ClientOptions options;
	options.endpoints = endpoints;
	cluster::Client client(options);
	const cluster::Lease lease = client.grant(60);
	cluster::KeepAlive keep(client, lease.id);
	const IpAddr addr[2] = {*parse_ip("192.168.77.201"), *parse_ip("192.168.77.202")};
	const std::string node[2] = {"bench-a", "bench-b"};
	// Each simulated node keeps a VM of its own in the segment, as a host
	// usually does: the moving MAC then changes no flood list, only the
	// FDB (the common move, which agents write as a delta).
	auto anchor_mac = [](int n) {
		Mac anchor = *parse_mac("0a:00:00:00:bf:00");
		anchor[5] = static_cast<std::uint8_t>(n + 1);
		return anchor;
	};
	for (int n = 0; n < 2; n++) {
		client.put(cluster::vtep_key(node[n]), cluster::encode(cluster::VtepRecord{node[n], addr[n], {}}),
			   lease.id);
		const Mac anchor = anchor_mac(n);
		client.put(cluster::binding_key(node[n], segment, anchor),
			   cluster::encode(cluster::Binding{node[n], segment, anchor, 1, "bench", {}}), lease.id);
	}
	const ovx_addr want[2] = {to_abi(addr[0]), to_abi(addr[1])};
	// Not timed: every host takes the two nodes in (its flood list grows,
	// a whole apply) before the first move is timed.
	const auto settle = Clock::now();
	for (Target &t : targets)
		for (int n = 0; n < 2; n++) {
			ovx_fdb_key anchor{};
			std::memcpy(anchor.mac, anchor_mac(n).data(), 6);
			anchor.segment = t.sid;
			while (!t.dp.tables().fdb.lookup(anchor)) {
				if (Clock::now() - settle > std::chrono::seconds(120)) {
					std::cerr << t.instance << " never took in node " << node[n] << '\n';
					return 1;
				}
				std::this_thread::sleep_for(std::chrono::milliseconds(10));
			}
		}
	const Mac mac = *parse_mac("0a:00:00:00:be:01");
	ovx_fdb_key key{};
	std::memcpy(key.mac, mac.data(), 6);

	std::vector<double> all, slowest;
	int lost = 0;
	for (int m = 0; m < moves; m++) {
		const int to = m % 2, from = 1 - to;
		cluster::Binding b{node[to], segment, mac, static_cast<std::uint32_t>(m + 1), "bench", {}};
		cluster::Txn txn;
		txn.success.push_back({cluster::TxnOp::Kind::put, cluster::binding_key(node[to], segment, mac),
				       cluster::encode(b), lease.id});
		cluster::TxnOp del;
		del.kind = cluster::TxnOp::Kind::del;
		del.key = cluster::binding_key(node[from], segment, mac);
		txn.success.push_back(del);
		const auto t0 = Clock::now();
		client.txn(txn);
		std::vector<bool> done(targets.size(), false);
		std::size_t left = targets.size();
		double worst = 0;
		while (left) {
			const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
			if (sec > timeout_sec) {
				lost++;
				break;
			}
			for (std::size_t i = 0; i < targets.size(); i++) {
				if (done[i])
					continue;
				key.segment = targets[i].sid;
				const auto e = targets[i].dp.tables().fdb.lookup(key);
				if (e && e->kind == OVX_FDB_VTEP && same_bytes(e->vtep, want[to])) {
					done[i] = true;
					left--;
					all.push_back(sec * 1000);
					worst = std::max(worst, sec * 1000);
				}
			}
			// Polling every host's map is work the agents being
			// measured must share the CPUs with: 1 ms is the resolution.
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		}
		slowest.push_back(worst);
	}
	nlohmann::json result{{"hosts", targets.size()},
			      {"moves", moves},
			      {"lost", lost},
			      {"per_host_ms", {{"p50", percentile(all, 0.5)}, {"p99", percentile(all, 0.99)}, {"max", percentile(all, 1.0)}}},
			      {"all_hosts_ms", {{"p50", percentile(slowest, 0.5)}, {"p99", percentile(slowest, 0.99)}, {"max", percentile(slowest, 1.0)}}}};
	if (burst > 0) {
		const auto [ms, per_host] = move_burst(client, lease.id, targets, segment, node, want, burst);
		result["burst"] = {{"macs", burst},
				   {"all_hosts_ms", ms},
				   {"per_host_ms", {{"p50", percentile(per_host, 0.5)}, {"max", percentile(per_host, 1.0)}}}};
		if (ms < 0)
			lost++;
	}
	client.revoke(lease.id);
	std::cout << result.dump() << '\n';
	return lost ? 1 : 0;
}
