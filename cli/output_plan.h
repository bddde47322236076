// Rendering of `ovx apply --dry-run` and `--diff`: what an apply would
// change, map by map and hook by hook.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "agent/apply.h"

namespace ovx {

// {"dry_run": true, "changes": bool, "create": bool, "hooks": [...],
//  "maps": {MAP: {"added": [{"key", "new"}], "changed": [{"key", "old",
//  "new"}], "removed": [{"key", "old"}], "reclaimed": [...]}}, "summary"}.
nlohmann::json plan_json(const std::string &path, const std::string &instance,
			 const ApplyPlan &plan);

// Map by map, one line an entry: "+ KEY  FIELD=VALUE ...", "- KEY ...",
// "~ KEY  FIELD: OLD -> NEW" (the fields that differ).
void print_plan(std::ostream &out, const std::string &path, const std::string &instance,
		const ApplyPlan &plan);

// The same as a unified diff between what is applied and @path: a
// "--- MAP (applied)" / "+++ MAP (PATH)" header per map, a changed entry
// as its old line and its new line.
void print_plan_diff(std::ostream &out, const std::string &path, const std::string &instance,
		     const ApplyPlan &plan);

} // namespace ovx
