#include "agent/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/apply.h"
#include "agent/config.h"
#include "agent/events.h"
#include "agent/metrics.h"
#include "agent/file_watch.h"
#include "agent/log.h"
#include "agent/loop_fds.h"
#include "agent/migrate.h"
#include "agent/nexthops.h"
#include "agent/writer_lock.h"
#include "loader/netdev.h"
#include "loader/permissions.h"
#include "maps/error.h"
#include "maps/unique_fd.h"

namespace fs = std::filesystem;

namespace ovx {
namespace {

// More lines than this per cycle and the rest is one summary line: a wiped
// million-entry FDB must not turn into a million log lines.
constexpr int kMaxLinesPerCycle = 20;

std::uint64_t unix_now()
{
	return static_cast<std::uint64_t>(std::time(nullptr));
}

nlohmann::json state_json(const AgentState &s)
{
	return {{"pid", s.pid},
		{"file", s.file},
		{"started", s.started},
		{"last_reconcile", s.last_reconcile},
		{"reconciles", s.reconciles},
		{"applies", s.applies},
		{"repairs", s.repairs},
		{"reclaimed", s.reclaimed},
		{"last_error", s.last_error}};
}

void write_state(const std::string &dir, const AgentState &s)
{
	const std::string path = dir + "/agent.json", tmp = path + ".tmp";
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << state_json(s).dump(2) << '\n';
		if (!out)
			throw SystemError("cannot write " + tmp, errno);
	}
	share_with_readers(tmp, kSharedFileMode);
	if (std::rename(tmp.c_str(), path.c_str()))
		throw SystemError("cannot move " + tmp + " to " + path, errno);
}

UniqueFd open_lock(const std::string &dir)
{
	create_run_dir(dir);
	const std::string path = dir + "/agent.lock";
	int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		throw SystemError("cannot open " + path, errno);
	UniqueFd lock(fd);
	share_with_readers(path, kSharedFileMode); // status tells a live agent by it
	return lock;
}

class Agent {
public:
	Agent(const AgentOptions &o, std::shared_ptr<spdlog::logger> log)
		: o_(o), log_(std::move(log)), dir_(agent_run_dir(o.instance)), events_(o.instance)
	{
		state_.pid = static_cast<int>(getpid());
		state_.file = o.file;
		state_.started = unix_now();
	}

	int run();

private:
	// ports: a port's xdp_features changed (its delivery may move).
	enum class Why { start, reload, timer, ports };
	static const char *why_name(Why w)
	{
		return w == Why::start	  ? "start"
		       : w == Why::reload ? "reload"
		       : w == Why::timer  ? "timer"
					  : "port-change";
	}
	void cycle(Why why);
	// Whether @changed (XdpFeaturesWatch::read) names a port of config_.
	bool names_a_port(const std::set<int> &changed) const
	{
		if (changed.contains(0))
			return config_.has_value();
		if (config_)
			for (const Segment &seg : config_->segments)
				for (const Port &p : seg.ports)
					if (changed.contains(static_cast<int>(if_nametoindex(p.interface.c_str()))))
						return true;
		return false;
	}
	void save()
	{
		try {
			write_state(dir_, state_);
		} catch (const std::exception &e) {
			log_->warn("agent state: {}", e.what());
		}
	}

