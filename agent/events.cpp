#include "agent/events.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "agent/apply.h"
#include "agent/daemon.h"

namespace fs = std::filesystem;

namespace ovx {
namespace {

// Room for a burst (a cycle's drift repairs) while a monitor is slow: a
// small message takes about 1 KB of the sender's buffer.
constexpr int kSendBuffer = 1 << 20;

std::string iso_time(std::uint64_t unix_ms)
{
	const std::time_t sec = static_cast<std::time_t>(unix_ms / 1000);
	std::tm tm{};
	gmtime_r(&sec, &tm);
	char buf[80];
	std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		      static_cast<unsigned>(unix_ms % 1000));
	return buf;
}

std::optional<std::uint64_t> parse_iso_time(const std::string &s)
{
	std::tm tm{};
	unsigned ms = 0;
	char z = 0;
	if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3u%c", &tm.tm_year, &tm.tm_mon,
			&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z) != 8 ||
	    z != 'Z')
		return std::nullopt;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return static_cast<std::uint64_t>(timegm(&tm)) * 1000 + ms;
}

// A value as key=value shows it: quoted when it has spaces or quotes.
std::string text_value(const nlohmann::ordered_json &v)
{
	if (!v.is_string())
		return v.dump();
	const std::string &s = v.get_ref<const std::string &>();
	if (!s.empty() && s.find_first_of(" \"=") == std::string::npos)
		return s;
	return v.dump();
}

} // namespace

std::uint64_t unix_ms_now()
{
	return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
						  std::chrono::system_clock::now().time_since_epoch())
						  .count());
}

Event event_now(std::string kind, nlohmann::ordered_json fields)
{
	return Event{std::move(kind), unix_ms_now(), std::move(fields)};
}

Event apply_event(const std::string &by, const ApplyResult &r)
{
	return event_now("apply", {{"by", by},
				   {"pid", static_cast<int>(getpid())},
				   {"added", r.maps.added},
				   {"changed", r.maps.changed},
				   {"removed", r.maps.removed}});
}

Event down_event(const std::string &by)
{
	return event_now("down", {{"by", by}, {"pid", static_cast<int>(getpid())}});
}

std::string event_json(const Event &e)
{
	nlohmann::ordered_json j = {{"time", iso_time(e.unix_ms)}, {"event", e.kind}};
	for (const auto &[k, v] : e.fields.items())
		j[k] = v;
	return j.dump();
}

std::string event_text(const Event &e)
{
	std::string out = iso_time(e.unix_ms) + " " + e.kind;
	const auto &f = e.fields;
	auto str = [&](const char *key) {
		const auto it = f.find(key);
		return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
	};
	// FDB events read like `bridge monitor fdb`: who, then where.
	if (f.contains("segment"))
		out += " " + str("tenant") + "/" + str("segment");
	if (f.contains("mac"))
		out += " " + str("mac");
	for (const char *where : {"vtep", "port"})
		if (f.contains(where))
			out += std::string(" ") + where + " " + str(where);
	for (const auto &[k, v] : f.items())
		if (k != "segment" && k != "tenant" && k != "mac" && k != "vtep" && k != "port")
			out += " " + k + "=" + text_value(v);
	return out;
}

std::optional<Event> parse_event(std::string_view json)
{
	const auto j = nlohmann::ordered_json::parse(json, nullptr, false);
	if (!j.is_object() || !j.contains("event") || !j["event"].is_string() ||
	    !j.contains("time") || !j["time"].is_string())
		return std::nullopt;
	const auto when = parse_iso_time(j["time"].get<std::string>());
	if (!when)
		return std::nullopt;
	Event e{j["event"].get<std::string>(), *when, nlohmann::ordered_json::object()};
	for (const auto &[k, v] : j.items())
		if (k != "time" && k != "event")
			e.fields[k] = v;
	return e;
}

std::string monitor_dir(const std::string &instance)
{
	return agent_run_dir(instance) + "/monitors";
}

void EventBus::connect_new()
{
	std::error_code ec;
	for (fs::directory_iterator it(monitor_dir(instance_), ec), end; !ec && it != end;
	     it.increment(ec)) {
		const std::string path = it->path().string();
		if (it->path().extension() != ".sock" || peers_.contains(path))
			continue;
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		if (path.size() >= sizeof(sa.sun_path))
			continue;
		std::memcpy(sa.sun_path, path.c_str(), path.size());
		UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (!fd)
			return;
		// Beyond wmem_max when the writer may (CAP_NET_ADMIN): the agent.
		if (setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &kSendBuffer, sizeof(kSendBuffer)))
			setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof(kSendBuffer));
		if (::connect(fd.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) == 0) {
			peers_.emplace(path, Peer{std::move(fd), 0});
			continue;
		}
		// Nobody listens: a monitor killed before it could remove its
		// socket (monitors bind under another name and rename once they
		// listen, so this is never one starting up).
		if (errno == ECONNREFUSED)
			::unlink(path.c_str());
		// EAGAIN: its queue of connections is full (it does not accept);
		// tried again with the next event, which it misses meanwhile.
	}
}

void EventBus::publish(const Event &e)
{
	connect_new();
	const std::string plain = event_json(e);
	for (auto it = peers_.begin(); it != peers_.end();) {
		Peer &p = it->second;
		std::string with_lost;
		if (p.lost) {
			Event counted = e;
			counted.fields["lost"] = p.lost;
			with_lost = event_json(counted);
		}
		const std::string &msg = p.lost ? with_lost : plain;
		if (::send(p.fd.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			p.lost = 0;
			++it;
		} else if (errno == EAGAIN || errno == ENOBUFS) {
			p.lost++;
			dropped_++;
			++it;
		} else {
			it = peers_.erase(it); // the monitor ended
		}
	}
}

} // namespace ovx
