// `ovx version`, and what is generated from the command definitions
// themselves: bash and zsh completion, the ovx(8) man page. Walking the
// CLI11 app rather than keeping lists means they cannot miss a verb or a
// flag the binary has, nor list one it lacks.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ovx::cli {

// One option, flag or positional of a command.
struct OptionDoc {
	std::vector<std::string> names; // "-f", "--file"; a positional: its name
	bool positional = false;
	bool takes_value = false;
	bool required = false;
	std::string type; // "TEXT", "UINT", ...; empty for a flag
	std::string help;
	std::string envname;
	// What its value names, where a shell can list the candidates cheaply:
	// "file", "instance", "netns", "segment", "interface"; "values" for one
	// of a fixed set (CLI::IsMember), @values; empty otherwise.
	std::string kind;
	std::vector<std::string> values;
	// ovx's own option, which the verbs take after them too (--json).
	bool global = false;
};

// One command: ovx itself (empty path) or a verb ({"fdb", "add"}).
struct CommandDoc {
	std::vector<std::string> path;
	std::string description;
	std::string footer; // its own (examples), not one inherited from ovx
	std::vector<OptionDoc> options;
	std::vector<OptionDoc> positionals;
	std::vector<std::string> subcommands;
	std::vector<std::string> subcommand_help; // beside subcommands

	std::string name() const; // "ovx fdb add"
};

// Every visible command, ovx first, then depth first in definition order.
// Hidden ones (CLI11 group "") are left out, with their subcommands.
std::vector<CommandDoc> describe(const CLI::App &app);

std::string bash_completion(const std::vector<CommandDoc> &commands);
std::string zsh_completion(const std::vector<CommandDoc> &commands);
std::string man_page(const std::vector<CommandDoc> &commands);

// "ovx 0.1.0 (git 40bd7fb-dirty), map ABI v3"
std::string version_line();

// Registers `version` and the hidden `completion` and `man` on @app (the
// latter walk @app once parsing is done, so register them at any point);
// @json: the global --json.
// The returned function runs the one chosen, if any, and returns its exit
// status; it needs neither root nor a kernel.
std::function<std::optional<int>()> add_docs_verbs(CLI::App &app, const bool &json);

} // namespace ovx::cli