	AgentOptions o_;
	std::shared_ptr<spdlog::logger> log_;
	NextHopWatch nexthops_;
	XdpFeaturesWatch ports_;
	std::string dir_;
	AgentState state_;
	EventBus events_; // to `ovx monitor`s
	std::optional<Config> config_; // the last good desired state
	std::string file_error_;       // why the file on disk is not config_
	bool applied_ = false;	       // config_ was in place once: later writes are drift
};

void Agent::cycle(Why why)
{
	if (why == Why::reload) {
		try {
			config_ = load_config(o_.file);
			state_.applies++;
			file_error_.clear();
		} catch (const ConfigError &e) {
			file_error_ = e.what();
			log_->error("{}; keeping the last good desired state", e.what());
		}
		Event reload = event_now("agent-reload", {{"pid", state_.pid}, {"file", o_.file}});
		if (!file_error_.empty())
			reload.fields["error"] = file_error_;
		events_.publish(reload);
	}
	// On a timer tick after the state was in place once, nothing was asked
	// to change: whatever reconcile has to write is drift, made behind
	// ovx's back, and is repaired.
	const bool drift = (why == Why::timer || why == Why::ports) && applied_;
	int lines = 0, more = 0;
	std::size_t repairs = 0;
	auto say = [&](spdlog::level::level_enum level, const std::string &text) {
		if (lines++ < kMaxLinesPerCycle)
			log_->log(level, "{}", text);
		else
			more++;
	};
	// Monitors get what the log gets, a line for a line.
	auto repaired = [&](nlohmann::ordered_json what) {
		if (lines < kMaxLinesPerCycle)
			events_.publish(event_now("drift", std::move(what)));
	};
	const WriteObserver observe = [&](const MapWrite &w) {
		if (w.op == MapWrite::Op::reclaim) {
			log_->debug("map={} key={}: aged learned entry reclaimed", w.map, w.key);
			return;
		}
		if (!drift) {
			say(spdlog::level::info, fmt::format("map={} key={}: {}", w.map, w.key,
							     op_name(w.op)));
			return;
		}
		repairs++;
		const char *what = w.op == MapWrite::Op::add	? "missing (deleted behind ovx's back), restored"
				   : w.op == MapWrite::Op::change ? "changed behind ovx's back, restored"
								  : "not in the desired state (added behind ovx's back), removed";
		repaired({{"map", w.map},
			  {"key", w.key},
			  {"found", w.op == MapWrite::Op::add	   ? "missing"
				    : w.op == MapWrite::Op::change ? "changed"
								   : "added"},
			  {"repair", w.op == MapWrite::Op::remove ? "removed" : "restored"}});
		say(spdlog::level::warn, fmt::format("drift: map={} key={}: {}", w.map, w.key, what));
	};
	try {
		const WriterLock writer = WriterLock::take(o_.instance, "ovx agent", true);
		const ApplyResult r = ovx::apply(*config_, o_.instance, observe);
		if (r.nexthops)
			nexthops_.track(*r.nexthops);
		if (r.delivery && (r.delivery->added || r.delivery->removed))
			log_->info("delivery: {} port(s) moved to xdp-redirect, {} to tc ({} by "
				   "xdp-redirect now)",
				   r.delivery->added, r.delivery->removed, r.delivery->xdp.size());
		for (const std::string &hook : r.attached) {
			if (!drift) {
				say(spdlog::level::info, "attached " + hook);
				continue;
			}
			repairs++;
			repaired({{"hook", hook}, {"found", "detached"}, {"repair", "attached"}});
			say(spdlog::level::warn, "drift: " + hook + " was not attached; attached again");
		}
		if (more)
			log_->log(drift ? spdlog::level::warn : spdlog::level::info,
				  "... and {} more entries like these", more);
		if (drift && more)
			events_.publish(event_now("drift", {{"more", more}}));
		if (!drift) {
			Event applied = apply_event("agent", r);
			applied.fields["reason"] = why_name(why);
			events_.publish(applied);
		}
		state_.repairs += drift ? repairs : 0;
		state_.reclaimed += r.maps.learned_reclaimed;
		if (r.maps.learned_reclaimed)
			log_->info("reclaimed {} aged learned FDB entries", r.maps.learned_reclaimed);
		if (drift && repairs)
			log_->warn("repaired {} drifted item(s) (total {})", repairs, state_.repairs);
		else if (!drift)
			log_->info("applied {}: {} added, {} changed, {} removed{}", o_.file,
				   r.maps.added, r.maps.changed, r.maps.removed,
				   r.created		? " (dataplane loaded)"
				   : why == Why::start ? " (adopted the pinned dataplane)"
							: "");
		else
			log_->debug("reconciled: in sync");
		state_.last_error = file_error_;
		applied_ = true;
	} catch (const std::exception &e) {
		// A missing interface (not up yet at boot, renamed) or a refusal:
		// said, and tried again at the next tick.
		state_.last_error = e.what();
		log_->error("apply failed, retrying every {}s: {}", o_.interval_sec, e.what());
		events_.publish(event_now("apply", {{"by", "agent"},
						    {"pid", state_.pid},
						    {"reason", why_name(why)},
						    {"error", e.what()}}));
	}
	state_.reconciles++;
	state_.last_reconcile = unix_now();
	save();
}

int Agent::run()
{
	// The agent's own lock says "an agent owns this instance" for as long
	// as it lives; it is taken under the writer lock, so that a `down`
	// (which removes the agent's directory) cannot run between the two.
	const fs::path file = fs::absolute(o_.file);
	o_.file = state_.file = file.string();
	UniqueFd lock = own_instance(o_.instance, [this] { save(); });
	if (!lock) {
		const auto other = agent_state(o_.instance);
		log_->error("another agent runs for this instance (pid {}); not starting",
			    other ? other->pid : 0);
		return kExitSystem;
	}
	UniqueFd sig = signal_fd();
	UniqueFd watch = watch_file(file);

	log_->info("agent starting: file={} interval={}s pid={}", o_.file, o_.interval_sec,
		   state_.pid);
	events_.publish(event_now("agent-start", {{"pid", state_.pid}, {"file", o_.file}}));
	try {
		config_ = o_.config ? std::move(o_.config) : load_config(o_.file);
		o_.config.reset();
	} catch (const ConfigError &e) {
		log_->error("{}", e.what());
		return kExitInvalid;
	}
	if (o_.upgrade) {
		try {
			const WriterLock writer = WriterLock::take(o_.instance, "ovx agent --upgrade", true);
			if (auto swap = upgrade_instance(o_.instance, false))
				log_->info("programs upgraded: xdp {} -> {}, tc_port {} -> {}, {} TC filter(s) switched",
					   swap->old_xdp_id, swap->new_xdp_id, swap->old_tc_port_id,
					   swap->new_tc_port_id, swap->tc_replaced);
		} catch (const std::exception &e) {
			log_->error("upgrade: {}", e.what());
			return kExitSystem;
		}
	}
	state_.applies++;
	cycle(Why::start);

	UniqueFd timer = timer_fd(o_.interval_sec);
	const std::string name = file.filename().string();
	for (;;) {
		pollfd fds[6] = {{sig.get(), POLLIN, 0},
				 {watch.get(), POLLIN, 0},
				 {timer.get(), POLLIN, 0},
				 {nexthops_.event_fd(), POLLIN, 0},
				 {nexthops_.alarm_fd(), POLLIN, 0},
				 {ports_.fd(), POLLIN, 0}};
		if (poll(fds, 6, -1) < 0) {
			if (errno == EINTR)
				continue;
			throw SystemError("poll", errno);
		}
		if (fds[0].revents & POLLIN) {
			signalfd_siginfo si{};
			bool reload = false;
			while (::read(sig.get(), &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload = true;
					continue;
				}
				log_->info("{}: stopping; the dataplane stays as it is ('ovx down' removes it)",
					   strsignal(static_cast<int>(si.ssi_signo)));
				events_.publish(event_now("agent-stop", {{"pid", state_.pid},
									 {"signal", strsignal(static_cast<int>(si.ssi_signo))}}));
				return kExitOk;
			}
			if (reload) {
				log_->info("SIGHUP: re-reading {}", o_.file);
				cycle(Why::reload);
			}
		}
		if ((fds[1].revents & POLLIN) && file_event(watch.get(), name)) {
			log_->info("{} changed: re-applying", o_.file);
			cycle(Why::reload);
		}
		if (fds[2].revents & POLLIN) {
			drain(timer.get());
			cycle(Why::timer);
		}
		if (fds[3].revents & POLLIN)
			nexthops_.on_events();
		if (fds[4].revents & POLLIN)
			refresh_nexthops_now(*log_, o_.instance, nexthops_);
		if ((fds[5].revents & POLLIN) && names_a_port(ports_.read())) {
			log_->info("a port's xdp_features changed: deciding its delivery again");
			cycle(Why::ports);
		}
	}
}

} // namespace

