// The cluster room's logger: "cluster" in spdlog's registry. The agent may
// register its own logger under that name before first use; otherwise it
// writes to stderr (stdout is for the CLI's output).
#pragma once

#include <spdlog/spdlog.h>

namespace ovx::cluster {

spdlog::logger &log();

} // namespace ovx::cluster
