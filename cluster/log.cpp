#include "cluster/log.h"

#include "agent/log.h"

namespace ovx::cluster {

spdlog::logger &log()
{
	static const std::shared_ptr<spdlog::logger> logger = [] {
		if (auto existing = spdlog::get("cluster"))
			return existing;
		auto made = make_logger("cluster", {});
		spdlog::register_logger(made);
		return made;
	}();
	return *logger;
}

} // namespace ovx::cluster
