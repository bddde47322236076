#include "agent/metrics.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string_view>
#include <thread>

#include "agent/daemon.h"
#include "loader/permissions.h"
#include "maps/error.h"

namespace ovx {
namespace {

// Label values come from the operator's file (tenant, segment names) and
// interface names: escape what the text format requires.
std::string escape_label(std::string_view v)
{
	std::string out;
	out.reserve(v.size());
	for (char c : v) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '"')
			out += "\\\"";
		else if (c == '\n')
			out += "\\n";
		else
			out += c;
	}
	return out;
}

class Writer {
public:
	explicit Writer(std::string &out) : out_(out) {}

	void family(std::string_view name, std::string_view type, std::string_view help)
	{
		name_ = name;
		out_ += "# HELP ";
		out_ += name;
		out_ += ' ';
		out_ += help;
		out_ += "\n# TYPE ";
		out_ += name;
		out_ += ' ';
		out_ += type;
		out_ += '\n';
	}

	// The samples that follow belong to @name, a series of the current
	// family (a histogram's _bucket, _sum, _count).
	void series(std::string_view name) { name_ = name; }

	// @labels: already rendered `k="v",...` (without braces), may be empty.
	void sample(std::string_view labels, unsigned long long value)
	{
		start(labels);
		char buf[24];
		auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
		(void)ec;
		out_.append(buf, end);
		out_ += '\n';
	}

	void sample_real(std::string_view labels, double value)
	{
		start(labels);
		char buf[32];
		std::snprintf(buf, sizeof(buf), "%.6g", value);
		out_ += buf;
		out_ += '\n';
	}

private:
	void start(std::string_view labels)
	{
		out_ += name_;
		if (!labels.empty()) {
			out_ += '{';
			out_ += labels;
			out_ += '}';
		}
		out_ += ' ';
	}

	std::string &out_;
	std::string_view name_;
};

std::string label(std::string_view key, std::string_view value)
{
	std::string out(key);
	out += "=\"";
	out += escape_label(value);
	out += '"';
	return out;
}

std::string join(std::string_view a, std::string_view b)
{
	if (a.empty())
		return std::string(b);
	std::string out(a);
	out += ',';
	out += b;
	return out;
}

