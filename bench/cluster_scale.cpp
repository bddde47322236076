// Cluster scale: many simulated hosts and VMs written straight to etcd, and
// one real agent that has to follow them. Three steps, each a subcommand,
// so that bench/cluster_scale.sh can start the agent between them:
//   publish  NODES x VMS bindings (one VTEP per node, VMs spread over the
//            segments), in transactions of 100 puts; prints the time taken
//            and etcd's database size.
//   sync     waits until an instance's FDB holds every binding of the
//            segments it has; prints how long that took from the call.
//   move     moves COUNT VMs at once (each to another simulated node, its
//            sequence number one higher), then waits until the instance's
//            FDB points every moved MAC of its segments at the new node.
// Each prints one JSON line.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "agent/desired.h"
#include "cluster/etcd_client.h"
#include "cluster/layout.h"
#include "loader/dataplane.h"
#include "loader/netns.h"

using namespace ovx;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kTxnOps = 100; // under etcd's default --max-txn-ops (128)

struct Shape {
	int nodes = 1000, vms = 100;
	std::vector<std::string> segments;

	std::string node(int n) const { return "sim-" + std::to_string(n); }
	IpAddr vtep(int n) const
	{
		IpAddr a = *parse_ip("172.16.0.0");
		a.bytes[2] = static_cast<std::uint8_t>(n >> 8);
		a.bytes[3] = static_cast<std::uint8_t>(n & 0xff);
		return a;
	}
	// VM v of node n: its MAC never changes when it moves.
	Mac mac(int n, int v) const
	{
		const int i = n * vms + v;
		return Mac{0x0a, 0x5c, static_cast<std::uint8_t>(i >> 16),
			   static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 0x01};
	}
	const std::string &segment(int n, int v) const
	{
		return segments[static_cast<std::size_t>(n * vms + v) % segments.size()];
	}
};

double since(Clock::time_point t0)
{
	return std::chrono::duration<double>(Clock::now() - t0).count();
}

void flush(cluster::Client &client, cluster::Txn &txn)
{
	if (txn.success.empty())
		return;
	client.txn(txn);
	txn.success.clear();
}

void put(cluster::Client &client, cluster::Txn &txn, std::string key, std::string value,
	 std::int64_t lease)
{
	txn.success.push_back({cluster::TxnOp::Kind::put, std::move(key), std::move(value), lease});
	if (txn.success.size() == kTxnOps)
		flush(client, txn);
}

std::int64_t db_size(cluster::Client &client)
{
	std::int64_t size = 0;
	for (const auto &s : client.status())
		size = std::max(size, s.db_size);
	return size;
}

// The instance's segment ids by cluster segment name.
std::map<std::string, std::uint32_t> segment_ids(const Dataplane &dp)
{
	std::map<std::string, std::uint32_t> out;
	for (const auto &[sid, n] : dp.tables().seg_names.dump())
		if (n.name[0])
			out[std::string(n.name, strnlen(n.name, OVX_NAME_LEN))] = sid;
	return out;
}

