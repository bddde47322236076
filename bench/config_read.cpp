// Seconds `ovx apply` spends reading and validating a desired-state file
// (load_config alone, no dataplane): bench/apply_scale.sh splits an apply's
// wall time into this and the rest.
//
//   ovx_config_read FILE     # prints: seconds remotes
#include <chrono>
#include <cstdio>
#include <exception>

#include "agent/config.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 1;
	}
	try {
		const auto t0 = std::chrono::steady_clock::now();
		const ovx::Config config = ovx::load_config(argv[1]);
		const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
		std::size_t remotes = 0;
		for (const ovx::Segment &s : config.segments)
			remotes += s.remotes.size();
		std::printf("%.3f %zu\n", took.count(), remotes);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "%s\n", e.what());
		return 1;
	}
	return 0;
}