void render_segments(Writer &w, const MetricsSnapshot &snap)
{
	const auto &segs = snap.state.segments;
	std::vector<std::string> base; // tenant="..",segment=".." per segment
	base.reserve(segs.size());
	for (const auto &s : segs)
		base.push_back(join(label("tenant", s.tenant), label("segment", s.name)));

	w.family("ovx_segment_info", "gauge",
		 "Segments applied, with their encapsulation and id (VNI, VSID or context id).");
	for (std::size_t i = 0; i < segs.size(); i++)
		w.sample(join(join(base[i], label("encap", encap_name(segs[i].encap))),
			      label("id", std::to_string(segs[i].id))),
			 1ull);

	struct Dir {
		const char *name;
		__u64 ovx_seg_stats::*packets;
		__u64 ovx_seg_stats::*bytes;
	};
	static const Dir dirs[] = {
		{"rx", &ovx_seg_stats::rx_packets, &ovx_seg_stats::rx_bytes},
		{"tx", &ovx_seg_stats::tx_packets, &ovx_seg_stats::tx_bytes},
		{"local", &ovx_seg_stats::local_packets, &ovx_seg_stats::local_bytes},
	};
	w.family("ovx_segment_packets_total", "counter",
		 "Frames per segment: rx decapsulated from the underlay, tx encapsulated to a "
		 "remote VTEP (per copy), local switched port to port.");
	for (std::size_t i = 0; i < segs.size(); i++)
		for (const auto &d : dirs)
			w.sample(join(base[i], label("direction", d.name)), segs[i].stats.*d.packets);
	w.family("ovx_segment_bytes_total", "counter",
		 "Inner frame bytes per segment and direction (see ovx_segment_packets_total).");
	for (std::size_t i = 0; i < segs.size(); i++)
		for (const auto &d : dirs)
			w.sample(join(base[i], label("direction", d.name)), segs[i].stats.*d.bytes);

	w.family("ovx_segment_flood_copies_total", "counter",
		 "Copies of broadcast, multicast and unknown-unicast frames sent, local and "
		 "remote.");
	for (std::size_t i = 0; i < segs.size(); i++)
		w.sample(base[i], segs[i].stats.flood_copies);
	w.family("ovx_segment_learned_total", "counter",
		 "MAC addresses learned behind a remote VTEP, new or moved.");
	for (std::size_t i = 0; i < segs.size(); i++)
		w.sample(base[i], segs[i].stats.learned);
	w.family("ovx_segment_learn_refused_total", "counter",
		 "Source MACs not learned for want of room (the segment's or the FDB's learning "
		 "limit); the frame itself is delivered.");
	for (std::size_t i = 0; i < segs.size(); i++)
		w.sample(base[i], segs[i].stats.learn_refused);

	w.family("ovx_segment_drops_total", "counter",
		 "Frames dropped per segment by reason; a reason appears once it has counted.");
	for (std::size_t i = 0; i < segs.size(); i++)
		for (unsigned r = 0; r < OVX_DROP_MAX; r++)
			if (segs[i].stats.drops[r])
				w.sample(join(base[i], label("reason", drop_reason_name(r))),
					 segs[i].stats.drops[r]);

	w.family("ovx_segment_stt_segments_total", "counter",
		 "STT segments sent beyond the first of a frame (STT segments only).");
	for (std::size_t i = 0; i < segs.size(); i++)
		if (segs[i].encap == OVX_ENCAP_STT)
			w.sample(base[i], segs[i].stats.stt_segments);
	w.family("ovx_segment_stt_reassembled_total", "counter",
		 "STT frames rebuilt from several segments (STT segments only).");
	for (std::size_t i = 0; i < segs.size(); i++)
		if (segs[i].encap == OVX_ENCAP_STT)
			w.sample(base[i], segs[i].stats.stt_reassembled);

	w.family("ovx_segment_forwarded_total", "counter",
		 "Frames from the underlay sent on to a moved MAC's new VTEP (forwarding pointer).");
	for (std::size_t i = 0; i < segs.size(); i++)
		w.sample(base[i], segs[i].stats.forwarded);

	w.family("ovx_segment_fdb_entries", "gauge",
		 "FDB entries per segment, static and learned (counted every refresh period).");
	for (std::size_t i = 0; i < segs.size(); i++)
		w.sample(base[i], segs[i].fdb_entries);
}

void render_ports(Writer &w, const MetricsSnapshot &snap)
{
	const auto &ports = snap.state.ports;
	std::vector<std::string> base;
	base.reserve(ports.size());
	for (const auto &p : ports)
		base.push_back(join(join(label("tenant", p.tenant), label("segment", p.segment)),
				    label("port", p.interface)));
	w.family("ovx_port_packets_total", "counter",
		 "Frames per local port: rx sent by the VM, tx handed to the VM.");
	for (std::size_t i = 0; i < ports.size(); i++) {
		w.sample(join(base[i], "direction=\"rx\""), ports[i].stats.rx_packets);
		w.sample(join(base[i], "direction=\"tx\""), ports[i].stats.tx_packets);
	}
	w.family("ovx_port_bytes_total", "counter", "Bytes per local port and direction.");
	for (std::size_t i = 0; i < ports.size(); i++) {
		w.sample(join(base[i], "direction=\"rx\""), ports[i].stats.rx_bytes);
		w.sample(join(base[i], "direction=\"tx\""), ports[i].stats.tx_bytes);
	}
	w.family("ovx_port_spoof_drops_total", "counter",
		 "Frames a VM sent with a source MAC that is not its port's.");
	for (std::size_t i = 0; i < ports.size(); i++)
		w.sample(base[i], ports[i].stats.spoof_drops);
}