void write_agent_state(const std::string &instance, const AgentState &s)
{
	write_state(agent_run_dir(instance), s);
}

UniqueFd own_instance(const std::string &instance, const std::function<void()> &announce)
{
	const WriterLock writer = WriterLock::take(instance, "ovx agent", true);
	UniqueFd lock = open_lock(agent_run_dir(instance));
	if (flock(lock.get(), LOCK_EX | LOCK_NB))
		return {};
	announce();
	return lock;
}

std::string agent_run_dir(const std::string &instance)
{
	return run_base_dir() + "/" + instance;
}

std::string cluster_state_path(const std::string &instance)
{
	return agent_run_dir(instance) + "/cluster.json";
}

bool agent_running(const std::string &instance)
{
	// The lock, not agent.json, says whether the agent lives: kill -9
	// leaves the file behind, and an agent in its first apply has not
	// written it yet, but the kernel holds the lock exactly while it runs.
	UniqueFd lock(::open((agent_run_dir(instance) + "/agent.lock").c_str(), O_RDONLY | O_CLOEXEC));
	return lock && flock(lock.get(), LOCK_SH | LOCK_NB) != 0;
}

int run_agent(const AgentOptions &options)
{
	auto log = make_logger(options.instance, {{"instance", options.instance}});
	if (!(options.interval_sec >= 0.1))
		throw ConfigError("--interval: at least 0.1 seconds");
	if (options.metrics_listen.empty())
		return Agent(options, log).run();

	// The exporter reads the pins per scrape, so it serves whatever the
	// agent has applied, and a scrape before the first apply says ovx_up 0.
	block_agent_signals(); // before the server's threads: they inherit it
	MetricsCollector collector(options.instance,
				   std::chrono::milliseconds(
					   static_cast<long long>(options.fdb_interval_sec * 1000)));
	MetricsServer server(collector, parse_listen(options.metrics_listen));
	log->info("serving metrics on http://{}/metrics", options.metrics_listen);
	std::thread serving([&] { server.run(); });
	const int rc = Agent(options, log).run();
	server.stop();
	serving.join();
	return rc;
}

