#include "cluster/forward.h"

#include <algorithm>

namespace ovx::cluster {
namespace {

// A MAC that left and is bound nowhere for this long is forgotten: peers
// that still send to this node have long flooded it as unknown.
constexpr std::uint64_t kGoneMemoryNs = 60ull * 1000000000;

} // namespace

void ForwardPointers::update(const std::map<MacKey, std::uint32_t> &published,
			     const std::set<MacKey> &bound, const std::vector<RemoteMac> &remotes,
			     std::uint64_t now_ns)
{
	if (!hold_ns_) {
		gone_.clear();
		until_.clear();
		return;
	}
	for (const auto &[k, seq] : published)
		if (!bound.contains(k))
			gone_.try_emplace(k, Gone{seq, now_ns});
	for (const MacKey &k : bound) {
		gone_.erase(k);
		until_.erase(k);
	}
	for (const RemoteMac &r : remotes) {
		const MacKey k{r.segment, r.mac};
		auto g = gone_.find(k);
		// Not older than ours: break-before-make binds a MAC nobody holds
		// at the same number (next_sequence), and it is a move all the same.
		if (g == gone_.end() || r.seq < g->second.seq)
			continue;
		until_[k] = now_ns + hold_ns_;
		gone_.erase(g);
	}
	std::erase_if(until_, [&](const auto &p) { return p.second <= now_ns; });
	std::erase_if(gone_, [&](const auto &p) { return now_ns - p.second.since_ns > kGoneMemoryNs; });
}

bool ForwardPointers::holds(const std::string &segment) const
{
	return std::any_of(until_.begin(), until_.end(),
			   [&](const auto &p) { return p.first.first == segment; });
}

std::uint64_t ForwardPointers::next_lapse() const
{
	std::uint64_t first = 0;
	for (const auto &[k, until] : until_)
		if (!first || until < first)
			first = until;
	return first;
}

void ForwardPointers::mark(Config &config) const
{
	for (Segment &s : config.segments)
		for (Remote &r : s.remotes)
			if (auto it = until_.find({s.name, r.mac}); it != until_.end())
				r.forward_until_ns = it->second;
}

} // namespace ovx::cluster