// Waits until @pending (FDB key -> the VTEP it must point at) is all in
// @dp's FDB; false after @timeout_sec.
bool wait_for(const Dataplane &dp, std::map<std::string, std::pair<ovx_fdb_key, ovx_addr>> pending,
	      double timeout_sec, Clock::time_point t0)
{
	while (!pending.empty()) {
		if (since(t0) > timeout_sec)
			return false;
		for (auto it = pending.begin(); it != pending.end();) {
			const auto e = dp.tables().fdb.lookup(it->second.first);
			if (e && e->kind == OVX_FDB_VTEP && same_bytes(e->vtep, it->second.second))
				it = pending.erase(it);
			else
				++it;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	return true;
}

std::string key_text(const ovx_fdb_key &k)
{
	return std::string(reinterpret_cast<const char *>(&k), sizeof(k));
}

} // namespace

int main(int argc, char **argv)
{
	CLI::App app{"ovx cluster scale benchmark"};
	std::vector<std::string> endpoints;
	std::string netns, instance;
	Shape shape;
	int count = 1000;
	double timeout_sec = 600;
	app.add_option("--endpoints", endpoints, "etcd endpoints")->required()->delimiter(',');
	app.add_option("--netns", netns, "network namespace to reach etcd from");
	app.add_option("--nodes", shape.nodes, "simulated hosts")->check(CLI::Range(1, 65535));
	app.add_option("--vms", shape.vms, "VMs per simulated host")->check(CLI::Range(1, 10000));
	app.add_option("--segments", shape.segments, "cluster segments the VMs are spread over")
		->required()
		->delimiter(',');
	app.add_option("--timeout", timeout_sec, "seconds to wait for the instance");
	auto *publish = app.add_subcommand("publish", "write the simulated hosts and VMs");
	auto *sync = app.add_subcommand("sync", "wait for an instance to hold them");
	auto *move = app.add_subcommand("move", "move VMs at once, wait for an instance to follow");
	for (auto *sub : {sync, move})
		sub->add_option("--instance", instance, "ovx instance to watch")->required();
	move->add_option("--count", count, "VMs to move")->check(CLI::PositiveNumber);
	app.require_subcommand(1);
	CLI11_PARSE(app, argc, argv);
	if (!netns.empty())
		enter_netns(netns);

	cluster::ClientOptions options;
	options.endpoints = endpoints;
	cluster::Client client(options);

	if (*publish) {
		const auto t0 = Clock::now();
		const std::int64_t before = db_size(client);
		// One lease for all: the simulated hosts live as long as etcd keeps
		// it (an hour), whichever process wrote them.
		const cluster::Lease lease = client.grant(3600);
		cluster::Txn txn;
		for (int n = 0; n < shape.nodes; n++) {
			put(client, txn, cluster::vtep_key(shape.node(n)),
			    cluster::encode(cluster::VtepRecord{shape.node(n), shape.vtep(n), {}}), lease.id);
			for (int v = 0; v < shape.vms; v++) {
				const cluster::Binding b{shape.node(n), shape.segment(n, v), shape.mac(n, v), 1,
							 "sim", {}};
				put(client, txn, cluster::binding_key(b.node, b.segment, b.mac), cluster::encode(b),
				    lease.id);
			}
		}
		flush(client, txn);
		std::cout << nlohmann::json{{"step", "publish"},
					    {"nodes", shape.nodes},
					    {"bindings", shape.nodes * shape.vms},
					    {"seconds", since(t0)},
					    {"etcd_db_bytes_before", before},
					    {"etcd_db_bytes", db_size(client)},
					    {"lease", lease.id}}
				     .dump()
			  << '\n';
		return 0;
	}

	const auto t0 = Clock::now();
	std::optional<Dataplane> dp;
	while (!(dp = Dataplane::open(instance))) {
		if (since(t0) > timeout_sec) {
			std::cerr << "no instance " << instance << '\n';
			return 2;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	// The segments the agent has: only their bindings reach its maps.
	std::map<std::string, std::uint32_t> ids;
	while ((ids = segment_ids(*dp)).empty() && since(t0) < timeout_sec)
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	auto fdb_key = [&](const std::string &segment, const Mac &mac) {
		ovx_fdb_key k{};
		k.segment = ids.at(segment);
		std::memcpy(k.mac, mac.data(), 6);
		return k;
	};

	if (*sync) {
		std::map<std::string, std::pair<ovx_fdb_key, ovx_addr>> pending;
		for (int n = 0; n < shape.nodes; n++)
			for (int v = 0; v < shape.vms; v++)
				if (ids.contains(shape.segment(n, v))) {
					const ovx_fdb_key k = fdb_key(shape.segment(n, v), shape.mac(n, v));
					pending[key_text(k)] = {k, to_abi(shape.vtep(n))};
				}
		const std::size_t expected = pending.size();
		const bool ok = wait_for(*dp, std::move(pending), timeout_sec, t0);
		std::cout << nlohmann::json{{"step", "sync"},
					    {"segments_here", ids.size()},
					    {"entries_expected", expected},
					    {"ok", ok},
					    {"seconds", since(t0)}}
				     .dump()
			  << '\n';
		return ok ? 0 : 1;
	}

	// move: COUNT distinct VMs, each to the next node, sequence 2.
	std::mt19937 rng(7);
	std::uniform_int_distribution<int> pick(0, shape.nodes * shape.vms - 1);
	std::map<int, bool> chosen;
	while (static_cast<int>(chosen.size()) < std::min(count, shape.nodes * shape.vms))
		chosen[pick(rng)] = true;
	const cluster::Lease lease = client.grant(3600);
	std::map<std::string, std::pair<ovx_fdb_key, ovx_addr>> pending;
	cluster::Txn txn;
	const auto t1 = Clock::now();
	for (const auto &[i, _] : chosen) {
		const int n = i / shape.vms, v = i % shape.vms, to = (n + 1) % shape.nodes;
		const cluster::Binding b{shape.node(to), shape.segment(n, v), shape.mac(n, v), 2, "sim", {}};
		// A move is the new binding and the old one's removal: two
		// operations, the transaction's limit in mind.
		txn.success.push_back({cluster::TxnOp::Kind::put, cluster::binding_key(b.node, b.segment, b.mac),
				       cluster::encode(b), lease.id});
		cluster::TxnOp del;
		del.kind = cluster::TxnOp::Kind::del;
		del.key = cluster::binding_key(shape.node(n), b.segment, b.mac);
		txn.success.push_back(del);
		if (txn.success.size() >= kTxnOps)
			flush(client, txn);
		if (ids.contains(b.segment)) {
			const ovx_fdb_key k = fdb_key(b.segment, b.mac);
			pending[key_text(k)] = {k, to_abi(shape.vtep(to))};
		}
	}
	flush(client, txn);
	const double written = since(t1);
	const std::size_t here = pending.size();
	const bool ok = wait_for(*dp, std::move(pending), timeout_sec, t1);
	std::cout << nlohmann::json{{"step", "move"},
				    {"moved", chosen.size()},
				    {"moved_in_segments_here", here},
				    {"write_seconds", written},
				    {"ok", ok},
				    {"seconds", since(t1)}}
			     .dump()
		  << '\n';
	return ok ? 0 : 1;
}
