// A YAML document as the config reader walks it: libyaml's events laid out
// in one array, each node with its position in the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ovx::yaml {

// A position in the file, 0-based as libyaml gives it; none for a document
// that has no node (an empty file).
struct Mark {
	int line = -1;
	int column = -1;
	bool is_null() const { return line < 0; }
};

// What is wrong with the text as YAML, and where.
struct Error : std::runtime_error {
	Error(Mark at, const std::string &what) : std::runtime_error(what), mark(at) {}
	Mark mark;
};

// Every node in document order, a container followed by its subtree,
// scalars' text in one buffer. A million FDB entries are five million
// nodes: a heap object per node, as DOM libraries make them, costs more than
// parsing the file.
struct Document {
	enum class Kind : std::uint8_t { null, scalar, list, map, alias };
	struct Item {
		Kind kind;
		std::uint32_t line, column;
		std::uint32_t next; // the index after this node's subtree
		// A scalar's text in @text; an alias's node; a container's
		// number of children (len).
		std::uint32_t at, len;
	};
	std::vector<Item> items;
	std::string text;
};

// One node of a Document; a default one is null (a document with nothing).
class Node {
public:
	Node() = default;
	Node(const Document &doc, std::uint32_t i);

	bool is_null() const { return !doc_ || item().kind == Kind::null; }
	bool is_scalar() const { return doc_ && item().kind == Kind::scalar; }
	bool is_list() const { return doc_ && item().kind == Kind::list; }
	bool is_map() const { return doc_ && item().kind == Kind::map; }
	// A scalar's text; it lives as long as the Document.
	std::string_view text() const
	{
		return std::string_view(doc_->text).substr(item().at, item().len);
	}
	Mark mark() const;

	// A list's items or a map's keys and values (key, value, key, ...), in
	// order; walked in place, for a list may have a million.
	class Children {
	public:
		class iterator {
		public:
			iterator(const Document *doc, std::uint32_t i) : doc_(doc), i_(i) {}
			Node operator*() const { return Node(*doc_, i_); }
			iterator &operator++()
			{
				i_ = doc_->items[i_].next;
				return *this;
			}
			bool operator==(const iterator &other) const { return i_ == other.i_; }

		private:
			const Document *doc_;
			std::uint32_t i_;
		};
		iterator begin() const { return {doc_, first_}; }
		iterator end() const { return {doc_, end_}; }

	private:
		friend class Node;
		Children(const Document *doc, std::uint32_t first, std::uint32_t end)
			: doc_(doc), first_(first), end_(end)
		{
		}
		const Document *doc_;
		std::uint32_t first_, end_;
	};
	Children children() const;
	std::size_t size() const { return is_list() || is_map() ? item().len : 0; }

private:
	using Kind = Document::Kind;
	const Document::Item &item() const { return doc_->items[i_]; }

	const Document *doc_ = nullptr;
	std::uint32_t i_ = 0;
};

// What parse() refuses, so that a small file cannot cost what a large one
// does. A config nests some six levels; libyaml's scanner is quadratic in
// the depth of flow collections, so depth is cut long before that shows.
inline constexpr std::size_t kMaxDepth = 64;
// Aliases may add as many nodes as the document has itself, or this many
// when that is more: sharing a list between a few segments is fine, a
// "billion laughs" (each level aliasing the one before ten times) is not.
inline constexpr std::uint64_t kMaxAliasedNodes = 100000;

// The first document of @text, its root at index 0 (none: no document).
// Later documents are parsed, so that a syntax error in them is one, but
// refused: anything after the first would be silently ignored. Also refused:
// NUL in any scalar (C APIs would see a shorter name), nesting deeper than
// kMaxDepth, aliases that expand beyond the limit above or into themselves.
// Throws Error.
Document parse(const std::string &text);

// @text in single quotes for a message: at most 64 characters of it (then
// "..."), control characters as \xNN, so that a value can neither flood a
// log nor write to the terminal.
std::string quoted(std::string_view text);

} // namespace ovx::yaml
