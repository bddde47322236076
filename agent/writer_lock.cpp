#include "agent/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "loader/permissions.h"
#include "maps/error.h"

namespace ovx {
namespace {

UniqueFd open_lock_file(const std::string &path)
{
	create_run_dir(std::filesystem::path(path).parent_path());
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (!fd)
		throw SystemError("cannot open " + path, errno);
	return fd;
}

// "pid 1234 (ovx apply)", as the holder wrote it when it took the lock.
std::string holder(int fd)
{
	char buf[160] = {};
	ssize_t n = 0;
	// The first holder of a new file writes it just after taking the lock.
	for (int i = 0; i < 50 && (n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0; i++)
		usleep(1000);
	if (n <= 0)
		return "another process";
	std::string s(buf, static_cast<std::size_t>(n));
	while (!s.empty() && (s.back() == '\n' || s.back() == '\0'))
		s.pop_back();
	return s;
}

} // namespace

void create_run_dir(const std::string &dir)
{
	std::error_code ec;
	const bool made = std::filesystem::create_directories(dir, ec);
	if (ec)
		throw SystemError("cannot create " + dir + ": " + ec.message());
	if (made || std::filesystem::path(dir) == run_base_dir())
		share_with_readers(dir, kSharedDirMode);
}

std::string run_base_dir()
{
	const char *base = std::getenv("OVX_RUN_DIR");
	return base && *base ? base : "/run/ovx";
}

std::string WriterLock::path(const std::string &instance)
{
	return run_base_dir() + "/" + instance + ".lock";
}

WriterLock WriterLock::take(const std::string &instance, const std::string &verb, bool wait)
{
	const std::string file = path(instance);
	UniqueFd fd = open_lock_file(file);
	if (flock(fd.get(), LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK)
			throw SystemError("cannot lock " + file, errno);
		const std::string who = holder(fd.get());
		if (!wait)
			throw SystemError("instance '" + instance + "' is being changed by " + who +
					  "; try again when it is done, or pass --wait");
		std::cerr << "ovx: " << verb << ": waiting for " << who << " (instance '" << instance
			  << "')\n";
		while (flock(fd.get(), LOCK_EX))
			if (errno != EINTR)
				throw SystemError("cannot lock " + file, errno);
	}
	const std::string me = "pid " + std::to_string(getpid()) + " (" + verb + ")\n";
	// Written, then cut to length: a reader never sees the file empty.
	if (pwrite(fd.get(), me.data(), me.size(), 0) < 0 ||
	    ftruncate(fd.get(), static_cast<off_t>(me.size())))
		throw SystemError("cannot write " + file, errno);
	return WriterLock(std::move(fd));
}

bool WriterLock::held(const std::string &instance)
{
	UniqueFd fd(::open(path(instance).c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd)
		return false;
	return flock(fd.get(), LOCK_SH | LOCK_NB) != 0;
}

} // namespace ovx
