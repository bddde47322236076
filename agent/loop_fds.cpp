#include "agent/loop_fds.h"

#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "maps/error.h"

namespace ovx {

sigset_t block_agent_signals()
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, nullptr))
		throw SystemError("cannot block signals", errno);
	return set;
}

UniqueFd signal_fd()
{
	const sigset_t set = block_agent_signals();
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		throw SystemError("cannot create a signalfd", errno);
	return UniqueFd(fd);
}

UniqueFd alarm_fd()
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		throw SystemError("cannot create a timerfd", errno);
	return UniqueFd(fd);
}

void set_alarm(int fd, std::uint64_t at_ns)
{
	itimerspec its{};
	its.it_value = {static_cast<time_t>(at_ns / 1000000000), static_cast<long>(at_ns % 1000000000)};
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, nullptr))
		throw SystemError("cannot arm the timer", errno);
}

UniqueFd timer_fd(double interval_sec)
{
	UniqueFd timer = alarm_fd();
	const auto sec = static_cast<time_t>(interval_sec);
	const auto nsec = static_cast<long>((interval_sec - static_cast<double>(sec)) * 1e9);
	itimerspec its{};
	its.it_interval = {sec, nsec};
	its.it_value = its.it_interval;
	if (timerfd_settime(timer.get(), 0, &its, nullptr))
		throw SystemError("cannot arm the timer", errno);
	return timer;
}

void drain(int fd)
{
	std::uint64_t buf[16];
	while (::read(fd, buf, sizeof(buf)) > 0) {
	}
}

} // namespace ovx
