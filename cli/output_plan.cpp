#include "cli/output_plan.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace ovx {
namespace {

using nlohmann::json;

// The plan's writes by map, maps in the order reconcile() first writes them.
std::vector<std::pair<std::string, std::vector<const MapWrite *>>> by_map(const ApplyPlan &plan)
{
	std::vector<std::pair<std::string, std::vector<const MapWrite *>>> out;
	for (const MapWrite &w : plan.writes) {
		auto it = std::find_if(out.begin(), out.end(),
				       [&](const auto &m) { return m.first == w.map; });
		if (it == out.end())
			it = out.emplace(out.end(), w.map, std::vector<const MapWrite *>{});
		it->second.push_back(&w);
	}
	return out;
}

json fields_json(const Fields &fields)
{
	json j = json::object();
	for (const auto &[name, value] : fields)
		j[name] = value;
	return j;
}

// "vtep=192.168.77.2 flags=static", empty values left out.
std::string fields_text(const Fields &fields)
{
	std::string out;
	for (const auto &[name, value] : fields)
		if (!value.empty())
			out += (out.empty() ? "" : " ") + name + "=" + value;
	return out;
}

// "aging: 300 -> 60, flags: active -> active,learning": the fields that differ.
std::string changed_text(const Fields &before, const Fields &after)
{
	std::string out;
	for (const auto &[name, value] : after) {
		std::string old;
		for (const auto &[n, v] : before)
			if (n == name)
				old = v;
		if (old != value)
			out += (out.empty() ? "" : ", ") + name + ": " + (old.empty() ? "-" : old) +
			       " -> " + (value.empty() ? "-" : value);
	}
	return out;
}

bool adds(const HookChange &h)
{
	return h.op == "attach" || h.op == "create" || h.op == "enable" || h.op == "add";
}

std::string hook_text(const HookChange &h)
{
	return h.op + " " + h.what + (h.interface.empty() ? "" : " on " + h.interface);
}

void print_summary(std::ostream &out, const ApplyPlan &plan)
{
	if (!plan.changes()) {
		out << "no changes";
	} else {
		out << "would change: " << plan.maps.added << " added, " << plan.maps.changed
		    << " changed, " << plan.maps.removed << " removed map entries; "
		    << plan.hooks.size() << " hook changes";
	}
	if (plan.maps.learned_reclaimed)
		out << "; " << plan.maps.learned_reclaimed
		    << " learned entries would be reclaimed (aged, or behind a VTEP that left)";
	out << '\n';
}

} // namespace

json plan_json(const std::string &path, const std::string &instance, const ApplyPlan &plan)
{
	json hooks = json::array();
	for (const HookChange &h : plan.hooks)
		hooks.push_back({{"op", h.op}, {"what", h.what}, {"interface", h.interface}});
	json maps = json::object();
	for (const auto &[name, writes] : by_map(plan)) {
		json m = {{"added", json::array()},
			  {"changed", json::array()},
			  {"removed", json::array()},
			  {"reclaimed", json::array()}};
		for (const MapWrite *w : writes) {
			json e = {{"key", w->key}};
			if (w->op != MapWrite::Op::add)
				e["old"] = fields_json(w->before);
			if (w->op == MapWrite::Op::add || w->op == MapWrite::Op::change)
				e["new"] = fields_json(w->after);
			m[op_name(w->op)].push_back(std::move(e));
		}
		maps[name] = std::move(m);
	}
	return {{"dry_run", true},
		{"file", path},
		{"instance", instance},
		{"changes", plan.changes()},
		{"create", plan.create},
		{"hooks", std::move(hooks)},
		{"maps", std::move(maps)},
		{"summary",
		 {{"added", plan.maps.added},
		  {"changed", plan.maps.changed},
		  {"removed", plan.maps.removed},
		  {"learned_reclaimed", plan.maps.learned_reclaimed},
		  {"hooks", plan.hooks.size()}}}};
}

void print_plan(std::ostream &out, const std::string &path, const std::string &instance,
		const ApplyPlan &plan)
{
	out << "dry run of " << path << " on instance " << instance << ": nothing was changed\n";
	if (!plan.hooks.empty())
		out << "hooks:\n";
	for (const HookChange &h : plan.hooks)
		out << "  " << (adds(h) ? '+' : '-') << ' ' << hook_text(h) << '\n';
	for (const auto &[name, writes] : by_map(plan)) {
		ReconcileReport n;
		for (const MapWrite *w : writes) {
			n.added += w->op == MapWrite::Op::add;
			n.changed += w->op == MapWrite::Op::change;
			n.removed += w->op == MapWrite::Op::remove;
			n.learned_reclaimed += w->op == MapWrite::Op::reclaim;
		}
		out << name << ": " << n.added << " added, " << n.changed << " changed, " << n.removed
		    << " removed";
		if (n.learned_reclaimed)
			out << ", " << n.learned_reclaimed << " learned reclaimed";
		out << '\n';
		for (const MapWrite *w : writes) {
			switch (w->op) {
			case MapWrite::Op::add:
				out << "  + " << w->key << "  " << fields_text(w->after) << '\n';
				break;
			case MapWrite::Op::change:
				out << "  ~ " << w->key << "  " << changed_text(w->before, w->after)
				    << '\n';
				break;
			case MapWrite::Op::remove:
				out << "  - " << w->key << "  " << fields_text(w->before) << '\n';
				break;
			case MapWrite::Op::reclaim:
				out << "  x " << w->key << "  " << fields_text(w->before)
				    << " (learned, reclaimed)\n";
				break;
			}
		}
	}
	print_summary(out, plan);
}

void print_plan_diff(std::ostream &out, const std::string &path, const std::string &instance,
		     const ApplyPlan &plan)
{
	auto header = [&](const std::string &what) {
		out << "--- " << what << " (instance " << instance << ")\n"
		    << "+++ " << what << " (" << path << ")\n";
	};
	if (!plan.hooks.empty())
		header("hooks");
	for (const HookChange &h : plan.hooks)
		out << (adds(h) ? '+' : '-') << hook_text(h) << '\n';
	for (const auto &[name, writes] : by_map(plan)) {
		header(name);
		for (const MapWrite *w : writes) {
			if (w->op != MapWrite::Op::add)
				out << '-' << w->key << "  " << fields_text(w->before) << '\n';
			if (w->op == MapWrite::Op::add || w->op == MapWrite::Op::change)
				out << '+' << w->key << "  " << fields_text(w->after) << '\n';
		}
	}
}

} // namespace ovx
