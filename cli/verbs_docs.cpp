// version, and the hidden completion and man: what ovx says about itself.
// None needs root, a kernel or an instance.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/docs.h"
#include "maps/error.h"
#include "maps/ovx_abi.h"
#include "ovx_version.h"

namespace ovx::cli {

std::string version_line()
{
	return "ovx " OVX_BUILD_VERSION " (git " OVX_BUILD_GIT "), map ABI v" +
	       std::to_string(OVX_ABI_VERSION);
}

std::function<std::optional<int>()> add_docs_verbs(CLI::App &app, const bool &json)
{
	auto *version = app.add_subcommand("version", "Print ovx's version, git revision and map ABI");
	version->footer("Example: ovx version --json");

	// Hidden: the build writes their output to build/completion/ and
	// build/man/, and the package installs it from there.
	auto shell = std::make_shared<std::string>();
	auto *completion = app.add_subcommand("completion", "Print a shell completion script");
	completion->group("");
	completion->add_option("shell", *shell, "bash or zsh")
		->required()
		->check(CLI::IsMember({"bash", "zsh"}));
	auto *man = app.add_subcommand("man", "Print the ovx(8) manual page (roff)");
	man->group("");

	return [&app, &json, version, completion, man, shell]() -> std::optional<int> {
		if (version->parsed()) {
			if (json)
				std::cout << nlohmann::json{{"version", OVX_BUILD_VERSION},
							    {"git", OVX_BUILD_GIT},
							    {"abi", OVX_ABI_VERSION}}
						     .dump()
					  << '\n';
			else
				std::cout << version_line() << '\n';
			return kExitOk;
		}
		if (completion->parsed()) {
			const auto commands = describe(app);
			std::cout << (*shell == "bash" ? bash_completion(commands)
						       : zsh_completion(commands));
			return kExitOk;
		}
		if (man->parsed()) {
			std::cout << man_page(describe(app));
			return kExitOk;
		}
		return std::nullopt;
	};
}

} // namespace ovx::cli
