#include "cluster/cluster_config.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/yaml_doc.h"
#include "cluster/layout.h"
#include "maps/error.h"

namespace ovx::cluster {
namespace {

// etcd's default --max-txn-ops: more changes than this cannot be one
// transaction.
constexpr std::size_t kMaxTxnOps = 128;
// Attempts when another writer changes the segments between read and write.
constexpr int kAttempts = 3;

[[noreturn]] void fail_at(const std::string &path, const yaml::Mark &at, const std::string &what)
{
	const int line = at.is_null() ? 1 : at.line + 1;
	const int column = at.is_null() ? 1 : at.column + 1;
	throw ConfigError(Location{path, line, column, ""}, what);
}

// What the file reader would accept but a cluster file must not hold: the
// hosts' parts. Checked on the document before the reader sees it, so that
// the message says what is wrong rather than what the reader makes of it.
void check_cluster_shape(const yaml::Node &root, const std::string &path)
{
	if (root.is_null())
		return;
	if (!root.is_map())
		fail_at(path, root.mark(), "expected a map with 'segments' at the top level");
	const auto top = root.children();
	for (auto it = top.begin(); it != top.end(); ++it) {
		const yaml::Node key = *it;
		const yaml::Node value = *++it;
		if (!key.is_scalar() || key.text() != "segments")
			fail_at(path, key.mark(),
				"unknown key '" + std::string(key.is_scalar() ? key.text() : "") +
					"' (a cluster file holds only 'segments'; underlay and "
					"limits are each host's, in its agent's file)");
		if (!value.is_list())
			continue; // the reader says what is wrong with it
		std::size_t i = 0;
		for (const yaml::Node item : value.children()) {
			if (item.is_map()) {
				const auto fields = item.children();
				for (auto f = fields.begin(); f != fields.end(); ++f, ++f) {
					const yaml::Node name = *f;
					if (name.is_scalar() &&
					    (name.text() == "ports" || name.text() == "flood" ||
					     name.text() == "remotes"))
						fail_at(path, name.mark(),
							"segments[" + std::to_string(i) + "]." +
								std::string(name.text()) +
								": not in a cluster file (each host "
								"publishes its ports; remote MACs and "
								"flood lists follow from them)");
				}
			}
			i++;
		}
	}
}

std::string segment_name_of(const std::string &key)
{
	return key.substr(segments_prefix().size());
}

struct Current {
	std::map<std::string, KeyValue> by_key;
	std::int64_t revision = 0;
};

Current read_segments(Client &client)
{
	RangeResult r = client.range(segments_prefix(), {.prefix = true});
	Current c;
	c.revision = r.revision;
	for (auto &kv : r.kvs)
		c.by_key.emplace(kv.key, std::move(kv));
	return c;
}

Compare unchanged_since(const std::string &key, std::int64_t mod_revision)
{
	return {key, Compare::Target::mod_revision, Compare::Result::equal, mod_revision, {}, false};
}

} // namespace

std::vector<Segment> parse_cluster_file(const std::string &text, const std::string &path)
{
	yaml::Document doc;
	try {
		doc = yaml::parse(text);
	} catch (const yaml::Error &e) {
		fail_at(path, e.mark, e.what());
	}
	check_cluster_shape(doc.items.empty() ? yaml::Node() : yaml::Node(doc, 0), path);
	if (doc.items.empty())
		return {};
	Config cfg = parse_without_underlay(text, path);
	return std::move(cfg.segments);
}

std::vector<Segment> load_cluster_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ConfigError(path + ": cannot read");
	std::ostringstream text;
	text << in.rdbuf();
	return parse_cluster_file(text.str(), path);
}

