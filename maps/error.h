// Control-plane errors and the exit status each one maps to.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace ovx {

enum ExitStatus : int {
	kExitOk = 0,
	kExitInvalid = 1, // usage, the file, or validation: nothing was changed
	kExitSystem = 2,  // the system refused: privileges, BPF, netlink
	kExitChanges = 3, // `ovx apply --dry-run`: applying would change something
};

// Where in a file bad input sits: kept as fields, so that `--json` can hand
// them to scripts (an editor jumping to the line) without parsing them back
// out of the message.
struct Location {
	std::string file;
	int line = 1;	 // 1-based
	int column = 1;	 // 1-based
	std::string key; // "segments[0].id"; empty when the problem is no one key's
};

// Bad input: the file or the command line. Nothing was changed.
class ConfigError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
	// "FILE:LINE:COLUMN: KEY: WHAT"
	ConfigError(Location at, const std::string &what);

	const std::optional<Location> &location() const { return location_; }

private:
	std::optional<Location> location_;
};

// The kernel said no. @err is the errno, when there is one.
class SystemError : public std::runtime_error {
public:
	SystemError(const std::string &what, int err = 0);
	int err() const { return err_; }

private:
	int err_;
};

} // namespace ovx
