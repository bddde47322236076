#include "agent/trace.h"

#include "loader/netdev.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "agent/desired.h"
#include "agent/inspect.h"
#include "agent/writer_lock.h"
#include "maps/error.h"

namespace ovx {
namespace {

constexpr std::uint16_t kTraceFlags = OVX_CFG_TRACE_DROPS | OVX_CFG_TRACE_ALL;

std::string lock_path(const std::string &instance)
{
	return run_base_dir() + "/trace-" + instance + ".lock";
}

UniqueFd lock_trace(const std::string &instance)
{
	if (mkdir(run_base_dir().c_str(), 0700) && errno != EEXIST)
		throw SystemError("trace: cannot create " + run_base_dir(), errno);
	const std::string path = lock_path(instance);
	for (;;) {
		UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
		if (!fd)
			throw SystemError("trace: cannot open " + path, errno);
		if (flock(fd.get(), LOCK_EX | LOCK_NB)) {
			if (errno != EWOULDBLOCK)
				throw SystemError("trace: cannot lock " + path, errno);
			char pid[32] = {};
			ssize_t n = pread(fd.get(), pid, sizeof(pid) - 1, 0);
			throw SystemError("instance " + instance + ": another ovx trace (pid " +
					  (n > 0 ? std::string(pid, strnlen(pid, sizeof(pid))) : "?") +
					  ") is reading the trace ring; only one reader at a time "
					  "sees every event");
		}
		// The holder removes the file when it ends: a lock taken on a file
		// that was unlinked meanwhile guards nothing, so take it again.
		struct stat have {}, now {};
		if (fstat(fd.get(), &have) || stat(path.c_str(), &now) || have.st_ino != now.st_ino ||
		    have.st_dev != now.st_dev)
			continue;
		// The holder's PID, for the message above.
		const std::string me = std::to_string(getpid());
		if (ftruncate(fd.get(), 0) || pwrite(fd.get(), me.data(), me.size(), 0) < 0)
			throw SystemError("trace: cannot write " + path, errno);
		return fd;
	}
}

} // namespace

TraceSession::TraceSession(Dataplane &dp, bool drops_only)
	: dp_(dp), lock_(lock_trace(dp.instance()))
{
	// Bits a SIGKILLed trace left behind are cleared: we hold the lock, so
	// nobody else is reading.
	set_flags(OVX_CFG_TRACE_DROPS | (drops_only ? 0 : OVX_CFG_TRACE_ALL), kTraceFlags);
}

TraceSession::~TraceSession()
{
	try {
		set_flags(0, kTraceFlags);
	} catch (const std::exception &) {
		// The instance may be down already: nothing left to turn off.
	}
	// Unlinked while still locked, so that no other trace can hold a lock
	// on this file afterwards (see lock_trace).
	unlink(lock_path(dp_.instance()).c_str());
}

void TraceSession::set_flags(std::uint16_t on, std::uint16_t off)
{
	// A read-modify-write of the config entry, which apply rewrites too.
	const WriterLock writer = WriterLock::take(dp_.instance(), "ovx trace", true);
	auto &config = dp_.tables().config;
	auto cfg = config.lookup(0);
	if (!cfg)
		throw SystemError("map " + config.name() + ": no entry 0");
	cfg->flags = static_cast<std::uint16_t>((cfg->flags & ~off) | on);
	config.update(0, *cfg);
}

bool trace_running(const std::string &instance)
{
	UniqueFd fd(open(lock_path(instance).c_str(), O_RDONLY | O_CLOEXEC));
	return fd && flock(fd.get(), LOCK_SH | LOCK_NB) != 0;
}

const char *trace_kind_name(unsigned kind)
{
	switch (kind) {
	case OVX_TRACE_DROP:
		return "drop";
	case OVX_TRACE_DECAP:
		return "decap";
	case OVX_TRACE_ENCAP:
		return "encap";
	case OVX_TRACE_LOCAL:
		return "local";
	case OVX_TRACE_FLOOD:
		return "flood";
	default:
		return "unknown";
	}
}

TraceEventView TraceResolver::resolve(const ovx_trace_event &ev)
{
	TraceEventView v;
	v.ts_sec = static_cast<double>(ev.ts_ns) / 1e9;
	v.kind = trace_kind_name(ev.kind);
	if (ev.kind == OVX_TRACE_DROP)
		v.reason = drop_reason_name(ev.reason);
	v.segment_id = ev.segment;
	if (ev.segment) {
		auto it = segments_.find(ev.segment);
		if (it == segments_.end()) {
			std::pair<std::string, std::string> names{"#" + std::to_string(ev.segment), ""};
			if (auto n = tables_.seg_names.lookup(ev.segment); n && n->name[0]) {
				names.first.assign(n->name, strnlen(n->name, OVX_NAME_LEN));
				names.second.assign(n->tenant, strnlen(n->tenant, OVX_NAME_LEN));
			}
			it = segments_.emplace(ev.segment, std::move(names)).first;
		}
		v.segment = it->second.first;
		v.tenant = it->second.second;
	}
	if (ev.ifindex) {
		auto it = ifnames_.find(ev.ifindex);
		if (it == ifnames_.end())
			it = ifnames_.emplace(ev.ifindex, interface_name(ev.ifindex)).first;
		v.port = it->second;
	}
	if (ev.encap)
		v.encap = encap_name(static_cast<ovx_encap>(ev.encap));
	std::memcpy(v.src.data(), ev.src_mac, 6);
	std::memcpy(v.dst.data(), ev.dst_mac, 6);
	if (ev.outer_src.family)
		v.outer_src = from_abi(ev.outer_src);
	if (ev.outer_dst.family)
		v.outer_dst = from_abi(ev.outer_dst);
	v.len = ev.len;
	return v;
}

} // namespace ovx
