#include "cluster/view.h"

#include <algorithm>
#include <tuple>

#include "cluster/log.h"

namespace ovx::cluster {

ClusterView::ClusterView(ViewOptions options) : options_(std::move(options)) {}

void ClusterView::apply(const WatchEvent &event, TimePoint now)
{
	apply_one(event.kv.key, event.kind == WatchEvent::Kind::put ? &event.kv.value : nullptr,
		  event.kv.mod_revision, now, true);
}

void ClusterView::apply(const WatchBatch &batch, TimePoint now)
{
	for (const WatchEvent &e : batch.events)
		apply(e, now);
	// A progress batch vouches for everything up to its revision.
	if (batch.progress)
		revision_ = std::max(revision_, batch.revision);
}

void ClusterView::apply_one(const std::string &key, const std::string *value,
			    std::int64_t revision, TimePoint now, bool detect_moves)
{
	// A watch delivers in revision order (the events of one transaction
	// share one): anything older than what was applied is a replay, and
	// no key needs to remember its own revision.
	if (revision < revision_) {
		counters_.stale++;
		return;
	}
	revision_ = revision;
	counters_.events++;

	std::optional<KeyRef> ref;
	try {
		ref = parse_key(key);
		if (value) {
			put_record(key, parse_record(key, *value), now, detect_moves);
			bad_.erase(key);
			return;
		}
	} catch (const BadRecord &e) {
		bad_[key] = e.reason();
		counters_.bad++;
		log().warn("cluster: ignoring {}", e.what());
	}
	// A delete, or a value that is not valid (any longer): what the key
	// held before is gone either way.
	if (!value)
		bad_.erase(key);
	if (ref)
		forget(*ref, now, detect_moves);
}

void ClusterView::forget(const KeyRef &ref, TimePoint now, bool detect_moves)
{
	switch (ref.kind) {
	case KeyRef::Kind::segment:
		segments_.erase(ref.segment);
		break;
	case KeyRef::Kind::vtep:
		set_vtep(ref.node, std::nullopt, now, detect_moves);
		break;
	case KeyRef::Kind::binding:
		erase_binding(ref.node, {ref.segment, ref.mac}, now, detect_moves);
		break;
	}
}

void ClusterView::put_record(const std::string &key, Record record, TimePoint now,
			     bool detect_moves)
{
	if (auto *s = std::get_if<Segment>(&record)) {
		// Each key is a file of its own, so the file's check that an id
		// has one segment is made here: the segment written first keeps it.
		for (const auto &[name, other] : segments_)
			if (name != s->name && other.encap == s->encap && other.id == s->id)
				throw BadRecord(key, std::string(encap_name(s->encap)) + " " +
							     id_name(s->encap) + " " +
							     std::to_string(s->id) +
							     " is already used by segment '" + name + "'");
		segments_[s->name] = std::move(*s);
	} else if (auto *v = std::get_if<VtepRecord>(&record)) {
		const std::string node = v->node;
		set_vtep(node, std::move(*v), now, detect_moves);
	} else {
		Binding &b = std::get<Binding>(record);
		// A resync says so once it has read every segment.
		if (detect_moves && !segments_.count(b.segment))
			warn_orphan(key);
		const MacKey mk{b.segment, b.mac};
		const std::string node = b.node;
		nodes_[node].bindings.insert(mk);
		MacState &st = macs_[mk];
		st.by_node[node] = std::move(b);
		elect(mk, st, now, detect_moves);
	}
}

void ClusterView::erase_binding(const std::string &node, const MacKey &mk, TimePoint now,
				bool detect_moves)
{
	if (auto n = nodes_.find(node); n != nodes_.end()) {
		n->second.bindings.erase(mk);
		drop_if_empty(node);
	}
	const auto it = macs_.find(mk);
	if (it == macs_.end())
		return;
	it->second.by_node.erase(node);
	it->second.last_bound = now;
	elect(mk, it->second, now, detect_moves);
}

void ClusterView::set_vtep(const std::string &node, std::optional<VtepRecord> vtep, TimePoint now,
			   bool detect_moves)
{
	NodeState &n = nodes_[node];
	n.vtep = std::move(vtep);
	// Whether the node can be reached decides every one of its MACs.
	for (const MacKey &mk : n.bindings)
		elect(mk, macs_.at(mk), now, detect_moves);
	drop_if_empty(node);
}

void ClusterView::drop_if_empty(const std::string &node)
{
	const auto it = nodes_.find(node);
	if (it != nodes_.end() && !it->second.vtep && it->second.bindings.empty())
		nodes_.erase(it);
}

// A MAC nobody binds is remembered for a window, so that where it was
// bound last makes its return elsewhere a move (break-before-make).
void ClusterView::drop_if_idle(std::map<MacKey, MacState>::iterator it, TimePoint now)
{
	const MacState &st = it->second;
	if (st.by_node.empty() && !st.frozen && now - st.last_bound >= options_.freeze_window) {
		shared_.erase(it->first);
		macs_.erase(it);
	}
}

const IpAddr *ClusterView::reachable(const std::string &node) const
{
	const auto it = nodes_.find(node);
	if (it == nodes_.end() || !it->second.vtep)
		return nullptr;
	const IpAddr &a = it->second.vtep->address(options_.family);
	return a.family ? &a : nullptr;
}

void ClusterView::elect(const MacKey &mk, MacState &st, TimePoint now, bool detect_moves)
{
	// Highest sequence number, then lowest VTEP, then lowest node name.
	const std::string *best = nullptr;
	std::tuple<std::int64_t, IpAddr, std::string_view> best_rank;
	for (const auto &[node, b] : st.by_node) {
		const IpAddr *vtep = reachable(node);
		if (!vtep)
			continue;
		const auto rank = std::make_tuple(-static_cast<std::int64_t>(b.seq), *vtep,
						  std::string_view(node));
		if (!best || rank < best_rank) {
			best = &node;
			best_rank = rank;
		}
	}
	std::optional<std::string> winner;
	if (best)
		winner = *best;
	// Frozen: stays where it was while that node still binds it.
	if (st.frozen && st.winner && st.by_node.count(*st.winner) && reachable(*st.winner))
		winner = st.winner;
	st.winner = winner;

	if (detect_moves && winner) {
		if (st.last_owner && *st.last_owner != *winner) {
			counters_.moves++;
			if (options_.forward_hold.count() > 0)
				departed_[{mk.first, *st.last_owner}] = now + options_.forward_hold;
			st.moves.push_back(now);
			while (!st.moves.empty() && now - st.moves.front() > options_.freeze_window)
				st.moves.pop_front();
			if (!st.frozen && st.moves.size() >= options_.freeze_moves) {
				st.frozen = true;
				st.frozen_at = now;
				counters_.freezes++;
				log().warn("cluster: MAC {} of segment {} moved {} times in {} s: "
					     "frozen on node {}",
					     format_mac(mk.second), mk.first, st.moves.size(),
					     options_.freeze_window.count(), *winner);
			}
		}
		st.last_owner = winner;
	}
	check_duplicate(mk, st, now);
}

void ClusterView::check_duplicate(const MacKey &mk, MacState &st, TimePoint now)
{
	std::vector<std::string> bound;
	for (const auto &[node, b] : st.by_node)
		if (reachable(node))
			bound.push_back(node);
	if (bound.size() < 2) {
		st.shared_since.reset();
		st.duplicate = false;
		shared_.erase(mk);
		return;
	}
	if (!st.shared_since)
		st.shared_since = now;
	shared_.insert(mk);
	if (!st.duplicate && now - *st.shared_since >= options_.duplicate_grace) {
		st.duplicate = true;
		counters_.duplicates++;
		std::string nodes;
		for (const auto &n : bound)
			nodes += (nodes.empty() ? "" : ", ") + n;
		log().warn("cluster: MAC {} of segment {} is bound on {} nodes ({}) for over {} ms",
			     format_mac(mk.second), mk.first, bound.size(), nodes,
			     options_.duplicate_grace.count());
	}
}

void ClusterView::tick(TimePoint now)
{
	std::erase_if(departed_, [&](const auto &d) { return d.second <= now; });
	const std::set<MacKey> shared = shared_;
	for (const MacKey &mk : shared)
		check_duplicate(mk, macs_.at(mk), now);
	for (auto it = macs_.begin(); it != macs_.end();) {
		const auto cur = it++;
		MacState &st = cur->second;
		while (!st.moves.empty() && now - st.moves.front() > options_.freeze_window)
			st.moves.pop_front();
		if (st.frozen && options_.freeze_hold.count() > 0 &&
		    now - st.frozen_at >= options_.freeze_hold)
			unfreeze(cur->first.first, cur->first.second, now);
		drop_if_idle(cur, now);
	}
}

void ClusterView::unfreeze(const std::string &segment, const Mac &mac, TimePoint now)
{
	const auto it = macs_.find({segment, mac});
	if (it == macs_.end() || !it->second.frozen)
		return;
	it->second.frozen = false;
	it->second.moves.clear();
	// The newest binding wins again, without counting as a move.
	elect(it->first, it->second, now, false);
	it->second.last_owner = it->second.winner;
}

void ClusterView::resync(const std::vector<KeyValue> &kvs, std::int64_t revision, TimePoint now)
{
	segments_.clear();
	nodes_.clear();
	bad_.clear();
	shared_.clear();
	for (auto &[mk, st] : macs_) {
		st.by_node.clear();
		st.winner.reset();
	}
	revision_ = 0;
	// In the order they were written: where two segments claim one id,
	// the earlier keeps it, as with events.
	std::vector<const KeyValue *> order;
	order.reserve(kvs.size());
	for (const KeyValue &kv : kvs)
		order.push_back(&kv);
	std::stable_sort(order.begin(), order.end(), [](const KeyValue *a, const KeyValue *b) {
		return a->mod_revision < b->mod_revision;
	});
	for (const KeyValue *kv : order)
		apply_one(kv->key, &kv->value, kv->mod_revision, now, false);
	// Each MAC's winner against the one before the resync: one move at most.
	for (auto it = macs_.begin(); it != macs_.end();) {
		elect(it->first, it->second, now, true);
		drop_if_idle(it++, now);
	}
	for (const std::string &key : orphan_bindings())
		warn_orphan(key);
	// Events up to the read's revision are in it; replays of older ones
	// (a delete before the read, say) must not come back.
	revision_ = revision;
}

std::vector<RemoteMac> ClusterView::remote_macs() const
{
	std::vector<RemoteMac> out;
	for (const auto &[mk, st] : macs_) {
		if (!st.winner || *st.winner == options_.local_node || !segments_.count(mk.first))
			continue;
		out.push_back({mk.first, mk.second, *reachable(*st.winner), *st.winner,
			       st.by_node.at(*st.winner).seq, st.frozen});
	}
	return out;
}

std::map<std::string, std::vector<IpAddr>> ClusterView::flood_lists() const
{
	std::map<std::string, std::set<IpAddr>> sets;
	for (const auto &[name, seg] : segments_)
		sets[name];
	for (const auto &[node, n] : nodes_) {
		const IpAddr *vtep = reachable(node);
		if (!vtep || node == options_.local_node)
			continue;
		// Bindings are sorted by segment: one entry per segment is enough.
		for (auto it = n.bindings.begin(); it != n.bindings.end();) {
			const std::string &segment = it->first;
			if (const auto s = sets.find(segment); s != sets.end())
				s->second.insert(*vtep);
			it = n.bindings.lower_bound({segment + '\0', Mac{}});
		}
	}
	// A node a MAC just left sends on what still reaches it (forwarding
	// pointer): the new node must take its frames in the segment.
	for (const auto &[key, until] : departed_) {
		const IpAddr *vtep = reachable(key.second);
		if (const auto s = sets.find(key.first);
		    vtep && key.second != options_.local_node && s != sets.end())
			s->second.insert(*vtep);
	}
	std::map<std::string, std::vector<IpAddr>> out;
	for (auto &[name, set] : sets)
		out[name].assign(set.begin(), set.end());
	return out;
}

std::vector<Segment> ClusterView::segments() const
{
	const auto flood = flood_lists();
	std::map<std::string, Segment> out;
	for (const auto &[name, seg] : segments_) {
		Segment &s = out[name] = seg;
		s.flood = flood.at(name);
	}
	for (const RemoteMac &r : remote_macs())
		out.at(r.segment).remotes.push_back({r.mac, r.vtep, {}});
	std::vector<Segment> list;
	for (auto &[name, s] : out)
		list.push_back(std::move(s));
	return list;
}

std::optional<std::string> ClusterView::owner(const std::string &segment, const Mac &mac) const
{
	const auto it = macs_.find({segment, mac});
	return it == macs_.end() ? std::nullopt : it->second.winner;
}

std::uint32_t ClusterView::next_sequence(const std::string &segment, const Mac &mac) const
{
	const auto it = macs_.find({segment, mac});
	if (it == macs_.end() || it->second.by_node.empty())
		return 0;
	const MacState &st = it->second;
	if (st.winner == options_.local_node)
		return st.by_node.at(options_.local_node).seq;
	std::uint32_t highest = 0;
	for (const auto &[node, b] : st.by_node)
		highest = std::max(highest, b.seq);
	return highest == UINT32_MAX ? highest : highest + 1;
}

std::vector<NodeInfo> ClusterView::nodes() const
{
	std::vector<NodeInfo> out;
	for (const auto &[name, n] : nodes_)
		out.push_back({name, n.vtep, n.bindings.size()});
	return out;
}

std::vector<DuplicateMac> ClusterView::duplicates() const
{
	std::vector<DuplicateMac> out;
	for (const auto &[mk, st] : macs_) {
		if (!st.duplicate && !st.frozen)
			continue;
		DuplicateMac d{mk.first, mk.second, {}, st.winner.value_or(""), st.frozen,
			       static_cast<unsigned>(st.moves.size())};
		for (const auto &[node, b] : st.by_node)
			d.nodes.push_back(node);
		out.push_back(std::move(d));
	}
	return out;
}

void ClusterView::warn_orphan(const std::string &key) const
{
	log().warn("cluster: ignoring {}: binding for a segment the cluster does not define "
		   "(until it does)",
		   key);
}

std::vector<std::string> ClusterView::orphan_bindings() const
{
	std::vector<std::string> out;
	for (const auto &[node, n] : nodes_)
		for (const MacKey &mk : n.bindings)
			if (!segments_.count(mk.first))
				out.push_back(binding_key(node, mk.first, mk.second));
	return out;
}

} // namespace ovx::cluster