SegmentsChange apply_segments(Client &client, const std::vector<Segment> &segments)
{
	for (int attempt = 0; attempt < kAttempts; attempt++) {
		const Current cur = read_segments(client);
		SegmentsChange change;
		Txn t;
		std::set<std::string> wanted;
		for (const Segment &s : segments) {
			const std::string key = segment_key(s.name);
			const std::string value = encode(s);
			wanted.insert(key);
			const auto it = cur.by_key.find(key);
			if (it == cur.by_key.end()) {
				t.compares.push_back({key, Compare::Target::create_revision,
						      Compare::Result::equal, 0, {}, false});
				change.added.push_back(s.name);
			} else if (it->second.value != value) {
				t.compares.push_back(unchanged_since(key, it->second.mod_revision));
				change.changed.push_back(s.name);
			} else {
				change.unchanged.push_back(s.name);
				continue;
			}
			t.success.push_back({TxnOp::Kind::put, key, value, 0, false});
		}
		for (const auto &[key, kv] : cur.by_key) {
			if (wanted.count(key))
				continue;
			t.compares.push_back(unchanged_since(key, kv.mod_revision));
			t.success.push_back({TxnOp::Kind::del, key, {}, 0, false});
			change.removed.push_back(segment_name_of(key));
		}
		if (t.success.empty())
			return change;
		if (t.success.size() > kMaxTxnOps)
			throw ConfigError(std::to_string(t.success.size()) +
					  " segment changes at once; etcd takes at most " +
					  std::to_string(kMaxTxnOps) +
					  " in one transaction (--max-txn-ops): apply in steps");
		const TxnResult r = client.txn(t);
		if (r.succeeded) {
			change.revision = r.revision;
			return change;
		}
	}
	throw EtcdError("etcd: the segments kept changing under " + segments_prefix() +
				" while they were being applied; nothing was written",
			0, client.current_endpoint(), segments_prefix());
}

Segment parse_segment(const std::string &name, const std::string &json)
{
	try {
		return std::get<Segment>(parse_record(segment_key(name), json));
	} catch (const BadRecord &e) {
		throw ConfigError("segment " + name + ": " + e.reason());
	}
}

SegmentsChange add_segment(Client &client, const Segment &segment)
{
	const std::string key = segment_key(segment.name);
	// The checks a file's segment gets, through the same reader.
	const Segment s = parse_segment(segment.name, encode(segment));
	for (int attempt = 0; attempt < kAttempts; attempt++) {
		const Current cur = read_segments(client);
		if (cur.by_key.count(key))
			throw ConfigError("segment '" + s.name + "' already exists");
		for (const auto &[k, kv] : cur.by_key) {
			Segment other;
			try {
				other = std::get<Segment>(parse_record(k, kv.value));
			} catch (const BadRecord &) {
				continue; // not a segment anyone can use
			}
			if (other.encap == s.encap && other.id == s.id)
				throw ConfigError(std::string(encap_name(s.encap)) + " " +
						  id_name(s.encap) + " " + std::to_string(s.id) +
						  " is already used by segment '" + other.name + "'");
		}
		// Nothing under the prefix written since the read: the id is
		// still free when the write lands.
		Txn t;
		t.compares.push_back({segments_prefix(), Compare::Target::mod_revision,
				      Compare::Result::less, cur.revision + 1, {}, true});
		t.compares.push_back(
			{key, Compare::Target::create_revision, Compare::Result::equal, 0, {}, false});
		t.success.push_back({TxnOp::Kind::put, key, encode(s), 0, false});
		const TxnResult r = client.txn(t);
		if (r.succeeded) {
			SegmentsChange change;
			change.added.push_back(s.name);
			change.revision = r.revision;
			return change;
		}
	}
	throw EtcdError("etcd: the segments kept changing while segment " + s.name +
				" was being added; nothing was written",
			0, client.current_endpoint(), key);
}

SegmentsChange del_segment(Client &client, const std::string &name)
{
	const std::string key = segment_key(name);
	const auto kv = client.get(key);
	if (!kv)
		throw ConfigError("no segment '" + name + "' in the cluster");
	Txn t;
	t.compares.push_back(unchanged_since(key, kv->mod_revision));
	t.success.push_back({TxnOp::Kind::del, key, {}, 0, false});
	const TxnResult r = client.txn(t);
	if (!r.succeeded)
		throw EtcdError("etcd: segment " + name +
					" changed while it was being removed; nothing was removed",
				0, client.current_endpoint(), key);
	SegmentsChange change;
	change.removed.push_back(name);
	change.revision = r.revision;
	return change;
}

std::vector<NodeStatus> read_nodes(Client &client, const ClusterView &view)
{
	std::vector<NodeStatus> out;
	for (const NodeInfo &n : view.nodes()) {
		NodeStatus st{n, 0, -1};
		if (n.vtep) {
			if (const auto kv = client.get(vtep_key(n.name)); kv && kv->lease) {
				st.lease = kv->lease;
				st.ttl = client.time_to_live(kv->lease);
			}
		}
		out.push_back(std::move(st));
	}
	return out;
}

ClusterView read_cluster(Client &client, const std::string &local)
{
	ViewOptions o;
	o.local_node = local;
	ClusterView view(o);
	const RangeResult r = client.range(std::string(kRoot), {.prefix = true});
	view.resync(r.kvs, r.revision, std::chrono::steady_clock::now());
	return view;
}

} // namespace ovx::cluster
