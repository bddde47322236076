#include "cluster/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace ovx::cluster {

spdlog::logger &log()
{
	static const std::shared_ptr<spdlog::logger> logger = [] {
		if (auto existing = spdlog::get("cluster"))
			return existing;
		return spdlog::stderr_color_mt("cluster");
	}();
	return *logger;
}

} // namespace ovx::cluster
