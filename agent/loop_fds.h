// What an agent's poll loop waits on besides its own work: signals, a
// periodic timer, and the reading of what they delivered. Shared by the
// file-mode agent (agent/daemon.cpp) and the cluster agent.
#pragma once

#include <csignal>
#include <cstdint>

#include "maps/unique_fd.h"

namespace ovx {

// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread (and in the
// threads it starts later), so that they queue on a signalfd instead of
// killing the process; returns the set.
sigset_t block_agent_signals();

// A signalfd for those signals (blocked by this call).
UniqueFd signal_fd();

// A timerfd that fires every @interval_sec seconds.
UniqueFd timer_fd(double interval_sec);

// A one-shot timerfd, unarmed: see set_alarm().
UniqueFd alarm_fd();
// Arms @fd (from alarm_fd()) to fire at CLOCK_MONOTONIC @at_ns; 0 disarms.
void set_alarm(int fd, std::uint64_t at_ns);

// Reads whatever @fd (a timerfd, an eventfd) has, without blocking.
void drain(int fd);

} // namespace ovx
