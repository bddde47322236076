// Prometheus exposition of an instance's counters: collecting a snapshot
// from the maps, rendering it in the text format (0.0.4), and serving it
// over HTTP. `ovx metrics serve` and `ovx agent --metrics` share all three.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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

// "ADDR:PORT" (IPv6 as "[ADDR]:PORT") -> host and port; ConfigError if bad.
struct ListenAddr {
	std::string host;
	int port = 0;
};
ListenAddr parse_listen(const std::string &listen);

// An HTTP server for GET /metrics on its own threads (cpp-httplib).
class MetricsServer {
public:
	// Binds at once: a busy or bad address is a SystemError here, not later.
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
