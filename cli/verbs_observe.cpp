// The read-side verbs that watch an instance over time: stats (and its
// watch mode), trace, and the metrics exporter.
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
#include "cli/cli.h"
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
	const Dataplane dp = open_existing(instance);
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

struct Options {
	std::string segment;
	bool watch = false;
	double interval = 1.0;
	unsigned count = 0;
	bool drops = false;
	std::string listen = kDefaultListen;
	double fdb_interval = 15.0;
};

void stats(const Options &o, bool json, const std::string &instance);
void trace(const Options &o, bool json, const std::string &instance);
void metrics_serve(const Options &o, bool json, const std::string &instance);

} // namespace

void add_observe_verbs(CLI::App &app, Commands &out)
{
	auto o = std::make_shared<Options>();
	CLI::App *stats_, *trace_, *serve_;

	stats_ = app.add_subcommand("stats", "Per-segment and per-port counters, drops by reason");
	stats_->add_option("--segment", o->segment, "Only this segment (and its ports)");
	stats_->add_flag("--watch", o->watch, "Print per-second rates every interval until stopped");
	stats_->add_option("--interval", o->interval, "Seconds between readings with --watch")
		->check(CLI::Range(0.1, 3600.0));
	stats_->add_option("--count", o->count, "With --watch: stop after this many readings");
	stats_->footer("Example: ovx --netns host1 stats --segment blue-web\n"
		       "Example: ovx --netns host1 stats --watch --interval 2");

	trace_ = app.add_subcommand("trace", "Stream datapath events (drops, forwarding) live");
	trace_->add_option("--segment", o->segment, "Only events of this segment");
	trace_->add_flag("--drops", o->drops, "Only drops (the programs emit nothing else)");
	trace_->add_option("--count", o->count, "Stop after this many events");
	trace_->footer("Events are on only while a trace runs; one trace per instance at a time.\n"
		       "Example: ovx --netns host1 trace --drops");

	CLI::App *metrics = app.add_subcommand("metrics", "Prometheus exporter");
	metrics->require_subcommand(1);
	serve_ = metrics->add_subcommand("serve", "Serve /metrics over HTTP until stopped");
	serve_->add_option("--listen", o->listen,
			   "ADDR:PORT (or PORT) to listen on; loopback unless an address is given. "
			   "0.0.0.0 or [::] expose the counters to every network, without "
			   "authentication (a warning says so)")
		->capture_default_str();
	serve_->add_option("--fdb-interval", o->fdb_interval,
			   "Seconds between FDB counts (a full read of the table)")
		->check(CLI::Range(0.0, 86400.0));
	serve_->footer("Example: ovx --netns host1 metrics serve --listen 127.0.0.1:9587");

	out.push_back({stats_, nullptr, [o](const Globals &g, const std::string &instance) {
			       stats(*o, g.json, instance);
		       }});
	out.back().privilege = Privilege::group;
	out.push_back({trace_, nullptr, [o](const Globals &g, const std::string &instance) {
			       trace(*o, g.json, instance);
		       }});
	out.push_back({serve_, nullptr, [o](const Globals &g, const std::string &instance) {
			       metrics_serve(*o, g.json, instance);
		       }});
	out.back().privilege = Privilege::group;
}

namespace {

void stats(const Options &o, bool json, const std::string &instance)
{
	StateView before = read_stats(instance, o.segment, !o.watch);
	if (!o.watch) {
		if (json)
			std::cout << stats_json(before).dump(2) << '\n';
		else
			print_stats(std::cout, before);
		return;
	}
	catch_stop_signals();
	const bool tty = isatty(STDOUT_FILENO);
	auto at = std::chrono::steady_clock::now();
	for (unsigned n = 0; (!o.count || n < o.count) && sleep_unless_stopped(o.interval); n++) {
		StateView after = read_stats(instance, o.segment, false);
		const auto now = std::chrono::steady_clock::now();
		const double seconds = std::chrono::duration<double>(now - at).count();
		if (json) {
			std::cout << nlohmann::json{{"schema", kStatsWatchSchema},
						    {"rates", rates_json(before, after, seconds)},
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

void trace(const Options &o, bool json, const std::string &instance)
{
	Dataplane dp = open_existing(instance, true); // turns the events on
	std::uint32_t only = 0;
	if (!o.segment.empty()) {
		for (const auto &s : inspect(dp, false).segments)
			if (s.name == o.segment)
				only = s.sid;
		if (!only)
			throw ConfigError("--segment: no segment '" + o.segment + "'");
	}
	catch_stop_signals();
	TraceResolver resolver(dp.tables());
	unsigned printed = 0;
	bool live = false;
	TraceReader reader(dp.tables().trace, [&](const ovx_trace_event &ev) {
		if (!live || (only && ev.segment != only) || (o.drops && ev.kind != OVX_TRACE_DROP) ||
		    (o.count && printed >= o.count))
			return;
		const TraceEventView v = resolver.resolve(ev);
		if (json)
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
	TraceSession session(dp, o.drops);
	std::cerr << "tracing " << (o.drops ? "drops" : "all events") << " of instance " << instance
		  << (o.segment.empty() ? "" : ", segment " + o.segment) << "; Ctrl-C stops\n";
	while (!g_stop && std::cout && (!o.count || printed < o.count))
		reader.poll(200);
}

void metrics_serve(const Options &o, bool json, const std::string &instance)
{
	const ListenAddr listen = parse_listen(o.listen);
	MetricsCollector collector(instance, std::chrono::milliseconds(
						     static_cast<long long>(o.fdb_interval * 1000)));
	MetricsServer server(collector, listen);
	catch_stop_signals();
	const bool v6 = listen.host.find(':') != std::string::npos;
	const std::string url = "http://" + (v6 ? "[" + listen.host + "]" : listen.host) + ":" +
				std::to_string(listen.port) + "/metrics";
	// Said once it listens: a script waits for this line, then scrapes.
	if (json)
		std::cout << nlohmann::json{{"instance", instance}, {"listen", url}}.dump()
			  << std::endl;
	else
		std::cerr << "ovx metrics: serving instance " << instance << " on " << url << '\n';
	std::thread serving([&] { server.run(); });
	while (sleep_unless_stopped(3600)) {
	}
	server.stop();
	serving.join();
}

} // namespace
} // namespace ovx::cli
