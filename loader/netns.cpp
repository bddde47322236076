#include "loader/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>

#include "maps/error.h"
#include "maps/unique_fd.h"

namespace ovx {

void enter_netns(const std::string &name)
{
	if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
		throw ConfigError("--netns: invalid namespace name '" + name + "'");
	const std::string path = "/run/netns/" + name;
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd) {
		if (errno == ENOENT)
			throw ConfigError("--netns: no network namespace '" + name +
					  "' (ip netns list)");
		throw SystemError("cannot open " + path, errno);
	}
	if (setns(fd.get(), CLONE_NEWNET)) {
		const int err = errno;
		throw SystemError("cannot enter network namespace " + name +
					  (err == EPERM ? " (--netns needs CAP_SYS_ADMIN; a reader "
							    "without it runs ovx inside the namespace)"
							  : ""),
				  err);
	}
}

} // namespace ovx
