// Prometheus exposition of an instance's counters: collecting a snapshot
// from the maps, rendering it in the text format (0.0.4), and serving it
// over HTTP. `ovx metrics serve` and `ovx agent --metrics` share all three.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/daemon.h"
#include "agent/inspect.h"

namespace ovx {

inline constexpr const char *kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct MetricsSnapshot {
	bool up = false; // the instance's dataplane is pinned and was read
	StateView state; // with add_fill() done
	FdbCensus fdb;
	double fdb_age_sec = 0;
	// A cluster-mode agent's report (agent/daemon.h cluster_state_path);
	// null in file mode.
	nlohmann::json cluster;
	// What the instance's agent (either mode) last wrote about itself;
	// nullopt when none ever ran.
	std::optional<AgentState> agent;
};

// The text format: HELP and TYPE for every family, labels escaped.
std::string render_metrics(const MetricsSnapshot &snapshot);

// Reads an instance for each scrape; the pins are opened every time so that
// an `ovx down` / `apply` between scrapes is followed. Thread-safe.
class MetricsCollector {
public:
	MetricsCollector(std::string instance, std::chrono::milliseconds fdb_refresh);

	MetricsSnapshot collect();
	std::string scrape() { return render_metrics(collect()); }
	// The same from a dataplane at hand (tests and benchmarks load theirs
	// unpinned).
	MetricsSnapshot collect(const Dataplane &dp);

private:
	std::string instance_;
	std::chrono::milliseconds fdb_refresh_;
	std::mutex mu_;
	FdbCensus census_;
	std::chrono::steady_clock::time_point census_at_{};
	bool have_census_ = false;
};

// Where the exporter listens. The counters name tenants, segments and
// interfaces and there is no authentication, so the default is loopback.
struct ListenAddr {
	std::string host; // a numeric address
	int port = 0;
	bool loopback() const;
};
inline constexpr const char *kDefaultListen = "127.0.0.1:9587";
// "ADDR:PORT" (IPv6 as "[ADDR]:PORT"; ADDR numeric) or ":PORT" / "PORT" for
// 127.0.0.1; ConfigError if bad. 0.0.0.0 and :: are taken when written.
ListenAddr parse_listen(const std::string &listen);

// An HTTP server for GET /metrics on its own threads (cpp-httplib), that
// holds out against clients other than Prometheus: request bodies are
// refused unread (413), a request head is at most kMaxRequestHead bytes and
// must arrive within kRequestHeadTime (kBusyRequestHeadTime of the accept
// while others wait for a worker), a response within kResponseTime; when
// every worker is busy, a new connection closes the oldest one still
// sending its request, so slow clients cannot starve a scrape. A listener
// beyond loopback is warned about on stderr.
class MetricsServer {
public:
	static constexpr std::size_t kWorkers = 16;
	static constexpr std::size_t kMaxRequestHead = 16384;
	static constexpr std::chrono::seconds kRequestHeadTime{5};
	static constexpr std::chrono::milliseconds kBusyRequestHeadTime{500};
	static constexpr std::chrono::seconds kResponseTime{30};
	static constexpr int kRequestsPerConnection = 10;

	// Binds at once: a busy or bad address is a SystemError here, not later.
	// Port 0 takes any free port (see port()).
	MetricsServer(MetricsCollector &collector, const ListenAddr &listen);
	~MetricsServer();
	MetricsServer(const MetricsServer &) = delete;
	MetricsServer &operator=(const MetricsServer &) = delete;

	int port() const { return port_; }
	// Serves until stop() is called from another thread; stop() waits for
	// run() to have started, so call it only once run() is on its way.
	void run();
	void stop();

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
	int port_ = 0;
};

} // namespace ovx