// The cluster agent's counters, from its report: what it applied, how far
// behind etcd it is, how long applying took, how etcd treated it.
void render_cluster(Writer &w, const nlohmann::json &c, std::uint64_t now_unix)
{
	// The report's plain numbers, one family each.
	struct Plain {
		const char *name, *type, *help, *key;
	};
	static constexpr Plain kPlain[] = {
		{"ovx_cluster_watch_events_total", "counter", "etcd watch events applied.", "events"},
		{"ovx_cluster_sync_lag_revisions", "gauge",
		 "etcd revisions the agent has heard of but not applied yet.", "lag_revisions"},
		{"ovx_cluster_revision", "gauge", "The etcd revision the maps reflect.", "revision"},
		{"ovx_cluster_etcd_errors_total", "counter", "etcd calls that failed.", "etcd_errors"},
		{"ovx_cluster_etcd_failovers_total", "counter",
		 "Moves to another etcd endpoint (reconnects).", "failovers"},
		{"ovx_cluster_resyncs_total", "counter",
		 "Full reads of the cluster (start, compacted watch).", "resyncs"},
		{"ovx_cluster_lease_ttl_seconds", "gauge", "Seconds left on this node's lease.",
		 "lease_ttl_left"},
		{"ovx_cluster_applies_total", "counter",
		 "Times the agent brought the maps in line with the cluster.", "applies"},
		{"ovx_cluster_delta_applies_total", "counter",
		 "Of those, the ones written as a delta: MACs bound, moved or gone, VTEPs joining (no map read whole).", "deltas"},
	};
	for (const Plain &p : kPlain) {
		w.family(p.name, p.type, p.help);
		w.sample("", c.value(p.key, std::uint64_t{0}));
	}
	w.family("ovx_cluster_sync_age_seconds", "gauge",
		 "Seconds since the agent last brought the maps in line with the cluster.");
	const std::uint64_t updated = c.value("updated", std::uint64_t{0});
	w.sample_real("", static_cast<double>(now_unix - std::min(now_unix, updated)));
	w.family("ovx_cluster_apply_seconds", "histogram",
		 "From a change's arrival (watch event, file, timer) to the maps holding it.");
	w.series("ovx_cluster_apply_seconds_bucket");
	const auto buckets = c.value("latency_buckets", std::vector<double>{});
	const auto counts = c.value("latency_counts", std::vector<std::uint64_t>{});
	std::uint64_t cumulative = 0;
	for (std::size_t i = 0; i < counts.size(); i++) {
		cumulative += counts[i];
		char le[32];
		if (i < buckets.size())
			std::snprintf(le, sizeof(le), "%g", buckets[i]);
		else
			std::snprintf(le, sizeof(le), "+Inf");
		w.sample(label("le", le), cumulative);
	}
	w.series("ovx_cluster_apply_seconds_sum");
	w.sample_real("", c.value("latency_sum", 0.0));
	w.series("ovx_cluster_apply_seconds_count");
	w.sample("", cumulative);
	w.family("ovx_cluster_nodes", "gauge", "Nodes this agent sees.");
	w.sample("", c.value("nodes", nlohmann::json::array()).size());
	const auto view = c.value("view", nlohmann::json::object());
	w.family("ovx_cluster_mac_moves_total", "counter", "MACs whose host changed.");
	w.sample("", view.value("moves", std::uint64_t{0}));
	w.family("ovx_cluster_duplicate_macs", "gauge",
		 "MACs bound on two hosts beyond the grace period (frozen ones included).");
	w.sample("", c.value("duplicate_macs", nlohmann::json::array()).size());
	w.family("ovx_cluster_bad_records_total", "counter",
		 "Values in etcd that failed validation: ignored.");
	w.sample("", view.value("bad", std::uint64_t{0}));
	w.family("ovx_cluster_ignored_keys", "gauge",
		 "Keys in etcd ignored now: invalid (a value or key that failed validation), "
		 "unknown_segment (a binding for a segment the cluster does not define).");
	w.sample(label("reason", "invalid"), c.value("bad_keys", nlohmann::json::object()).size());
	w.sample(label("reason", "unknown_segment"),
		 c.value("orphan_bindings", nlohmann::json::array()).size());
	w.family("ovx_cluster_etcd_connected", "gauge",
		 "1 while the agent's watch has a stream to an etcd member.");
	w.sample("", c.value("etcd_connected", false) ? 1ull : 0ull);
}

// The agent's own health: alive, when it last reconciled, what it repaired.
void render_agent(Writer &w, const std::optional<AgentState> &agent)
{
	w.family("ovx_agent_up", "gauge",
		 "1 while an ovx agent (file or cluster mode) runs for the instance.");
	w.sample("", agent && agent->running ? 1ull : 0ull);
	if (!agent)
		return;
	w.family("ovx_agent_last_reconcile_timestamp_seconds", "gauge",
		 "Unix time of the agent's last reconcile (apply, reload or timer pass, "
		 "successful or not).");
	w.sample("", agent->last_reconcile);
	w.family("ovx_agent_reconciles_total", "counter", "Reconciles the agent ran.");
	w.sample("", agent->reconciles);
	w.family("ovx_agent_drift_repairs_total", "counter",
		 "Map entries and hooks changed behind ovx's back that the agent put back.");
	w.sample("", agent->repairs);
	w.family("ovx_agent_last_reconcile_failed", "gauge",
		 "1 when the agent's last reconcile failed or its file does not parse (ovx status "
		 "says why).");
	w.sample("", agent->last_error.empty() ? 0ull : 1ull);
}

} // namespace

