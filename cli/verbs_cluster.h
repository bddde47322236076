// `ovx cluster ...`: the cluster's segments in etcd and what the cluster
// looks like. Through cluster/ only; no BPF, no root needed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>

namespace ovx::cli {

// Registers the verbs on @app. The returned function runs the one the
// command line chose and returns its exit status, or nullopt when another
// verb was chosen. Throws ConfigError / SystemError like the others.
// @json: the global --json.
std::function<std::optional<int>()> add_cluster_verbs(CLI::App &app, const bool &json);

} // namespace ovx::cli