std::optional<AgentState> agent_state(const std::string &instance)
{
	const std::string dir = agent_run_dir(instance);
	std::ifstream in(dir + "/agent.json");
	if (!in)
		return std::nullopt;
	AgentState s;
	try {
		const auto j = nlohmann::json::parse(in);
		s.pid = j.value("pid", 0);
		s.file = j.value("file", "");
		s.started = j.value("started", std::uint64_t{0});
		s.last_reconcile = j.value("last_reconcile", std::uint64_t{0});
		s.reconciles = j.value("reconciles", std::uint64_t{0});
		s.applies = j.value("applies", std::uint64_t{0});
		s.repairs = j.value("repairs", std::uint64_t{0});
		s.reclaimed = j.value("reclaimed", std::uint64_t{0});
		s.last_error = j.value("last_error", "");
	} catch (const nlohmann::json::exception &e) {
		throw SystemError(dir + "/agent.json: unreadable: " + e.what());
	}
	s.running = agent_running(instance);
	return s;
}

void forget_agent(const std::string &instance)
{
	std::error_code ec;
	fs::remove_all(agent_run_dir(instance), ec);
	if (ec)
		throw SystemError("cannot remove " + agent_run_dir(instance) + ": " + ec.message());
	// The parent goes with its last instance.
	fs::remove(fs::path(agent_run_dir(instance)).parent_path(), ec);
}

void refuse_if_agent(const std::string &instance, const std::string &what)
{
	if (!agent_running(instance))
		return;
	const auto s = agent_state(instance);
	throw ConfigError(what + ": instance '" + instance + "' is managed by an agent (pid " +
			  std::to_string(s ? s->pid : 0) + ") from " + (s ? s->file : "its file") +
			  "; edit that file instead (the agent applies it at once), or stop "
			  "the agent first");
}

} // namespace ovx
