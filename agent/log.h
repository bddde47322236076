// Logging for the agents and the verbs: one place turns --log-level and
// --log-format into loggers, so that file mode, cluster mode and libbpf's
// own messages all write the same lines.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ovx {

struct LogOptions {
	// trace, debug, info, warn, error, off; empty: info, or trace when
	// OVX_DEBUG is set (the variable older releases documented).
	std::string level;
	std::string format = "text"; // text | json
};

// Fields every line of one logger carries: {"instance", "host1"}.
using LogContext = std::vector<std::pair<std::string, std::string>>;

// Checks @o (ConfigError naming the option) and makes it the process's: the
// loggers made afterwards follow it, and libbpf's and libxdp's own notes
// become log lines (kernel extack, probes, dispatcher steps: debug; their
// debug output: trace).
void configure_logging(const LogOptions &o);

// Whether a level was asked for (--log-level or OVX_DEBUG), rather than the
// default.
bool log_level_chosen();

// A logger to stderr (stdout is the verbs' output) in the configured level
// and format. Text: "TIME LEVEL [k=v ...] MESSAGE"; JSON: one object per
// line, {"time", "level", "message", the context's fields}.
std::shared_ptr<spdlog::logger> make_logger(const std::string &name, const LogContext &context);

} // namespace ovx
