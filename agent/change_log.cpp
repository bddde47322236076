#include "agent/change_log.h"

#include <net/if.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "agent/offload.h"
#include "agent/writer_lock.h"
#include "loader/dataplane.h"
#include "loader/neighbour.h"
#include "loader/netdev.h"
#include "loader/segmenter.h"
#include "maps/error.h"

namespace ovx {
namespace {

std::string log_path(const std::string &instance)
{
	return run_base_dir() + "/" + instance + ".pending";
}

const char *op_name(Action::Op op)
{
	switch (op) {
	case Action::Op::destroy:
		return "destroy";
	case Action::Op::forwarding_off:
		return "forwarding_off";
	case Action::Op::detach_xdp:
		return "detach_xdp";
	case Action::Op::attach_xdp:
		return "attach_xdp";
	case Action::Op::detach_tc:
		return "detach_tc";
	case Action::Op::remove_segmenter:
		return "remove_segmenter";
	case Action::Op::del_neighbour:
		return "del_neighbour";
	case Action::Op::offload_remove:
		return "offload_remove";
	}
	return "";
}

nlohmann::json to_json(const Action &a)
{
	return {{"op", op_name(a.op)}, {"ifindex", a.ifindex}, {"family", a.family},
		{"flags", a.flags}, {"addr", a.addr}};
}

Action from_json(const nlohmann::json &j)
{
	static constexpr Action::Op kOps[] = {
		Action::Op::destroy,	      Action::Op::forwarding_off, Action::Op::detach_xdp,
		Action::Op::attach_xdp,	      Action::Op::detach_tc,	  Action::Op::remove_segmenter,
		Action::Op::del_neighbour,    Action::Op::offload_remove};
	const std::string name = j.at("op").get<std::string>();
	for (Action::Op op : kOps)
		if (name == op_name(op))
			return Action{op, j.at("ifindex").get<int>(), j.at("family").get<int>(),
				      j.at("flags").get<std::uint32_t>(),
				      j.at("addr").get<std::array<std::uint8_t, 16>>()};
	throw SystemError("unknown action '" + name + "'");
}

std::string ifname(int ifindex)
{
	char name[IF_NAMESIZE] = {};
	return if_indextoname(static_cast<unsigned>(ifindex), name) ? name : "";
}

void run_all(const std::string &instance, const std::vector<Action> &actions, bool newest_first,
	     const char *what)
{
	auto run = [&](const Action &a) {
		try {
			perform(instance, a);
		} catch (const std::exception &e) {
			std::cerr << "ovx: instance '" << instance << "': " << what << " " << op_name(a.op)
				  << " (ifindex " << a.ifindex << "): " << e.what() << '\n';
		}
	};
	if (newest_first)
		for (auto it = actions.rbegin(); it != actions.rend(); ++it)
			run(*it);
	else
		for (const Action &a : actions)
			run(a);
}

} // namespace

void perform(const std::string &instance, const Action &a)
{
	// The dataplane the hook actions need; gone already is fine.
	auto with_dp = [&](auto fn) {
		if (std::optional<Dataplane> dp = Dataplane::open(instance))
			fn(*dp);
	};
	switch (a.op) {
	case Action::Op::destroy:
		with_dp([](Dataplane &dp) { dp.destroy(); });
		Dataplane::remove_staging(instance);
		return;
	case Action::Op::forwarding_off:
		if (const std::string name = ifname(a.ifindex); !name.empty())
			set_ip_forwarding(name, a.family, false);
		return;
	case Action::Op::detach_xdp:
		with_dp([&](Dataplane &dp) { dp.detach_xdp(a.ifindex); });
		return;
	case Action::Op::attach_xdp:
		with_dp([&](Dataplane &dp) { dp.attach_xdp(a.ifindex, a.flags); });
		return;
	case Action::Op::detach_tc:
		with_dp([&](Dataplane &dp) { dp.detach_tc(a.ifindex); });
		return;
	case Action::Op::remove_segmenter:
		remove_segmenter(instance);
		return;
	case Action::Op::del_neighbour:
		del_managed_neighbour(a.ifindex, a.family, a.addr);
		return;
	case Action::Op::offload_remove:
		offload_remove(offload_dir(instance), a.ifindex);
		return;
	}
}

ChangeLog::ChangeLog(std::string instance) : instance_(std::move(instance)) {}

ChangeLog::~ChangeLog()
{
	if (committed_)
		return;
	run_all(instance_, undo_, true, "undoing");
	std::remove(log_path(instance_).c_str());
}

void ChangeLog::undo(const Action &a)
{
	undo_.push_back(a);
	save();
}

void ChangeLog::release(const Action &a)
{
	release_.push_back(a);
	save();
}

void ChangeLog::commit()
{
	committed_ = true;
	if (!release_.empty()) {
		save();
		crash_point("committed, releases pending");
		run_all(instance_, release_, false, "releasing");
	}
	std::remove(log_path(instance_).c_str());
}

void ChangeLog::save() const
{
	nlohmann::json j{{"pid", getpid()}, {"committed", committed_}};
	j["undo"] = nlohmann::json::array();
	j["release"] = nlohmann::json::array();
	for (const Action &a : undo_)
		j["undo"].push_back(to_json(a));
	for (const Action &a : release_)
		j["release"].push_back(to_json(a));
	const std::string path = log_path(instance_), tmp = path + ".tmp";
	std::error_code ec;
	std::filesystem::create_directories(run_base_dir(), ec);
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << j.dump() << '\n';
		if (!out.flush())
			throw SystemError("instance '" + instance_ + "': cannot write " + tmp, errno);
	}
	if (std::rename(tmp.c_str(), path.c_str()))
		throw SystemError("instance '" + instance_ + "': cannot move " + tmp + " to " + path,
				  errno);
}

bool ChangeLog::recover(const std::string &instance)
{
	const std::string path = log_path(instance);
	std::ifstream in(path);
	if (!in)
		return false;
	std::vector<Action> undo, release;
	bool committed = false;
	int pid = 0;
	try {
		const auto j = nlohmann::json::parse(in);
		committed = j.value("committed", false);
		pid = j.value("pid", 0);
		for (const auto &a : j.at("undo"))
			undo.push_back(from_json(a));
		for (const auto &a : j.at("release"))
			release.push_back(from_json(a));
	} catch (const std::exception &e) {
		// Torn or foreign: nothing can be replayed from it. The apply or
		// down that follows makes hooks and maps right by itself.
		std::cerr << "ovx: instance '" << instance << "': ignoring unreadable " << path << ": "
			  << e.what() << '\n';
	}
	std::cerr << "ovx: instance '" << instance << "': a change by pid " << pid
		  << " was interrupted; " << (committed ? "finishing" : "undoing") << " it\n";
	if (committed)
		run_all(instance, release, false, "releasing");
	else
		run_all(instance, undo, true, "undoing");
	std::remove(path.c_str());
	return true;
}

void crash_point(const char *step)
{
	static const long target = [] {
		const char *v = std::getenv("OVX_CRASH_AT");
		return v && *v ? std::strtol(v, nullptr, 10) : 0L;
	}();
	static long reached = 0;
	if (target <= 0 || ++reached != target)
		return;
	std::cerr << "ovx: OVX_CRASH_AT=" << target << ": exiting at '" << step << "'\n";
	std::_Exit(137);
}

} // namespace ovx
