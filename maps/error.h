// Control-plane errors and the exit status each one maps to.
#pragma once

#include <stdexcept>
#include <string>

namespace ovx {

enum ExitStatus : int {
	kExitOk = 0,
	kExitInvalid = 1, // usage, the file, or validation: nothing was changed
	kExitSystem = 2,  // the system refused: privileges, BPF, netlink
	kExitChanges = 3, // `ovx apply --dry-run`: applying would change something
};

// Bad input: the file or the command line. Nothing was changed.
class ConfigError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
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
