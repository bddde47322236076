// `ovx offload ...`: the rule checker and the NIC (hardware-mode) path.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

#include "cli/cli.h"

namespace ovx::cli {

// Registers the verbs on @app. The returned function runs the one the
// command line chose (in @g's netns when it is set; @instance names the
// instance once parsing is done) and returns its exit status, or nullopt
// when another verb was chosen. It throws ConfigError / SystemError like
// the others.
std::function<std::optional<int>()> add_offload_verbs(CLI::App &app, const Globals &g,
						      std::function<std::string()> instance);

} // namespace ovx::cli
