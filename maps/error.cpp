#include "maps/error.h"

#include <cstring>

namespace ovx {

SystemError::SystemError(const std::string &what, int err)
	: std::runtime_error(err ? what + ": " + std::strerror(err) : what), err_(err)
{
}

} // namespace ovx
