#include "agent/monitor.h"

#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "agent/config.h"
#include "agent/desired.h"
#include "agent/loop_fds.h"
#include "agent/reconcile.h"
#include "loader/dataplane.h"
#include "loader/netdev.h"
#include "maps/error.h"

namespace fs = std::filesystem;

namespace ovx {
namespace {

std::uint64_t pack(const ovx_fdb_key &k)
{
	std::uint64_t v = static_cast<std::uint64_t>(k.segment & 0xffff) << 48;
	for (int i = 0; i < 6; i++)
		v |= static_cast<std::uint64_t>(k.mac[i]) << (40 - 8 * i);
	return v;
}

ovx_fdb_key unpack(std::uint64_t v)
{
	ovx_fdb_key k{};
	k.segment = static_cast<std::uint32_t>(v >> 48);
	for (int i = 0; i < 6; i++)
		k.mac[i] = static_cast<std::uint8_t>(v >> (40 - 8 * i));
	return k;
}

bool expired_at(std::uint64_t seen_ns, std::uint32_t aging_sec, std::uint64_t now_ns)
{
	return aging_sec && now_ns > seen_ns && now_ns - seen_ns > aging_sec * 1000000000ull;
}

} // namespace

std::vector<Event> FdbWatch::update(const std::map<std::uint32_t, FdbSegment> &segments,
				    const Scan &scan, std::uint64_t now_ns, std::uint64_t unix_ms)
{
	const bool baseline = generation_++ == 0;
	std::vector<Event> out;
	// The new event's fields, for the caller to add to.
	auto event = [&](const char *kind, std::uint64_t key, const Seen &where) -> nlohmann::ordered_json & {
		const ovx_fdb_key k = unpack(key);
		Event &e = out.emplace_back(Event{kind, unix_ms, nlohmann::ordered_json::object()});
		const auto seg = segments.find(k.segment);
		e.fields["segment"] = seg != segments.end() ? seg->second.name
							    : "#" + std::to_string(k.segment);
		e.fields["tenant"] = seg != segments.end() ? seg->second.tenant : "";
		Mac mac;
		std::memcpy(mac.data(), k.mac, 6);
		e.fields["mac"] = format_mac(mac);
		if (where.kind == OVX_FDB_PORT)
			e.fields["port"] = interface_name(where.ifindex);
		else
			e.fields["vtep"] = format_ip(from_abi(where.vtep));
		return e.fields;
	};
	auto age = [&](const Seen &s) {
		return std::round(static_cast<double>(now_ns - std::min(now_ns, s.seen_ns)) / 1e8) / 10;
	};
	scan([&](const ovx_fdb_key &k, const ovx_fdb_entry &e) {
		if (!(e.flags & OVX_FDB_LEARNED))
			return;
		const auto seg = segments.find(k.segment);
		const Seen now{e.vtep,
			       e.ifindex,
			       e.kind,
			       expired_at(e.seen_ns, seg != segments.end() ? seg->second.aging_sec : 0, now_ns),
			       e.seen_ns,
			       generation_};
		const std::uint64_t key = pack(k);
		auto [it, fresh] = entries_.try_emplace(key, now);
		if (!baseline) {
			const Seen &before = it->second;
			if ((fresh || before.expired) && !now.expired)
				event("learn", key, now);
			else if (!fresh && !before.expired && now.expired)
				event("age-out", key, now)["age"] = age(now);
			else if (!fresh && !now.expired &&
				 (before.kind != now.kind || before.ifindex != now.ifindex ||
				  std::memcmp(&before.vtep, &now.vtep, sizeof(now.vtep))))
				event("move", key, now)["from"] =
					before.kind == OVX_FDB_PORT
						? interface_name(before.ifindex)
						: format_ip(from_abi(before.vtep));
		}
		it->second = now;
	});
	for (auto it = entries_.begin(); it != entries_.end();) {
		if (it->second.generation == generation_) {
			++it;
			continue;
		}
		// Gone: reclaimed once aged (perhaps between two reads), or
		// deleted while it lived.
		const Seen &s = it->second;
		if (!baseline && !s.expired) {
			const auto seg = segments.find(static_cast<std::uint32_t>(it->first >> 48));
			if (expired_at(s.seen_ns, seg != segments.end() ? seg->second.aging_sec : 0, now_ns))
				event("age-out", it->first, s)["age"] = age(s);
			else
				event("flush", it->first, s);
		}
		it = entries_.erase(it);
	}
	return out;
}

std::set<std::string> expand_kinds(const std::vector<std::string> &names)
{
	static const std::map<std::string, std::vector<std::string>> known = {
		{"learn", {"learn"}},
		{"move", {"move"}},
		{"age-out", {"age-out"}},
		{"flush", {"flush"}},
		{"drift", {"drift"}},
		{"apply", {"apply"}},
		{"down", {"down"}},
		{"agent-start", {"agent-start"}},
		{"agent-reload", {"agent-reload"}},
		{"agent-stop", {"agent-stop"}},
		{"fdb", {"learn", "move", "age-out", "flush"}},
		{"agent", {"agent-start", "agent-reload", "agent-stop"}},
	};
	std::set<std::string> out;
	for (const auto &n : names) {
		const auto it = known.find(n);
		if (it == known.end())
			throw ConfigError("monitor: unknown event kind '" + n +
					  "' (learn, move, age-out, flush, drift, apply, down, agent-start, "
					  "agent-reload, agent-stop; groups fdb, agent)");
		out.insert(it->second.begin(), it->second.end());
	}
	return out;
}

namespace {

// The monitor's listening socket, bound under a temporary name and renamed
// into place once it listens: a writer that finds a .sock that refuses it
// may remove it as a dead monitor's.
class Listener {
public:
	explicit Listener(const std::string &instance)
		: path_(monitor_dir(instance) + "/" + std::to_string(getpid()) + ".sock")
	{
	}
	~Listener()
	{
		if (!fd_)
			return;
		::unlink(path_.c_str());
		// The last monitor takes the directory along (`ovx down` then
		// leaves nothing); the instance's, the agent's too, stays.
		::rmdir(fs::path(path_).parent_path().c_str());
	}

