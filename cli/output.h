// Rendering of read commands: aligned text for people, JSON for scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "agent/apply.h"
#include "agent/inspect.h"
#include "agent/trace.h"

namespace ovx {

// The versions of the documented outputs (docs/schema/): the number moves
// only when a field goes or changes its meaning; new fields keep it.
inline constexpr const char *kShowSchema = "ovx.show/1";
inline constexpr const char *kStatsSchema = "ovx.stats/1";
inline constexpr const char *kStatsWatchSchema = "ovx.stats-watch/1";

nlohmann::json show_json(const StateView &state);
nlohmann::json segment_json(const SegmentView &segment);
nlohmann::json port_json(const PortView &port);
nlohmann::json fdb_json(const FdbView &entry);
void print_segment(std::ostream &out, const SegmentView &segment);
void print_fdb(std::ostream &out, const FdbView &entry);
nlohmann::json stats_json(const StateView &state);
nlohmann::json apply_json(const ApplyResult &result);
// The desired state with the file's keys: a file apply reads (JSON is YAML).
void print_show(std::ostream &out, const StateView &state);
void print_stats(std::ostream &out, const StateView &state);
// Per-second rates between two readings @seconds apart (watch mode).
nlohmann::json rates_json(const StateView &before, const StateView &after, double seconds);
void print_rates(std::ostream &out, const StateView &before, const StateView &after,
		 double seconds);
nlohmann::json trace_json(const TraceEventView &event);
void print_trace(std::ostream &out, const TraceEventView &event);
void print_apply(std::ostream &out, const std::string &path, const ApplyResult &result);

} // namespace ovx
