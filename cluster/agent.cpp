#include "cluster/agent.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <variant>

#include "agent/apply.h"
#include "agent/daemon.h"
#include "agent/events.h"
#include "agent/file_watch.h"
#include "agent/log.h"
#include "agent/loop_fds.h"
#include "agent/nexthops.h"
#include "agent/reconcile.h"
#include "agent/writer_lock.h"
#include "cluster/agent_config.h"
#include "cluster/etcd_client.h"
#include "cluster/forward.h"
#include "cluster/layout.h"
#include "cluster/sync.h"
#include "cluster/view.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace fs = std::filesystem;

namespace ovx::cluster {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t unix_now()
{
	return static_cast<std::uint64_t>(std::time(nullptr));
}

UniqueFd make_fd(int fd, const char *what)
{
	if (fd < 0)
		throw SystemError(std::string("cannot create ") + what, errno);
	return UniqueFd(fd);
}

// A binding this node published.
std::optional<Binding> decoded_binding(const std::string &key, const std::string &value)
{
	try {
		Record r = parse_record(key, value);
		if (std::holds_alternative<Binding>(r))
			return std::get<Binding>(std::move(r));
	} catch (const BadRecord &) {
	}
	return std::nullopt;
}

// Apply latency buckets (seconds), for the convergence histogram.
constexpr double kBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
// How long the state files may lag behind the last converge.
constexpr std::uint64_t kSaveDelayNs = 50ull * 1000000;

class Agent {
public:
	Agent(ClusterAgentOptions o, std::shared_ptr<spdlog::logger> log)
		: o_(std::move(o)), log_(std::move(log)), wake_(make_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "an eventfd"))
	{
		state_.pid = static_cast<int>(getpid());
		state_.started = unix_now();
	}
	int run();

private:
	void connect();
	void publish(const ClusterView &view);
	void converge(const char *why);
	void track_moves(const ClusterView &view);
	void save();
	// save() within kSaveDelay: a storm of watch events writes the state
	// files once, not once per event (two files renamed each time).
	void save_soon();
	void wake()
	{
		const std::uint64_t one = 1;
		[[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
	}

	ClusterAgentOptions o_;
	std::shared_ptr<spdlog::logger> log_;
	EventBus events_{o_.instance}; // to `ovx monitor`s
	UniqueFd wake_;
	UniqueFd lapse_ = alarm_fd(); // the next forwarding pointer's end
	UniqueFd save_timer_ = alarm_fd();
	NextHopWatch nexthops_;
	bool save_due_ = false;
	AgentConfig cfg_;
	std::unique_ptr<Client> client_;
	std::unique_ptr<KeepAlive> keepalive_;
	std::unique_ptr<ClusterSync> sync_;
	std::int64_t lease_ = 0;
	std::int64_t previous_lease_ = 0; // this node's, by the last agent
	std::atomic<bool> lease_lost_{false};
	bool synced_ = false; // the view was read whole once: maps may follow it

	std::map<std::string, std::string> published_; // key -> value of ours
	AgentState state_;
	struct {
		std::uint64_t etcd_errors = 0, applies = 0, apply_errors = 0;
		std::uint64_t deltas = 0; // applies written as a delta (apply_delta)
		std::uint64_t latency[std::size(kBuckets) + 1] = {};
		double latency_sum = 0;
	} stats_;
	std::string last_error_;
	std::vector<std::string> unbound_;
	// What the last apply wrote: a watch event that only binds, moves or
	// unbinds remote MACs, or brings a VTEP into a segment, is written as a
	// delta against it.
	std::optional<Applied> applied_;
	ForwardPointers forward_;
};

void Agent::connect()
{
	client_ = std::make_unique<Client>(cfg_.etcd);
	// An identity that may not write this node's keys (etcd RBAC: another
	// node's name, say) is refused here, before a lease or the maps.
	client_->check_write(vtep_key(cfg_.node));
	// A lease this node held before a restart and that still lives is
	// taken over: its keys stay, and no peer sees the node go and come.
	if (!lease_ && previous_lease_ && client_->time_to_live(previous_lease_) > 0) {
		lease_ = previous_lease_;
		log_->info("lease {:x} still lives: taken over", lease_);
	}
	if (!lease_) {
		lease_ = client_->grant(cfg_.lease_ttl).id;
		log_->info("lease {:x} granted, ttl {}s", lease_, cfg_.lease_ttl);
	}
	lease_lost_ = false;
	keepalive_ = std::make_unique<KeepAlive>(*client_, lease_, [this] {
		lease_lost_ = true;
		wake();
	});
	// What etcd holds of ours already (a restart with the lease taken
	// over): only differences get written.
	published_.clear();
	for (const KeyValue &kv :
	     client_->range(node_prefix(cfg_.node), {.prefix = true}).kvs)
		if (kv.lease == lease_)
			published_[kv.key] = kv.value;
	ViewOptions vo = cfg_.mobility;
	vo.local_node = cfg_.node;
	vo.family = cfg_.host.underlay.address4.family ? AF_INET : AF_INET6;
	sync_ = std::make_unique<ClusterSync>(*client_, vo, [this](const ClusterView &) { wake(); });
}

// This node's keys as they must be: its VTEP, one binding per local port
// whose segment the cluster defines. A binding keeps its sequence number
// while this node owns the MAC, and takes one above everyone's when it
// does not (a VM that arrived here: a move).
void Agent::publish(const ClusterView &view)
{
	std::map<std::string, std::string> want;
	VtepRecord v{cfg_.node, cfg_.host.underlay.address4, cfg_.host.underlay.address6};
	want[vtep_key(cfg_.node)] = encode(v);
	for (const LocalPort &p : cfg_.ports) {
		const std::string key = binding_key(cfg_.node, p.segment, p.mac);
		// The sequence number is taken once, when the MAC arrives here,
		// as EVPN's is: a node that raised it again each time it saw
		// another binding would race its peer for ever while both bind
		// the MAC (make-before-break).
		std::uint32_t seq = view.next_sequence(p.segment, p.mac);
		if (auto it = published_.find(key); it != published_.end())
			if (auto old = decoded_binding(key, it->second))
				seq = old->seq;
		Binding b{cfg_.node, p.segment, p.mac, seq, p.interface, p.ips};
		want[key] = encode(b);
	}
	for (const auto &[key, value] : want) {
		auto it = published_.find(key);
		if (it != published_.end() && it->second == value)
			continue;
		client_->put(key, value, lease_);
		published_[key] = value;
	}
	for (auto it = published_.begin(); it != published_.end();) {
		if (want.contains(it->first)) {
			++it;
			continue;
		}
		client_->del(it->first);
		it = published_.erase(it);
	}
}

// Forwarding pointers for MACs that left this node's ports for another
// node (cluster/forward.h): what this node published last against what its
// ports bind now and who wins each MAC elsewhere.
void Agent::track_moves(const ClusterView &view)
{
	std::map<ForwardPointers::MacKey, std::uint32_t> published;
	for (const auto &[key, value] : published_)
		if (auto b = decoded_binding(key, value))
			published[{b->segment, b->mac}] = b->seq;
	std::set<ForwardPointers::MacKey> bound;
	for (const LocalPort &p : cfg_.ports)
		bound.insert({p.segment, p.mac});
	forward_.set_hold(static_cast<std::uint64_t>(cfg_.mobility.forward_hold.count()));
	forward_.update(published, bound, view.remote_macs(), monotonic_ns());
}

void Agent::converge(const char *why)
{
	const auto start = Clock::now();
	std::vector<Segment> segments;
	std::int64_t revision = 0;
	sync_->inspect([&](const ClusterView &view) {
		revision = view.revision();
		track_moves(view);
		// A segment stays while a local port or a forwarding pointer needs it.
		for (Segment &s : view.segments())
			if (forward_.holds(s.name) ||
			    std::any_of(cfg_.ports.begin(), cfg_.ports.end(),
					[&](const LocalPort &p) { return p.segment == s.name; }))
				segments.push_back(std::move(s));
		return 0;
	});
	std::vector<std::string> unbound;
	Config want = host_config(cfg_, std::move(segments), &unbound);
	forward_.mark(want);
	set_alarm(lapse_.get(), forward_.next_lapse());
	if (unbound != unbound_) {
		for (const std::string &u : unbound)
			log_->warn("port {} is not defined in the cluster: not bound", u);
		unbound_ = unbound;
	}
	try {
		const WriterLock writer = WriterLock::take(o_.instance, "ovx agent --cluster", true);
		// The timer's pass is whole: it repairs drift and reclaims
		// learned entries, which a delta never reads.
		std::optional<ApplyResult> delta;
		if (applied_ && std::strcmp(why, "timer") != 0) {
			try {
				delta = apply_delta(want, o_.instance, *applied_);
			} catch (const std::exception &e) {
				// Undone already; the whole apply can do more (make
				// room by evicting learned entries, repair drift).
				log_->warn("{}: delta refused ({}): applying whole", why, e.what());
				applied_.reset();
			}
		}
		if (delta)
			stats_.deltas++;
		Applied whole;
		const ApplyResult r = delta ? *delta : ovx::apply(want, o_.instance, {}, &whole);
		if (!delta)
			applied_ = std::move(whole);
		if (r.nexthops)
			nexthops_.track(*r.nexthops);
		stats_.applies++;
		if (r.maps.changes() || r.created || !r.attached.empty())
			log_->info("{}: revision {}: {} added, {} changed, {} removed{}", why,
				   revision, r.maps.added, r.maps.changed, r.maps.removed,
				   r.created ? " (dataplane loaded)" : "");
		// The timer's pass is news only when it wrote something.
		if (std::strcmp(why, "timer") != 0 || r.maps.changes() || !r.attached.empty()) {
			Event applied = apply_event("agent --cluster", r);
			applied.fields["reason"] = why;
			applied.fields["revision"] = revision;
			events_.publish(applied);
		}
		if (last_error_.rfind("apply", 0) == 0)
			last_error_.clear();
	} catch (const std::exception &e) {
		stats_.apply_errors++;
		applied_.reset();
		last_error_ = std::string("apply: ") + e.what();
		log_->error("apply failed, retrying: {}", e.what());
		events_.publish(event_now("apply", {{"by", "agent --cluster"},
						    {"pid", state_.pid},
						    {"reason", why},
						    {"error", e.what()}}));
	}
	// Our own keys after the maps: a VM that arrived here is bound in the
	// dataplane before any peer is told to send its frames here.
	try {
		sync_->inspect([&](const ClusterView &view) {
			publish(view);
			return 0;
		});
	} catch (const std::exception &e) {
		stats_.etcd_errors++;
		last_error_ = e.what();
		log_->error("publishing to etcd: {}; forwarding goes on with the last state", e.what());
	}
	const double sec = std::chrono::duration<double>(Clock::now() - start).count();
	std::size_t i = 0;
	while (i < std::size(kBuckets) && sec > kBuckets[i])
		i++;
	stats_.latency[i]++;
	stats_.latency_sum += sec;
	state_.reconciles++;
	state_.last_reconcile = unix_now();
	save_soon();
}

void Agent::save_soon()
{
	if (save_due_)
		return;
	set_alarm(save_timer_.get(), monotonic_ns() + kSaveDelayNs);
	save_due_ = true;
}

void Agent::save()
{
	save_due_ = false;
	set_alarm(save_timer_.get(), 0);
	state_.last_error = last_error_;
	try {
		write_agent_state(o_.instance, state_);
	} catch (const std::exception &e) {
		log_->warn("agent state: {}", e.what());
	}
	const ClusterSync::Stats ss = sync_ ? sync_->stats() : ClusterSync::Stats{};
	nlohmann::json j{{"node", cfg_.node},
			 {"pid", state_.pid},
			 {"file", cfg_.path},
			 {"endpoints", cfg_.etcd.endpoints},
			 {"endpoint", client_ ? client_->current_endpoint() : ""},
			 {"lease", lease_},
			 {"lease_ttl", cfg_.lease_ttl},
			 {"lease_ttl_left", keepalive_ ? keepalive_->ttl() : 0},
			 {"failovers", client_ ? client_->failovers() : 0},
			 {"head", ss.head},
			 {"batches", ss.batches},
			 {"resyncs", ss.resyncs},
			 {"etcd_errors", stats_.etcd_errors + ss.errors},
			 {"etcd_connected", ss.connected},
			 {"etcd_connected_changed", ss.connected_changed},
			 {"applies", stats_.applies},
			 {"deltas", stats_.deltas},
			 {"apply_errors", stats_.apply_errors},
			 {"latency_buckets", kBuckets},
			 {"latency_counts", stats_.latency},
			 {"latency_sum", stats_.latency_sum},
			 {"last_error", last_error_},
			 {"unbound_ports", unbound_},
			 {"updated", unix_now()}};
	if (sync_)
		sync_->inspect([&](const ClusterView &view) {
			const ViewCounters &c = view.counters();
			j["revision"] = view.revision();
			j["lag_revisions"] = std::max<std::int64_t>(0, ss.head - view.revision());
			j["events"] = c.events;
			j["view"] = {{"events", c.events},	     {"stale", c.stale},
				     {"bad", c.bad},		     {"moves", c.moves},
				     {"duplicates", c.duplicates}, {"freezes", c.freezes}};
			j["nodes"] = nlohmann::json::array();
			for (const NodeInfo &n : view.nodes()) {
				nlohmann::json node{{"name", n.name}, {"bindings", n.bindings}};
				if (n.vtep) {
					std::vector<std::string> a;
					for (const IpAddr *ip : {&n.vtep->address4, &n.vtep->address6})
						if (ip->family)
							a.push_back(format_ip(*ip));
					node["vtep"] = a;
				}
				j["nodes"].push_back(node);
			}
			j["duplicate_macs"] = nlohmann::json::array();
			for (const DuplicateMac &d : view.duplicates())
				j["duplicate_macs"].push_back({{"segment", d.segment},
							       {"mac", format_mac(d.mac)},
							       {"nodes", d.nodes},
							       {"owner", d.owner},
							       {"frozen", d.frozen}});
			j["bad_keys"] = view.bad_keys();
			j["orphan_bindings"] = view.orphan_bindings();
			return 0;
		});
	const std::string path = cluster_state_path(o_.instance), tmp = path + ".tmp";
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << j.dump(2) << '\n';
	}
	std::rename(tmp.c_str(), path.c_str());
}

int Agent::run()
{
	try {
		cfg_ = load_agent_config(o_.file);
	} catch (const ConfigError &e) {
		log_->error("{}", e.what());
		return kExitInvalid;
	}
	const fs::path file = fs::absolute(o_.file);
	state_.file = file.string();
	if (std::ifstream in(cluster_state_path(o_.instance)); in) {
		try {
			const auto j = nlohmann::json::parse(in);
			if (j.value("node", "") == cfg_.node)
				previous_lease_ = j.value("lease", std::int64_t{0});
		} catch (const nlohmann::json::exception &) {
			// Unreadable: a new lease, as on a first start.
		}
	}
	UniqueFd lock = own_instance(o_.instance, [this] {
		state_.last_error = last_error_;
		write_agent_state(o_.instance, state_);
	});
	if (!lock) {
		const auto other = agent_state(o_.instance);
		log_->error("another agent runs for this instance (pid {}); not starting",
			    other ? other->pid : 0);
		return kExitSystem;
	}
	lease_ = 0;
	UniqueFd sig = signal_fd();
	UniqueFd watch = watch_file(file);
	UniqueFd timer = timer_fd(o_.interval_sec);
	log_->info("cluster agent starting: node={} endpoints={} file={} pid={}", cfg_.node,
		   fmt::join(cfg_.etcd.endpoints, ","), state_.file, state_.pid);
	events_.publish(event_now("agent-start", {{"pid", state_.pid},
						  {"file", state_.file},
						  {"node", cfg_.node},
						  {"mode", "cluster"}}));

	// etcd down at start: retried every interval, like every later error;
	// the pinned dataplane forwards on its last state meanwhile.
	bool connected = false;
	// False when etcd refused this identity: retrying would be refused
	// again (the file or the roles are wrong), so the agent stops, exit 2.
	auto try_connect = [&] {
		try {
			connect();
			connected = true;
		} catch (const std::exception &e) {
			if (const auto *refusal = dynamic_cast<const EtcdError *>(&e);
			    refusal && refusal->refused()) {
				log_->error("{}: etcd refuses node {} to this identity (check "
					    "cluster.node, the certificate or user, and its RBAC role)",
					    e.what(), cfg_.node);
				return false;
			}
			stats_.etcd_errors++;
			last_error_ = e.what();
			log_->error("etcd: {}; retrying every {}s", e.what(), o_.interval_sec);
			sync_.reset();
			keepalive_.reset();
			save();
		}
		return true;
	};
	if (!try_connect())
		return kExitSystem;
	const std::string name = file.filename().string();
	for (;;) {
		pollfd fds[8] = {{sig.get(), POLLIN, 0},
				 {wake_.get(), POLLIN, 0},
				 {watch.get(), POLLIN, 0},
				 {timer.get(), POLLIN, 0},
				 {lapse_.get(), POLLIN, 0},
				 {save_timer_.get(), POLLIN, 0},
				 {nexthops_.event_fd(), POLLIN, 0},
				 {nexthops_.alarm_fd(), POLLIN, 0}};
		if (poll(fds, 8, -1) < 0) {
			if (errno == EINTR)
				continue;
			throw SystemError("poll", errno);
		}
		if (fds[0].revents & POLLIN) {
			signalfd_siginfo si{};
			while (::read(sig.get(), &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGHUP) {
					log_->info("{}: stopping; the dataplane and the lease stay",
						   strsignal(static_cast<int>(si.ssi_signo)));
					events_.publish(event_now(
						"agent-stop",
						{{"pid", state_.pid},
						 {"signal", strsignal(static_cast<int>(si.ssi_signo))}}));
					save();
					sync_.reset();
					keepalive_.reset();
					return kExitOk;
				}
		}
		if ((fds[2].revents & POLLIN) && file_event(watch.get(), name)) {
			try {
				AgentConfig next = load_agent_config(o_.file);
				if (next.node != cfg_.node || next.etcd.endpoints != cfg_.etcd.endpoints)
					log_->warn("{}: node and endpoints take effect at restart", o_.file);
				next.node = cfg_.node;
				next.etcd = cfg_.etcd;
				cfg_ = std::move(next);
				log_->info("{} changed: ports re-published", o_.file);
				if (synced_)
					converge("file changed");
			} catch (const ConfigError &e) {
				log_->error("{}; keeping the last good file", e.what());
			}
		}
		if (fds[1].revents & POLLIN) {
			drain(wake_.get());
			if (lease_lost_) {
				log_->warn("lease {:x} lost (expired while etcd was out of reach?): a new one, "
					   "keys published again", lease_);
				try {
					lease_ = client_->grant(cfg_.lease_ttl).id;
					lease_lost_ = false;
					keepalive_ = std::make_unique<KeepAlive>(*client_, lease_, [this] {
						lease_lost_ = true;
						wake();
					});
					published_.clear();
				} catch (const std::exception &e) {
					stats_.etcd_errors++;
					log_->error("lease: {}", e.what());
				}
			}
			// Until the view was read whole once, applying it would
			// take every remote MAC away: nothing is applied before.
			if (connected && !synced_ && sync_->stats().resyncs) {
				synced_ = true;
				converge("synced");
				sync_->inspect([&](const ClusterView &view) {
					log_->info("synced at revision {}: {} node(s), lease {:x}",
						   view.revision(), view.nodes().size(), lease_);
					return 0;
				});
			} else if (synced_) {
				converge("watch");
			}
		}
		if (fds[3].revents & POLLIN) {
			drain(timer.get());
			if (!connected) {
				if (!try_connect())
					return kExitSystem;
			} else if (synced_) {
				converge("timer");
			} else {
				save();
			}
		}
		if (fds[4].revents & POLLIN) {
			drain(lapse_.get());
			if (synced_)
				converge("forwarding pointer lapsed");
		}
		if (fds[5].revents & POLLIN) {
			drain(save_timer_.get());
			save();
		}
		if (fds[6].revents & POLLIN)
			nexthops_.on_events();
		if (fds[7].revents & POLLIN)
			refresh_nexthops_now(*log_, o_.instance, nexthops_);
	}
}

} // namespace

int run_cluster_agent(const ClusterAgentOptions &options)
{
	// Registered: cluster::log() (the library's messages) finds it.
	auto log = make_logger("cluster", {{"instance", options.instance}});
	spdlog::register_logger(log);
	if (!(options.interval_sec >= 0.1))
		throw ConfigError("--interval: at least 0.1 seconds");
	return Agent(options, log).run();
}

} // namespace ovx::cluster
