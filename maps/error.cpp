#include "maps/error.h"

#include <cstring>

namespace ovx {
namespace {

std::string located(const Location &at, const std::string &what)
{
	std::string msg = at.file + ":" + std::to_string(at.line) + ":" +
			  std::to_string(at.column) + ": ";
	if (!at.key.empty())
		msg += at.key + ": ";
	return msg + what;
}

} // namespace

ConfigError::ConfigError(Location at, const std::string &what)
	: std::runtime_error(located(at, what)), location_(std::move(at))
{
}

SystemError::SystemError(const std::string &what, int err)
	: std::runtime_error(err ? what + ": " + std::strerror(err) : what), err_(err)
{
}

} // namespace ovx