	int fd() const { return fd_.get(); }

	// (Re)creates the socket when it is not in place: at start, and after
	// an `ovx down`, which removes the instance's run directory.
	void ensure()
	{
		struct stat st{};
		if (fd_ && ::stat(path_.c_str(), &st) == 0 && st.st_ino == ino_)
			return;
		fd_ = UniqueFd();
		std::error_code ec;
		fs::create_directories(fs::path(path_).parent_path(), ec);
		if (ec)
			throw SystemError("cannot create " + fs::path(path_).parent_path().string() + ": " +
					  ec.message());
		const std::string tmp = path_ + ".tmp";
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		if (tmp.size() >= sizeof(sa.sun_path))
			throw SystemError("monitor socket path too long: " + tmp);
		std::memcpy(sa.sun_path, tmp.c_str(), tmp.size());
		UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (!fd)
			throw SystemError("monitor: socket", errno);
		::unlink(tmp.c_str());
		if (::bind(fd.get(), reinterpret_cast<const sockaddr *>(&sa), sizeof(sa)) ||
		    ::listen(fd.get(), 16) || ::rename(tmp.c_str(), path_.c_str()))
			throw SystemError("monitor: cannot listen on " + path_, errno);
		if (::stat(path_.c_str(), &st))
			throw SystemError("monitor: " + path_, errno);
		ino_ = st.st_ino;
		fd_ = std::move(fd);
	}

private:
	std::string path_;
	UniqueFd fd_;
	ino_t ino_ = 0;
};

class Monitor {
public:
	explicit Monitor(const MonitorOptions &o) : o_(o), listener_(o.instance) {}
	int run();

private:
	// false once stdout is gone.
	bool show(const Event &e);
	bool scan_fdb();
	// When to read the FDB next: --interval after the last read, or later
	// when reads are costly (below).
	std::uint64_t next_read_ns();

