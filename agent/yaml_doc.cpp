// libyaml's event parser into a yaml::Document.
#include "agent/yaml_doc.h"

#include <algorithm>
#include <limits>
#include <new>
#include <unordered_map>

#include <yaml.h>

namespace ovx::yaml {
namespace {

Mark mark_of(const yaml_mark_t &m)
{
	return {static_cast<int>(m.line), static_cast<int>(m.column)};
}

// Where libyaml stopped, with what it was reading then.
[[noreturn]] void syntax_error(const yaml_parser_t &p, const std::string &text)
{
	Mark at = mark_of(p.problem_mark);
	// Undecodable input has only a byte offset.
	if (p.error == YAML_READER_ERROR) {
		const std::string_view before =
			std::string_view(text).substr(0, std::min(p.problem_offset, text.size()));
		const std::size_t nl = before.rfind('\n');
		at.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
		at.column = static_cast<int>(nl == std::string_view::npos ? before.size()
									  : before.size() - nl - 1);
	}
	std::string what = p.problem ? p.problem : "cannot parse";
	if (p.context)
		what += " (" + std::string(p.context) + " that starts at line " +
			std::to_string(p.context_mark.line + 1) + ")";
	throw Error(at, "YAML syntax error: " + what);
}

} // namespace

Node::Node(const Document &doc, std::uint32_t i) : doc_(&doc), i_(i)
{
	// An alias is the node its anchor names (YAML 1.2, 3.2.2.2).
	if (item().kind == Kind::alias)
		i_ = item().at;
}

Mark Node::mark() const
{
	if (!doc_)
		return {};
	return {static_cast<int>(item().line), static_cast<int>(item().column)};
}

Node::Children Node::children() const
{
	if (!size())
		return {doc_, 0, 0};
	return {doc_, i_ + 1, item().next};
}

Document parse(const std::string &text)
{
	using Kind = Document::Kind;
	if (text.size() >= std::numeric_limits<std::uint32_t>::max())
		throw Error({}, "too large (at most 4 GiB)");
	struct Parser {
		yaml_parser_t p;
		Parser()
		{
			if (!yaml_parser_initialize(&p))
				throw std::bad_alloc();
		}
		~Parser() { yaml_parser_delete(&p); }
	} parser;
	yaml_parser_set_input_string(&parser.p, reinterpret_cast<const unsigned char *>(text.data()),
				     text.size());
	struct Event {
		yaml_event_t e;
		~Event() { yaml_event_delete(&e); }
	};

	Document doc;
	// Room for the files people write (a node takes a few bytes of text),
	// so that a million entries are never copied to grow the arrays; pages
	// never written are never touched.
	doc.items.reserve(text.size() / 2 + 1);
	doc.text.reserve(text.size());
	// Containers not ended yet, each with the alias growth (see below) at
	// its start.
	struct Open {
		std::uint32_t at;
		std::uint64_t aliased;
	};
	std::vector<Open> open;
	std::unordered_map<std::string, std::uint32_t> anchors;
	// Nodes that aliases add when the document is walked (an alias of a
	// subtree of n nodes adds n - 1), and each anchored node's size so
	// walked: a reader visits every node of every alias.
	std::uint64_t aliased = 0;
	std::unordered_map<std::uint32_t, std::uint64_t> anchored_size;
	int documents = 0;
	std::size_t later_depth = 0; // in the documents after the first
	Mark second; // where the second document's content starts
	for (;;) {
		Event ev;
		if (!yaml_parser_parse(&parser.p, &ev.e))
			syntax_error(parser.p, text);
		const yaml_event_t &e = ev.e;
		if (e.type == YAML_STREAM_END_EVENT)
			break;
		if (e.type == YAML_DOCUMENT_START_EVENT)
			documents++;
		const Mark at = mark_of(e.start_mark);
		const auto too_deep = [&] {
			return Error(at, "YAML nested deeper than " + std::to_string(kMaxDepth) + " levels");
		};
		if (documents > 1) {
			if (second.is_null() && e.type != YAML_DOCUMENT_START_EVENT &&
			    e.type != YAML_DOCUMENT_END_EVENT)
				second = at;
			// Read for its syntax errors only, but no deeper than the first.
			if (e.type == YAML_SEQUENCE_START_EVENT || e.type == YAML_MAPPING_START_EVENT) {
				if (++later_depth > kMaxDepth)
					throw too_deep();
			} else if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
				later_depth--;
			}
			continue;
		}

		const auto add = [&](Kind kind, const yaml_char_t *anchor, std::uint32_t from,
				     std::uint32_t len) {
			const auto i = static_cast<std::uint32_t>(doc.items.size());
			if (!open.empty())
				doc.items[open.back().at].len++;
			doc.items.push_back({kind, static_cast<std::uint32_t>(at.line),
					     static_cast<std::uint32_t>(at.column), i + 1, from, len});
			if (anchor) {
				anchors[reinterpret_cast<const char *>(anchor)] = i;
				anchored_size[i] = 1; // a container's is known at its end
			}
			return i;
		};
		const auto start = [&](Kind kind, const yaml_char_t *anchor) {
			if (open.size() == kMaxDepth)
				throw too_deep();
			open.push_back({add(kind, anchor, 0, 0), aliased});
		};
		switch (e.type) {
		case YAML_SCALAR_EVENT: {
			const std::string_view value(reinterpret_cast<const char *>(e.data.scalar.value),
						     e.data.scalar.length);
			// "vm1\0b" would be "vm1" to the kernel and to every C string.
			if (value.find('\0') != std::string_view::npos)
				throw Error(at, "NUL character in " + quoted(value));
			// YAML 1.2's core schema nulls, only as untagged plain scalars.
			const bool null = e.data.scalar.plain_implicit &&
					  (value.empty() || value == "~" || value == "null" ||
					   value == "Null" || value == "NULL");
			add(null ? Kind::null : Kind::scalar, e.data.scalar.anchor,
			    static_cast<std::uint32_t>(doc.text.size()),
			    static_cast<std::uint32_t>(value.size()));
			doc.text += value;
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
			start(Kind::list, e.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			start(Kind::map, e.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			const Open o = open.back();
			open.pop_back();
			const auto end = static_cast<std::uint32_t>(doc.items.size());
			doc.items[o.at].next = end;
			if (const auto it = anchored_size.find(o.at); it != anchored_size.end())
				it->second = end - o.at + (aliased - o.aliased);
			break;
		}
		case YAML_ALIAS_EVENT: {
			const char *name = reinterpret_cast<const char *>(e.data.alias.anchor);
			const auto it = anchors.find(name);
			if (it == anchors.end())
				throw Error(at, "YAML syntax error: unknown anchor " + quoted(name));
			// An alias inside its own anchor's node would be a cycle.
			if (std::any_of(open.begin(), open.end(),
					[&](const Open &o) { return o.at == it->second; }))
				throw Error(at, "alias " + quoted(name) + " refers to a node that contains it");
			aliased += anchored_size.at(it->second) - 1;
			const std::uint64_t own = doc.items.size() + 1;
			if (aliased > std::max(kMaxAliasedNodes, own))
				throw Error(at, "aliases expand the document by more than " +
							std::to_string(std::max(kMaxAliasedNodes, own)) +
							" nodes (at most its own size or " +
							std::to_string(kMaxAliasedNodes) + ")");
			add(Kind::alias, nullptr, it->second, 0);
			break;
		}
		default:
			break;
		}
	}
	if (documents > 1)
		throw Error(second, "only one YAML document is allowed per file");
	return doc;
}

std::string quoted(std::string_view text)
{
	constexpr std::size_t kShown = 64;
	std::string out = "'";
	for (const char c : text.substr(0, kShown)) {
		const auto u = static_cast<unsigned char>(c);
		if (u < 0x20 || u == 0x7f) {
			static constexpr char kHex[] = "0123456789abcdef";
			out += {'\\', 'x', kHex[u >> 4], kHex[u & 15]};
		} else {
			out += c;
		}
	}
	if (text.size() > kShown)
		out += "...";
	return out + "'";
}

} // namespace ovx::yaml