std::string render_metrics(const MetricsSnapshot &snap)
{
	std::string out;
	// About 1 KB per segment with ports: one allocation for most scrapes.
	out.reserve(4096 + snap.state.segments.size() * 1024 + snap.state.ports.size() * 512);
	Writer w(out);

	w.family("ovx_build_info", "gauge", "ovx version and map ABI; always 1.");
	w.sample(join(label("version", OVX_VERSION),
		      label("abi", std::to_string(OVX_ABI_VERSION))),
		 1ull);
	w.family("ovx_up", "gauge",
		 "1 when the instance's dataplane is pinned and its maps were read.");
	w.sample("", snap.up ? 1ull : 0ull);
	// Before the dataplane's: an agent that cannot apply is the news then.
	render_agent(w, snap.agent);
	if (!snap.up)
		return out;

	render_segments(w, snap);

	w.family("ovx_unassigned_drops_total", "counter",
		 "Frames dropped before they could be tied to a segment, by reason.");
	for (unsigned r = 0; r < OVX_DROP_MAX; r++)
		w.sample(label("reason", drop_reason_name(r)), snap.state.unassigned.drops[r]);

	render_ports(w, snap);

	w.family("ovx_nexthops", "gauge",
		 "Remote VTEPs in the send side's next-hop table, by whether the entry is live.");
	const auto live = static_cast<std::uint64_t>(std::count_if(
		snap.state.nexthops.begin(), snap.state.nexthops.end(),
		[](const NextHopView &h) { return h.live; }));
	w.sample("state=\"live\"", live);
	w.sample("state=\"expired\"", snap.state.nexthops.size() - live);
	w.family("ovx_nexthop_fallbacks_total", "counter",
		 "Frames sent through the kernel's FIB because the next-hop table had no entry "
		 "(miss) or an expired one (stale).");
	w.sample("reason=\"miss\"", snap.state.datapath.nexthop_miss);
	w.sample("reason=\"stale\"", snap.state.datapath.nexthop_stale);

	w.family("ovx_fdb_entries", "gauge", "FDB entries in all segments.");
	w.sample("", snap.fdb.total);
	w.family("ovx_fdb_count_age_seconds", "gauge",
		 "Age of the FDB count behind ovx_fdb_entries and ovx_segment_fdb_entries.");
	w.sample_real("", snap.fdb_age_sec);
	w.family("ovx_fdb_count_duration_seconds", "gauge",
		 "How long the last FDB count took (one batched read of the table).");
	w.sample_real("", snap.fdb.scan_seconds);

	w.family("ovx_map_entries", "gauge", "Entries in each BPF map with a capacity limit.");
	for (const auto &m : snap.state.maps)
		w.sample(label("map", m.map), m.entries);
	w.family("ovx_map_capacity", "gauge", "Capacity (max_entries) of each BPF map.");
	for (const auto &m : snap.state.maps)
		w.sample(label("map", m.map), m.capacity);
	if (snap.cluster.is_object())
		render_cluster(w, snap.cluster, static_cast<std::uint64_t>(std::time(nullptr)));
	return out;
}

MetricsCollector::MetricsCollector(std::string instance, std::chrono::milliseconds fdb_refresh)
	: instance_(std::move(instance)), fdb_refresh_(fdb_refresh)
{
}

MetricsSnapshot MetricsCollector::collect()
{
	auto dp = Dataplane::open(instance_, !can_read_programs());
	MetricsSnapshot snap;
	if (!dp) {
		std::lock_guard lock(mu_);
		have_census_ = false; // a new dataplane starts with a fresh count
	} else {
		snap = collect(*dp);
	}
	try {
		snap.agent = agent_state(instance_);
	} catch (const SystemError &) {
		// agent.json unreadable: the agent says nothing this scrape.
	}
	return snap;
}

