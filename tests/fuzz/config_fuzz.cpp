// libFuzzer: the config reader on any bytes. Besides ASan and UBSan, the
// invariants: the only error is a ConfigError, it points at FILE:LINE:COLUMN
// and its size is bounded whatever the file holds.
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <string>

#include "agent/config.h"
#include "maps/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	static const std::regex located(R"(^fuzz\.yaml:[0-9]+:[0-9]+: .*)");
	try {
		ovx::parse_config(std::string(reinterpret_cast<const char *>(data), size), "fuzz.yaml");
	} catch (const ovx::ConfigError &e) {
		const std::string what = e.what();
		// The longest message names a path of six levels, three values
		// and the list of allowed keys, each value cut at 64 characters.
		if (what.size() > 1024 || !std::regex_match(what, located))
			std::abort();
	}
	return 0;
}
