// The imperative verbs (`ovx segment|port|fdb|flood add|del`): edits of the
// desired state an instance's maps hold, each validated like a file and then
// applied all or nothing by the same path as `ovx apply`.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/apply.h"
#include "agent/config.h"
#include "loader/dataplane.h"

namespace ovx {

// What the instance's maps say it was asked for: the file that would apply
// to exactly this (learned entries aside). Imperative verbs edit it; `ovx
// export` prints it so that an operator can turn it into the agent's file.
Config current_config(const Dataplane &dp);

// @config as a desired-state file that load_config() reads back equal.
std::string to_yaml(const Config &config);
// The one layout of a Config as a file, keys in the file's order: to_yaml
// writes it as YAML, `ovx export --json` as JSON (apply reads both).
nlohmann::ordered_json config_tree(const Config &config);

// Edits of a Config; each throws ConfigError when the edit makes no sense
// (no such segment, already there, still in use).
// segment_add() takes a segment without members: ports, flood list and
// remotes come with their own verbs.
void segment_add(Config &config, const Segment &segment);
void segment_del(Config &config, const std::string &name);
void port_add(Config &config, const std::string &segment, const std::string &interface,
	      const std::string &mac);
void port_del(Config &config, const std::string &interface);
void fdb_add(Config &config, const std::string &segment, const std::string &mac,
	     const std::string &vtep);
void fdb_del(Config &config, const std::string &segment, const std::string &mac);
void flood_add(Config &config, const std::string &segment, const std::string &vtep);
void flood_del(Config &config, const std::string &segment, const std::string &vtep);

// Reads the instance's current Config, lets @edit change it, validates the
// result with the file's own rules (named after @verb in messages), and
// applies it. Nothing changes when any step fails.
ApplyResult edit_instance(const std::string &instance, const std::string &verb,
			  const std::function<void(Config &)> &edit);

} // namespace ovx
