#include "cli/verbs_observe.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "agent/inspect.h"
#include "agent/metrics.h"
#include "agent/trace.h"
#include "cli/output.h"
#include "maps/error.h"
#include "maps/trace.h"

namespace ovx::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int)
{
	g_stop = 1;
}

// The long-running verbs end cleanly on SIGINT/SIGTERM/SIGHUP, and on
// SIGPIPE (`ovx trace | head`): trace must turn the programs' events off
// again, which a default signal death would skip. No SA_RESTART, so a
// blocking wait returns at once.
void catch_stop_signals()
{
	struct sigaction sa {};
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE})
		sigaction(sig, &sa, nullptr);
}

// Sleeps @seconds unless a stop signal comes first; false then.
bool sleep_unless_stopped(double seconds)
{
	const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
	while (!g_stop && std::chrono::steady_clock::now() < until)
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	return !g_stop;
}

// @fill: FDB entries per segment and map fill levels too (a read of the
// whole FDB: for one reading, not for every interval of --watch).
StateView read_stats(const std::string &instance, const std::string &segment, bool fill)
{
	const Dataplane dp = open_applied(instance);
	auto state = inspect(dp, false);
	if (fill)
		add_fill(state, dp.tables(), count_fdb(dp.tables()));
	if (segment.empty())
		return state;
	std::erase_if(state.segments, [&](const auto &s) { return s.name != segment; });
	if (state.segments.empty())
		throw ConfigError("--segment: no segment '" + segment + "'");
	std::erase_if(state.ports, [&](const auto &p) { return p.segment != segment; });
	return state;
}

} // namespace

ObserveVerbs::ObserveVerbs(CLI::App &app, bool &json) : json_(json)
{
	stats_ = app.add_subcommand("stats", "Per-segment and per-port counters, drops by reason");
	stats_->add_flag("--json", json_, "JSON output (one object per reading with --watch)");
	stats_->add_option("--segment", segment_, "Only this segment (and its ports)");
	stats_->add_flag("--watch", watch_, "Print per-second rates every interval until stopped");
	stats_->add_option("--interval", interval_, "Seconds between readings with --watch")
		->check(CLI::Range(0.1, 3600.0));
	stats_->add_option("--count", count_, "With --watch: stop after this many readings");
	stats_->footer("Examples: ovx --netns host1 stats --segment blue-web\n"
		       "          ovx --netns host1 stats --watch --interval 2");

	trace_ = app.add_subcommand("trace", "Stream datapath events (drops, forwarding) live");
	trace_->add_option("--segment", segment_, "Only events of this segment");
	trace_->add_flag("--drops", drops_, "Only drops (the programs emit nothing else)");
	trace_->add_flag("--json", json_, "One JSON object per event");
	trace_->add_option("--count", count_, "Stop after this many events");
	trace_->footer("Events are on only while a trace runs; one trace per instance at a time.\n"
		       "Example: ovx --netns host1 trace --drops");

	metrics_ = app.add_subcommand("metrics", "Prometheus exporter");
	metrics_->require_subcommand(1);
	serve_ = metrics_->add_subcommand("serve", "Serve /metrics over HTTP until stopped");
	serve_->add_option("--listen", listen_, "ADDR:PORT to listen on, e.g. 127.0.0.1:9587")
		->required();
	serve_->add_option("--fdb-interval", fdb_interval_,
			   "Seconds between FDB counts (a full read of the table)")
		->check(CLI::Range(0.0, 86400.0));
	serve_->footer("Example: ovx --netns host1 metrics serve --listen 127.0.0.1:9587");
}

bool ObserveVerbs::parsed() const
{
	return stats_->parsed() || trace_->parsed() || metrics_->parsed();
}

void ObserveVerbs::run(const std::string &instance)
{
	if (stats_->parsed())
		stats(instance);
	else if (trace_->parsed())
		trace(instance);
	else if (serve_->parsed())
		metrics_serve(instance);
}

void ObserveVerbs::stats(const std::string &instance)
{
	StateView before = read_stats(instance, segment_, !watch_);
	if (!watch_) {
		if (json_)
			std::cout << stats_json(before).dump(2) << '\n';
		else
			print_stats(std::cout, before);
		return;
	}
	catch_stop_signals();
	const bool tty = isatty(STDOUT_FILENO);
	auto at = std::chrono::steady_clock::now();
	for (unsigned n = 0; (!count_ || n < count_) && sleep_unless_stopped(interval_); n++) {
		StateView after = read_stats(instance, segment_, false);
		const auto now = std::chrono::steady_clock::now();
		const double seconds = std::chrono::duration<double>(now - at).count();
		if (json_) {
			std::cout << nlohmann::json{{"rates", rates_json(before, after, seconds)},
						    {"totals", stats_json(after)}}
					     .dump()
				  << std::endl;
		} else {
			if (tty)
				std::cout << "\033[H\033[2J"; // like watch(1): one screen
			char head[160];
			std::snprintf(head, sizeof(head),
				      "instance %s, per second over %.2f s (Ctrl-C stops)\n",
				      instance.c_str(), seconds);
			std::cout << head;
			print_rates(std::cout, before, after, seconds);
			std::cout << std::endl;
		}
		if (!std::cout)
			return; // the reader went away
		before = std::move(after);
		at = now;
	}
}

void ObserveVerbs::trace(const std::string &instance)
{
	Dataplane dp = open_applied(instance);
	std::uint32_t only = 0;
	if (!segment_.empty()) {
		for (const auto &s : inspect(dp, false).segments)
			if (s.name == segment_)
				only = s.sid;
		if (!only)
			throw ConfigError("--segment: no segment '" + segment_ + "'");
	}
	catch_stop_signals();
	TraceResolver resolver(dp.tables());
	unsigned printed = 0;
	bool live = false;
	TraceReader reader(dp.tables().trace, [&](const ovx_trace_event &ev) {
		if (!live || (only && ev.segment != only) || (drops_ && ev.kind != OVX_TRACE_DROP) ||
		    (count_ && printed >= count_))
			return;
		const TraceEventView v = resolver.resolve(ev);
		if (json_)
			std::cout << trace_json(v).dump() << '\n';
		else
			print_trace(std::cout, v);
		std::cout.flush();
		printed++;
	});
	// What an earlier trace left unread in the ring is not this trace's.
	reader.poll(0);
	live = true;
	// Events flow from here until the session ends, whatever ends it.
	TraceSession session(dp, drops_);
	std::cerr << "tracing " << (drops_ ? "drops" : "all events") << " of instance " << instance
		  << (segment_.empty() ? "" : ", segment " + segment_) << "; Ctrl-C stops\n";
	while (!g_stop && std::cout && (!count_ || printed < count_))
		reader.poll(200);
}

void ObserveVerbs::metrics_serve(const std::string &instance)
{
	const ListenAddr listen = parse_listen(listen_);
	MetricsCollector collector(instance, std::chrono::milliseconds(
						     static_cast<long long>(fdb_interval_ * 1000)));
	MetricsServer server(collector, listen);
	catch_stop_signals();
	std::cerr << "ovx metrics: serving instance " << instance << " on http://" << listen_
		  << "/metrics\n";
	std::thread serving([&] { server.run(); });
	while (sleep_unless_stopped(3600)) {
	}
	server.stop();
	serving.join();
}

} // namespace ovx::cli
