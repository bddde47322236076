#include "agent/log.h"

#include <bpf/libbpf.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <xdp/libxdp.h>

#include <nlohmann/json.hpp>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "maps/error.h"

namespace ovx {
namespace {

LogOptions g_options;

spdlog::level::level_enum level_of(const std::string &name)
{
	static const std::pair<const char *, spdlog::level::level_enum> levels[] = {
		{"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
		{"info", spdlog::level::info},	 {"warn", spdlog::level::warn},
		{"error", spdlog::level::err},	 {"off", spdlog::level::off},
	};
	const std::string chosen =
		!name.empty() ? name : std::getenv("OVX_DEBUG") ? "trace" : "info";
	for (const auto &[n, level] : levels)
		if (chosen == n)
			return level;
	throw ConfigError("--log-level: unknown level '" + chosen +
			  "' (trace, debug, info, warn, error, off)");
}

// One JSON object per line: what log shippers (journald's JSON export,
// Vector, Fluent Bit) take without a parsing rule.
class JsonFormatter : public spdlog::formatter {
public:
	explicit JsonFormatter(LogContext context) : context_(std::move(context)) {}

	void format(const spdlog::details::log_msg &msg, spdlog::memory_buf_t &dest) override
	{
		const auto since = msg.time.time_since_epoch();
		const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
		const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
		std::tm tm{};
		gmtime_r(&secs, &tm);
		char date[32], time[48];
		std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		std::snprintf(time, sizeof(time), "%s.%03dZ", date, static_cast<int>(ms));
		const auto level = spdlog::level::to_string_view(msg.level);
		nlohmann::ordered_json j = {{"time", time},
					    {"level", std::string(level.data(), level.size())},
					    {"message", std::string(msg.payload.data(), msg.payload.size())}};
		for (const auto &[k, v] : context_)
			j[k] = v;
		// Invalid UTF-8 (an interface name is bytes) is replaced, not fatal.
		const std::string line =
			j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + '\n';
		dest.append(line.data(), line.data() + line.size());
	}

	std::unique_ptr<spdlog::formatter> clone() const override
	{
		return std::make_unique<JsonFormatter>(context_);
	}

private:
	LogContext context_;
};

std::string text_pattern(const LogContext &context)
{
	std::string fields;
	for (const auto &[k, v] : context)
		fields += (fields.empty() ? "[" : " ") + k + "=" + v;
	std::string pattern = "%Y-%m-%dT%H:%M:%S.%e %l ";
	// '%' is the pattern's escape.
	for (const char c : fields.empty() ? fields : fields + "] ")
		pattern += c == '%' ? std::string("%%") : std::string(1, c);
	return pattern + "%v";
}

// libbpf's and libxdp's messages, one line each: noise next to ovx's own
// messages, which say what failed and where. Their warnings and notes
// (kernel extack, probe results, the dispatcher's fallbacks) are debug
// lines; their own debug output (ELF sections, relocations: hundreds of
// lines per load) is trace.
struct LibraryLoggers {
	std::shared_ptr<spdlog::logger> libbpf, libxdp;
};
LibraryLoggers g_library;

int library_print(spdlog::logger *log, bool debug, const char *fmt, va_list args)
{
	const auto level = debug ? spdlog::level::trace : spdlog::level::debug;
	if (!log || !log->should_log(level))
		return 0;
	char buf[1024];
	const int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
	std::string_view text(buf, n < 0 ? 0 : std::min<std::size_t>(n, sizeof(buf) - 1));
	while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
		text.remove_suffix(1);
	if (!text.empty())
		log->log(level, "{}", text);
	return n;
}

int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return library_print(g_library.libbpf.get(), level == LIBBPF_DEBUG, fmt, args);
}

int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list args)
{
	return library_print(g_library.libxdp.get(), level == LIBXDP_DEBUG, fmt, args);
}

} // namespace

void configure_logging(const LogOptions &o)
{
	level_of(o.level);
	if (o.format != "text" && o.format != "json")
		throw ConfigError("--log-format: unknown format '" + o.format + "' (text, json)");
	g_options = o;
	g_library = {make_logger("libbpf", {{"source", "libbpf"}}),
		     make_logger("libxdp", {{"source", "libxdp"}})};
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

bool log_level_chosen()
{
	return !g_options.level.empty() || std::getenv("OVX_DEBUG");
}

std::shared_ptr<spdlog::logger> make_logger(const std::string &name, const LogContext &context)
{
	auto log = std::make_shared<spdlog::logger>(
		name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
	if (g_options.format == "json")
		log->set_formatter(std::make_unique<JsonFormatter>(context));
	else
		log->set_formatter(std::make_unique<spdlog::pattern_formatter>(text_pattern(context)));
	log->set_level(level_of(g_options.level));
	log->flush_on(spdlog::level::trace);
	return log;
}

} // namespace ovx
