#include "agent/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

#include "maps/error.h"

namespace ovx {

UniqueFd watch_file(const std::filesystem::path &file)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		throw SystemError("cannot create an inotify instance", errno);
	UniqueFd in(fd);
	const std::string dir = file.parent_path().string();
	if (inotify_add_watch(in.get(), dir.c_str(),
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM) < 0)
		throw SystemError("cannot watch " + dir, errno);
	return in;
}

bool file_event(int inotify_fd, const std::string &name)
{
	alignas(inotify_event) char buf[4096];
	bool hit = false;
	for (;;) {
		ssize_t n = ::read(inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return hit;
		for (char *p = buf; p < buf + n;) {
			auto *ev = reinterpret_cast<inotify_event *>(p);
			if (ev->len && name == ev->name)
				hit = true;
			p += sizeof(inotify_event) + ev->len;
		}
	}
}

} // namespace ovx