MetricsSnapshot MetricsCollector::collect(const Dataplane &dp)
{
	std::lock_guard lock(mu_);
	MetricsSnapshot snap;
	const Tables &t = dp.tables();
	snap.state = inspect(dp, false);

	const auto now = std::chrono::steady_clock::now();
	if (!have_census_ || now - census_at_ >= fdb_refresh_) {
		census_ = count_fdb(t);
		census_at_ = now;
		have_census_ = true;
	}
	snap.fdb = census_;
	snap.fdb_age_sec = std::chrono::duration<double>(now - census_at_).count();
	add_fill(snap.state, t, census_);
	snap.up = true;
	if (std::ifstream in(cluster_state_path(dp.instance())); in) {
		try {
			snap.cluster = nlohmann::json::parse(in);
		} catch (const nlohmann::json::exception &) {
			// Being replaced right now: the next scrape reads it.
		}
	}
	return snap;
}

bool ListenAddr::loopback() const
{
	in_addr a4{};
	in6_addr a6{};
	if (inet_pton(AF_INET, host.c_str(), &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

ListenAddr parse_listen(const std::string &listen)
{
	auto bad = [&](const std::string &why) {
		return ConfigError("--listen: '" + listen + "': " + why +
				   " (want ADDR:PORT, e.g. 127.0.0.1:9587 or [::1]:9587, or PORT for "
				   "127.0.0.1)");
	};
	ListenAddr a{"127.0.0.1", 0};
	std::string port = listen;
	if (const auto colon = listen.rfind(':'); colon != std::string::npos) {
		port = listen.substr(colon + 1);
		std::string host = listen.substr(0, colon);
		int family = AF_INET;
		if (!host.empty() && host.front() == '[') {
			if (host.back() != ']' || host.size() < 3)
				throw bad("unbalanced brackets");
			host = host.substr(1, host.size() - 2);
			family = AF_INET6;
		}
		// Numeric only: a name would be resolved, perhaps to an address
		// nobody meant to expose.
		in6_addr buf{};
		if (!host.empty() && inet_pton(family, host.c_str(), &buf) != 1)
			throw bad(family == AF_INET6 ? "not an IPv6 address"
						     : "not an IPv4 address (IPv6 goes in brackets)");
		if (!host.empty())
			a.host = host;
	}
	auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
	if (port.empty() || ec != std::errc() || end != port.data() + port.size() || a.port < 1 ||
	    a.port > 65535)
		throw bad("port must be 1-65535");
	return a;
}

namespace {

using Clock = std::chrono::steady_clock;

// One connection a worker serves.
struct Connection {
	int fd;
	Clock::time_point since;
	std::atomic<bool> answering{false}; // writing a response: not evicted
	std::atomic<bool> closing{false};   // no further request on it
};

// The connection this worker thread serves, for the request handlers, and
// when it was accepted.
thread_local Connection *t_connection = nullptr;
thread_local Clock::time_point t_accepted;

// The connections being served and those accepted but still queued.
class Connections {
public:
	// For each accepted connection, before it is queued: if it would wait
	// for a worker, the oldest connection still sending its request is shut
	// down (its worker then reads the end of it) to make room. One per new
	// connection: a flood of slow clients turns over, scrapes get through.
	void accepted()
	{
		std::lock_guard lock(mu_);
		queued_++;
		if (live_.size() + queued_ <= MetricsServer::kWorkers)
			return;
		Connection *oldest = nullptr;
		for (Connection *c : live_)
			if (!c->answering && !c->closing && (!oldest || c->since < oldest->since))
				oldest = c;
		if (oldest) {
			oldest->closing = true;
			::shutdown(oldest->fd, SHUT_RDWR);
		}
	}
	// Whether connections are waiting for a worker behind this one.
	bool started(Connection *c)
	{
		std::lock_guard lock(mu_);
		queued_--;
		live_.push_back(c);
		return queued_ > 0;
	}
	// Before the socket is closed: no shutdown() may reach a reused fd.
	void finished(Connection *c)
	{
		std::lock_guard lock(mu_);
		std::erase(live_, c);
	}
	void shutdown_all()
	{
		std::lock_guard lock(mu_);
		for (Connection *c : live_) {
			c->closing = true;
			::shutdown(c->fd, SHUT_RDWR);
		}
	}

private:
	std::mutex mu_;
	std::vector<Connection *> live_;
	std::size_t queued_ = 0;
};

// A connection's socket with deadlines rather than httplib's per-read
// timeouts (a byte every few seconds kept a worker for ever), and a cap on
// the request head.
class DeadlineStream final : public httplib::Stream {
public:
	// The first request head is due by @deadline.
	DeadlineStream(Connection &c, Clock::time_point deadline) : c_(c), deadline_(deadline) {}

	void next_request()
	{
		c_.answering = false;
		head_bytes_ = 0;
		deadline_ = Clock::now() + MetricsServer::kRequestHeadTime;
	}

	// A read failed: no further request on this connection.
	bool failed() const { return failed_; }

	bool is_readable() const override { return pos_ < len_ || wait(POLLIN); }
	bool is_writable() const override { return wait(POLLOUT); }

	ssize_t read(char *ptr, size_t size) override
	{
		if (pos_ == len_) {
			// A head too large or too slow, or the end: whatever httplib
			// answers, the connection ends with it.
			if (head_bytes_ >= MetricsServer::kMaxRequestHead || !wait(POLLIN)) {
				failed_ = true;
				return -1;
			}
			const std::size_t want =
				std::min(sizeof(buf_), MetricsServer::kMaxRequestHead - head_bytes_);
			ssize_t n;
			do
				n = ::recv(c_.fd, buf_, want, 0);
			while (n < 0 && errno == EINTR);
			if (n <= 0) {
				failed_ = true;
				return n;
			}
			head_bytes_ += static_cast<std::size_t>(n);
			pos_ = 0;
			len_ = static_cast<std::size_t>(n);
		}
		const std::size_t n = std::min(size, len_ - pos_);
		std::memcpy(ptr, buf_ + pos_, n);
		pos_ += n;
		return static_cast<ssize_t>(n);
	}

	ssize_t write(const char *ptr, size_t size) override
	{
		if (!c_.answering.exchange(true))
			deadline_ = Clock::now() + MetricsServer::kResponseTime;
		if (!wait(POLLOUT))
			return -1;
		ssize_t n;
		do
			n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		return n;
	}

	void get_remote_ip_and_port(std::string &ip, int &port) const override
	{
		address(::getpeername, ip, port);
	}
	void get_local_ip_and_port(std::string &ip, int &port) const override
	{
		address(::getsockname, ip, port);
	}
	socket_t socket() const override { return c_.fd; }

private:
	bool wait(short events) const
	{
		for (;;) {
			// Past the deadline, what is already there is still taken.
			const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
				deadline_ - Clock::now());
			pollfd p{c_.fd, events, 0};
			const int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
			if (r < 0 && errno == EINTR)
				continue;
			return r > 0;
		}
	}

	template <typename F> void address(F name_of, std::string &ip, int &port) const
	{
		sockaddr_storage ss{};
		socklen_t len = sizeof(ss);
		char text[INET6_ADDRSTRLEN] = "";
		port = 0;
		if (name_of(c_.fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0) {
			const bool v6 = ss.ss_family == AF_INET6;
			const auto *in4 = reinterpret_cast<const sockaddr_in *>(&ss);
			const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&ss);
			inet_ntop(ss.ss_family, v6 ? static_cast<const void *>(&in6->sin6_addr) : &in4->sin_addr,
				  text, sizeof(text));
			port = ntohs(v6 ? in6->sin6_port : in4->sin_port);
		}
		ip = text;
	}

	Connection &c_;
	Clock::time_point deadline_;
	std::size_t head_bytes_ = 0;
	bool failed_ = false;
	char buf_[4096];
	std::size_t pos_ = 0, len_ = 0;
};

// httplib's workers with Connections told of each accepted socket.
class Workers final : public httplib::TaskQueue {
public:
	explicit Workers(Connections &c) : pool_(MetricsServer::kWorkers), connections_(c) {}
	void enqueue(std::function<void()> fn) override
	{
		connections_.accepted();
		pool_.enqueue([fn = std::move(fn), at = Clock::now()] {
			t_accepted = at;
			fn();
		});
	}
	void shutdown() override { pool_.shutdown(); }

private:
	httplib::ThreadPool pool_;
	Connections &connections_;
};

// httplib parses and routes; this serves each socket through a
// DeadlineStream (process_and_close_socket is httplib's hook for that:
// its SSL server overrides it too).
class GuardedServer final : public httplib::Server {
public:
	Connections connections;

	// httplib listens with a backlog of 5: a burst of connections beyond
	// it waits for SYN retransmits (seconds) before the evictions above
	// can help. listen() again only sets the backlog.
	void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }

private:
	bool process_and_close_socket(socket_t sock) override
	{
		Connection c{sock, Clock::now()};
		// With others waiting, a connection that has not sent its request
		// within kBusyRequestHeadTime of its accept is dropped: a queue of
		// slow clients drains at once, a scrape that came with them is served.
		const bool busy = connections.started(&c);
		t_connection = &c;
		DeadlineStream stream(c, t_accepted + (busy ? MetricsServer::kBusyRequestHeadTime
							    : MetricsServer::kRequestHeadTime));
		bool ok = true;
		for (int n = 0; ok && n < MetricsServer::kRequestsPerConnection && !c.closing &&
				!stream.failed() && svr_sock_ != INVALID_SOCKET;
		     n++) {
			if (n > 0) {
				stream.next_request();
				if (!stream.is_readable())
					break; // keep-alive: the next request did not come in time
			}
			bool closed = false;
			ok = process_request(stream, n + 1 == MetricsServer::kRequestsPerConnection, closed,
					     nullptr) &&
			     !closed;
		}
		t_connection = nullptr;
		connections.finished(&c);
		::shutdown(sock, SHUT_RDWR);
		::close(sock);
		return ok;
	}
};

} // namespace

struct MetricsServer::Impl {
	GuardedServer server;
	std::atomic<bool> finished{false};
};

MetricsServer::MetricsServer(MetricsCollector &collector, const ListenAddr &listen)
	: impl_(std::make_unique<Impl>())
{
	GuardedServer &srv = impl_->server;
	// httplib owns the queue it is handed.
	srv.new_task_queue = [&srv] { return std::make_unique<Workers>(srv.connections).release(); };
	// A scrape is a GET without a body: a body is refused before a byte of
	// it is read (httplib would read, or skip, all of it first).
	srv.set_payload_max_length(0);
	srv.set_expect_100_continue_handler(
		[](const httplib::Request &, httplib::Response &) { return 417; });
	srv.set_pre_routing_handler([](const httplib::Request &req, httplib::Response &res) {
		const bool body = req.has_header("Transfer-Encoding") ||
				  (req.has_header("Content-Length") &&
				   req.get_header_value("Content-Length") != "0");
		if (!body)
			return httplib::Server::HandlerResponse::Unhandled;
		if (t_connection)
			t_connection->closing = true; // the body is still on the wire
		res.status = 413;
		res.set_header("Connection", "close");
		res.set_content("ovx exporter: request bodies are refused\n", "text/plain");
		return httplib::Server::HandlerResponse::Handled;
	});
	srv.Get("/metrics", [&collector](const httplib::Request &, httplib::Response &res) {
		try {
			res.set_content(collector.scrape(), kMetricsContentType);
		} catch (const std::exception &e) {
			res.status = 500;
			res.set_content(std::string("ovx: ") + e.what() + "\n", "text/plain");
		}
	});
	srv.Get("/", [](const httplib::Request &, httplib::Response &res) {
		res.set_content("ovx exporter: metrics at /metrics\n", "text/plain");
	});
	const std::string where = (listen.host.find(':') != std::string::npos
					   ? "[" + listen.host + "]"
					   : listen.host) +
				  ":" + std::to_string(listen.port);
	port_ = listen.port ? (srv.bind_to_port(listen.host, listen.port) ? listen.port : -1)
			    : srv.bind_to_any_port(listen.host);
	if (port_ < 0)
		throw SystemError("metrics: cannot listen on " + where, errno);
	srv.widen_backlog();
	if (!listen.loopback())
		std::cerr << "ovx: warning: metrics on " << where
			  << " are open to anyone who can reach that address (no authentication); "
			     "they name tenants, segments and interfaces\n";
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::run()
{
	impl_->server.listen_after_bind();
	impl_->finished = true;
}

void MetricsServer::stop()
{
	// httplib's stop() is a no-op until the accept loop runs: a stop that
	// came right after start would be lost and run() would never return.
	while (!impl_->server.is_running() && !impl_->finished)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	impl_->server.stop();
	// Workers waiting on slow clients would hold the join up to a deadline.
	impl_->server.connections.shutdown_all();
}

} // namespace ovx
