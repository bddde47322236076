// The read-side verbs that watch an instance over time: stats (and its
// watch mode), trace, and the metrics exporter.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace ovx::cli {

class ObserveVerbs {
public:
	// Adds the verbs to @app; --json sets @json, which main's error path reads.
	ObserveVerbs(CLI::App &app, bool &json);

	bool parsed() const;
	// Runs the parsed verb in the current namespace.
	void run(const std::string &instance);

private:
	void stats(const std::string &instance);
	void trace(const std::string &instance);
	void metrics_serve(const std::string &instance);

	bool &json_;
	CLI::App *stats_;
	CLI::App *trace_;
	CLI::App *metrics_;
	CLI::App *serve_;
	std::string segment_;
	bool watch_ = false;
	double interval_ = 1.0;
	unsigned count_ = 0;
	bool drops_ = false;
	std::string listen_;
	double fdb_interval_ = 15.0;
};

} // namespace ovx::cli
