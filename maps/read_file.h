// Reading a whole file that may come from anyone: a config, a BPF object.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "maps/unique_fd.h"

namespace ovx {

// What is wrong with the file, without its name ("cannot read: ...",
// "too large ...").
struct FileError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// The contents of the regular file @path, at most @max bytes. Opened
// without blocking (a FIFO waits for no writer) and refused unless regular
// (/dev/zero never ends); a file that grows while read is cut at @max too.
inline std::string read_regular_file(const std::string &path, std::uint64_t max)
{
	const auto cannot = [](const std::string &why) { return FileError("cannot read: " + why); };
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
	struct stat st {};
	if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0)
		throw cannot(std::strerror(errno));
	if (!S_ISREG(st.st_mode))
		throw cannot(std::string("not a regular file (") +
			     (S_ISDIR(st.st_mode)    ? "a directory"
			      : S_ISFIFO(st.st_mode) ? "a FIFO"
			      : S_ISCHR(st.st_mode)  ? "a character device"
			      : S_ISSOCK(st.st_mode) ? "a socket"
						     : "a block device") +
			     ")");
	const FileError too_large("too large (at most " + std::to_string(max) + " bytes)");
	if (static_cast<std::uint64_t>(st.st_size) > max)
		throw too_large;
	std::string text;
	text.reserve(static_cast<std::size_t>(st.st_size)); // one allocation for 50 MB
	char buf[65536];
	for (;;) {
		const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			throw cannot(std::strerror(errno));
		if (n == 0)
			return text;
		if (text.size() + static_cast<std::size_t>(n) > max)
			throw too_large;
		text.append(buf, static_cast<std::size_t>(n));
	}
}

} // namespace ovx