	MonitorOptions o_;
	Listener listener_;
	std::vector<UniqueFd> writers_;
	FdbWatch fdb_;
	std::uint64_t read_start_ns_ = 0, read_ns_ = 0; // the last FDB read
	bool stretched_ = false;			  // said so on stderr
};

// A read of the whole FDB costs CPU in proportion to its entries (about
// 60 ms for 100,000 on a loaded 2-core VM): the monitor reads no more
// often than every kCostFactor times as long as a read takes, so that it
// never uses more than about 1/kCostFactor of a core, whatever the FDB's
// size. A million entries are read about every 10 s.
constexpr std::uint64_t kCostFactor = 20;

std::uint64_t Monitor::next_read_ns()
{
	const auto interval = static_cast<std::uint64_t>(o_.interval_sec * 1e9);
	const std::uint64_t wait = std::max(interval, read_ns_ * kCostFactor);
	if (wait > interval && !stretched_) {
		stretched_ = true;
		std::fprintf(stderr,
			     "ovx monitor: an FDB read takes %.0f ms: reading every %.1f s instead of "
			     "--interval %g, to stay under 1/%llu of a core\n",
			     static_cast<double>(read_ns_) / 1e6, static_cast<double>(wait) / 1e9,
			     o_.interval_sec, static_cast<unsigned long long>(kCostFactor));
	}
	return read_start_ns_ + wait;
}

bool Monitor::show(const Event &e)
{
	if (!o_.kinds.empty() && !o_.kinds.contains(e.kind) && e.kind != "lost")
		return true;
	if (!o_.segment.empty()) {
		const auto it = e.fields.find("segment");
		if (it == e.fields.end() || *it != o_.segment)
			return true;
	}
	std::string line = (o_.json ? event_json(e) : event_text(e)) + "\n";
	for (std::size_t done = 0; done < line.size();) {
		const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += static_cast<std::size_t>(n);
	}
	return true;
}

bool Monitor::scan_fdb()
{
	read_start_ns_ = monotonic_ns();
	read_ns_ = 0;
	auto dp = Dataplane::open(o_.instance);
	if (!dp) {
		// Not applied (yet, or any more): start afresh once it is, without
		// calling every entry of a new dataplane learned.
		fdb_ = FdbWatch();
		return true;
	}
	const Tables &t = dp->tables();
	std::map<std::uint32_t, FdbSegment> segments;
	for (const auto &[sid, seg] : t.segments.dump()) {
		if (!(seg.flags & OVX_SEG_ACTIVE))
			continue;
		const auto names = t.seg_names.lookup(sid).value_or(ovx_seg_name{});
		segments[sid] = {std::string(names.name, strnlen(names.name, OVX_NAME_LEN)),
				 std::string(names.tenant, strnlen(names.tenant, OVX_NAME_LEN)),
				 seg.aging_sec};
	}
	const auto events = fdb_.update(
		segments, [&](const FdbWatch::Visit &visit) { t.fdb.for_each(visit); }, monotonic_ns(),
		unix_ms_now());
	read_ns_ = monotonic_ns() - read_start_ns_;
	for (const Event &e : events)
		if (!show(e))
			return false;
	return true;
}

int Monitor::run()
{
	::signal(SIGPIPE, SIG_IGN); // a closed stdout is a write error, seen below
	UniqueFd sig = signal_fd();
	listener_.ensure();
	UniqueFd timer = alarm_fd();
	if (!scan_fdb())
		return kExitOk;
	set_alarm(timer.get(), next_read_ns());
	for (;;) {
		std::vector<pollfd> fds = {{sig.get(), POLLIN, 0},
					   {timer.get(), POLLIN, 0},
					   {listener_.fd(), POLLIN, 0},
					   // A pipe's reader gone shows as POLLERR even when
					   // no event comes to write.
					   {STDOUT_FILENO, 0, 0}};
		for (const UniqueFd &w : writers_)
			fds.push_back({w.get(), POLLIN, 0});
		if (::poll(fds.data(), fds.size(), -1) < 0) {
			if (errno == EINTR)
				continue;
			throw SystemError("monitor: poll", errno);
		}
		if (fds[0].revents & POLLIN)
			return kExitOk; // SIGINT, SIGTERM (SIGHUP too: a closed terminal)
		if (fds[3].revents & (POLLERR | POLLHUP))
			return kExitOk;
		// Writers' events first: they are older than what a read finds now.
		for (std::size_t i = 4; i < fds.size(); i++) {
			if (!fds[i].revents)
				continue;
			char buf[65536];
			for (;;) {
				const ssize_t n = ::recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (n < 0 && errno == EAGAIN)
					break;
				if (n <= 0) {
					fds[i].fd = -1; // the writer ended
					break;
				}
				auto e = parse_event(std::string_view(buf, static_cast<std::size_t>(n)));
				if (!e)
					continue;
				if (const auto lost = e->fields.find("lost"); lost != e->fields.end()) {
					Event gap{"lost", e->unix_ms, {{"count", *lost}}};
					e->fields.erase("lost");
					if (!show(gap))
						return kExitOk;
				}
				if (!show(*e))
					return kExitOk;
			}
		}
		std::erase_if(writers_, [&](const UniqueFd &w) {
			return std::none_of(fds.begin() + 4, fds.end(),
					    [&](const pollfd &p) { return p.fd == w.get(); });
		});
		if (fds[2].revents & POLLIN)
			for (int fd; (fd = ::accept4(listener_.fd(), nullptr, nullptr,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
				writers_.emplace_back(fd);
		if (fds[1].revents & POLLIN) {
			drain(timer.get());
			listener_.ensure();
			if (!scan_fdb())
				return kExitOk;
			set_alarm(timer.get(), next_read_ns());
		}
	}
}

} // namespace

int run_monitor(const MonitorOptions &options)
{
	if (!(options.interval_sec >= 0.05))
		throw ConfigError("monitor: --interval: at least 0.05 seconds");
	return Monitor(options).run();
}

} // namespace ovx
