// Reading and validating the YAML description of one host.
#include "agent/config.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "agent/yaml_doc.h"
#include "maps/error.h"
#include "maps/read_file.h"

namespace ovx {
namespace {

constexpr std::size_t kNameMax = OVX_NAME_LEN - 1; // the ABI keeps a NUL
constexpr std::size_t kIfNameMax = IFNAMSIZ - 1;
constexpr std::uint64_t kAgingMax = 86400;
constexpr std::uint64_t kFdbMin = 1024;
constexpr std::uint64_t kFdbMax = 16777216;
// A full FDB of static entries (kFdbMax, some 53 bytes of YAML each) fits;
// anything larger is not a config.
constexpr std::uint64_t kFileMax = std::uint64_t{1} << 30;

// Segment ids per encapsulation: 24-bit VNIs (RFC 7348, RFC 8926), NVGRE
// VSIDs without the reserved 0-0xfff and 0xffffff (RFC 7637 3.2), and STT's
// 64-bit context IDs. 0 is kept out everywhere: it is nobody's segment.
std::uint64_t id_min(ovx_encap encap)
{
	return encap == OVX_ENCAP_NVGRE ? 0x1000 : 1;
}

std::uint64_t id_max(ovx_encap encap)
{
	switch (encap) {
	case OVX_ENCAP_NVGRE:
		return OVX_VNI_MAX - 1;
	case OVX_ENCAP_STT:
		return UINT64_MAX;
	default:
		return OVX_VNI_MAX;
	}
}

using yaml::Mark;
using yaml::Node;
using yaml::quoted;

// Where a node sits, e.g. "segments[1].ports[0].mac": spelled out only for
// a message, for each of a million FDB entries has one. A path points at
// its parent's, which outlives it.
struct Path {
	const Path *parent = nullptr; // none: the document itself
	std::string_view key;         // a map's entry, or
	std::optional<std::size_t> index; // a list's item

	std::string str() const
	{
		if (!parent)
			return "";
		std::string out = parent->str();
		if (index)
			return out + "[" + std::to_string(*index) + "]";
		// A key is the file's text: an unknown one may be long or hold
		// control characters, and then shows cut and escaped.
		const bool plain = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
			return c >= 0x20 && c < 0x7f;
		});
		const std::string k = plain ? std::string(key) : quoted(key);
		return out.empty() ? k : out + "." + k;
	}
};

// One node to read, with what an error message needs to point at it.
struct Value {
	Node node;
	Path path;
	// The parser gives a null node the position of the token after it, often
	// on a later line; a missing value is reported here instead.
	Mark null_at;
};

// The entries of one YAML map, in file order: a few keys each, searched
// faster in a row than in a tree.
using Fields = std::vector<std::pair<std::string_view, Value>>;

// Something an earlier part of the file already took, for duplicate errors.
struct Claim {
	std::string by;
	int line;
};

Origin origin_of(const Mark &mark)
{
	// Only an empty document has no position; its start is the best guess.
	if (mark.is_null())
		return {1, 1};
	return {mark.line + 1, mark.column + 1};
}

Mark where(const Value &v)
{
	return v.node.is_null() ? v.null_at : v.node.mark();
}

int line_of(const Value &v)
{
	return origin_of(where(v)).line;
}

std::string describe(const Node &node)
{
	if (node.is_scalar())
		return quoted(node.text());
	if (node.is_list())
		return "a list";
	if (node.is_map())
		return "a map";
	return "nothing";
}

Location located(const std::string &file, Origin at, const std::string &path)
{
	return {file, at.line, at.column, path};
}

std::string line_note(int line)
{
	return "(line " + std::to_string(line) + ")";
}

bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

// Reads one document, failing on the first problem found. Duplicate checks
// span segments, so one Reader reads one file.
class Reader {
public:
	explicit Reader(const std::string &file) : file_(file) {}

	Config read(const Node &root);

private:
	[[noreturn]] void fail(const Value &v, const std::string &what) const
	{
		throw ConfigError(located(file_, origin_of(where(v)), v.path.str()), what);
	}

	Fields fields(const Value &map, std::initializer_list<std::string_view> allowed) const;
	const Value &need(const Value &map, const Fields &fields, std::string_view key) const;
	template <typename F> void each(const Value &list, F &&f) const;
	std::vector<Value> items(const Value &list) const;

	std::string_view scalar(const Value &v) const;
	std::uint64_t integer(const Value &v, const char *noun, std::uint64_t lo,
			      std::uint64_t hi) const;
	bool boolean(const Value &v) const;
	std::string name(const Value &v, const char *noun) const;
	std::string ifname(const Value &v) const;
	Mac unicast_mac(const Value &v) const;
	IpAddr vtep(const Value &v) const;
	IpAddr remote_vtep(const Value &v, const Underlay &underlay, int &family,
			   int &family_line) const;
	void underlay_addresses(const Value &v, Underlay &u) const;
	XdpMode xdp_mode(const Value &v) const;
	Delivery delivery(const Value &v) const;
	ovx_encap encap(const Value &v) const;

	Underlay read_underlay(const Value &v) const;
	Limits read_limits(const Value &v) const;
	Segment read_segment(const Value &v, const Underlay &underlay);

	const std::string &file_;
	std::map<std::string, int, std::less<>> segment_names_; // -> line
	std::map<std::pair<ovx_encap, std::uint64_t>, Claim> vnis_;
	std::map<std::string, Claim, std::less<>> port_names_; // by segment
	std::size_t n_ports_ = 0;
	std::size_t n_flood_ = 0;
};

const Value *find(const Fields &fields, std::string_view key)
{
	for (const auto &[k, v] : fields)
		if (k == key)
			return &v;
	return nullptr;
}

// A null map is read as an empty one: "limits:" with every entry commented
// out means "all defaults", and a missing required key is reported anyway.
Fields Reader::fields(const Value &map,
			      std::initializer_list<std::string_view> allowed) const
{
	if (!map.node.is_null() && !map.node.is_map())
		fail(map, "expected a map, got " + describe(map.node));

	Fields out;
	if (map.node.is_null())
		return out;
	out.reserve(map.node.size() / 2);
	const auto children = map.node.children();
	for (auto it = children.begin(); it != children.end(); ++it) {
		const Value key{*it, map.path, where(map)};
		if (!key.node.is_scalar())
			fail(key, "expected a key name, got " + describe(key.node));
		// The document's text outlives every Path that names it.
		const std::string_view k = key.node.text();
		const Value value{*++it, {&map.path, k, {}}, key.node.mark()};
		if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
			std::string expected;
			for (const std::string_view a : allowed)
				expected += (expected.empty() ? "" : ", ") + std::string(a);
			fail({key.node, value.path, {}},
			     "unknown key " + quoted(k) + " (expected one of: " + expected + ")");
		}
		// The parser keeps both entries of a repeated key; one would be
		// silently ignored, so neither is taken.
		if (const Value *first = find(out, k))
			fail({key.node, value.path, {}},
			     "duplicate key " + quoted(k) + ", first at line " +
				     std::to_string(origin_of(first->null_at).line));
		out.emplace_back(k, value);
	}
	return out;
}

const Value &Reader::need(const Value &map, const Fields &fields, std::string_view key) const
{
	const Value *v = find(fields, key);
	if (!v)
		fail({map.node, {&map.path, key, {}}, map.null_at}, "required key is missing");
	return *v;
}

// Calls @f(item, index) for each item of a list, in order: a million
// remotes are read without a million Values at once. Optional lists may be
// left empty ("segments:") as well as missing.
template <typename F> void Reader::each(const Value &list, F &&f) const
{
	if (!list.node.is_null() && !list.node.is_list())
		fail(list, "expected a list, got " + describe(list.node));
	std::size_t i = 0;
	for (const Node &node : list.node.children()) {
		f(Value{node, {&list.path, {}, i}, where(list)}, i);
		i++;
	}
}

std::vector<Value> Reader::items(const Value &list) const
{
	std::vector<Value> out;
	out.reserve(list.node.size());
	each(list, [&](const Value &item, std::size_t) { out.push_back(item); });
	return out;
}

// The text lives as long as the document.
std::string_view Reader::scalar(const Value &v) const
{
	if (v.node.is_null())
		fail(v, "missing value");
	if (!v.node.is_scalar())
		fail(v, "expected a single value, got " + describe(v.node));
	return v.node.text();
}

std::uint64_t Reader::integer(const Value &v, const char *noun, std::uint64_t lo,
			      std::uint64_t hi) const
{
	const std::string_view text = scalar(v);
	std::uint64_t n = 0;
	const char *end = text.data() + text.size();
	// A negative number is a number out of range, not a typo.
	const bool negative = text.size() > 1 && text[0] == '-';
	const auto [ptr, ec] = std::from_chars(text.data() + negative, end, n);
	const bool too_big = (ec == std::errc::result_out_of_range || negative) && ptr == end;
	if (!too_big && (ec != std::errc() || ptr != end))
		fail(v, std::string(noun) + " " + quoted(text) + " is not an integer");
	if (too_big || n < lo || n > hi)
		fail(v, std::string(noun) + " " + quoted(text) + " is out of range (expected " +
				std::to_string(lo) + ".." + std::to_string(hi) + ")");
	return n;
}

// Only YAML 1.2's spellings: 1.1's yes/no/on/off surprise people ("no" as a
// country code), so they are an error rather than a guess.
bool Reader::boolean(const Value &v) const
{
	const std::string_view text = scalar(v);
	if (text == "true" || text == "True" || text == "TRUE")
		return true;
	if (text == "false" || text == "False" || text == "FALSE")
		return false;
	fail(v, "expected true or false, got " + quoted(text));
}

std::string Reader::name(const Value &v, const char *noun) const
{
	const std::string_view text = scalar(v);
	if (text.empty())
		fail(v, std::string(noun) + " must not be empty");
	if (text.size() > kNameMax)
		fail(v, std::string(noun) + " " + quoted(text) + " is too long (at most " +
				std::to_string(kNameMax) + " characters)");
	for (const char c : text)
		if (!is_name_char(c))
			fail(v, std::string(noun) + " " + quoted(text) +
					" may only contain A-Z, a-z, 0-9, '_', '.' and '-'");
	return std::string(text);
}

// The kernel's own rule (dev_valid_name), so that a name accepted here can
// exist at all.
std::string Reader::ifname(const Value &v) const
{
	const std::string_view text = scalar(v);
	if (text.empty())
		fail(v, "interface name must not be empty");
	if (text.size() > kIfNameMax)
		fail(v, "interface name " + quoted(text) + " is too long (at most " +
				std::to_string(kIfNameMax) + " characters)");
	bool valid = text != "." && text != "..";
	for (const char c : text)
		valid = valid && c != '/' && c != ':' && c != ' ' && (c < '\t' || c > '\r');
	if (!valid)
		fail(v, "interface name " + quoted(text) +
				" is not valid (no '/', ':' or white space; not '.' or '..')");
	return std::string(text);
}

// A port's or a remote's MAC is where frames are delivered, so it must be
// one station's address.
Mac Reader::unicast_mac(const Value &v) const
{
	const std::string_view text = scalar(v);
	const std::optional<Mac> mac = parse_mac(text);
	if (!mac)
		fail(v, "malformed MAC address " + quoted(text));
	if ((*mac)[0] & 1)
		fail(v, "MAC address " + quoted(text) + " is a multicast address");
	if (*mac == Mac{})
		fail(v, "MAC address " + quoted(text) + " is all zero");
	return *mac;
}

IpAddr Reader::vtep(const Value &v) const
{
	const std::string_view text = scalar(v);
	const std::optional<IpAddr> addr = parse_ip(std::string(text));
	if (!addr)
		fail(v, "malformed IP address " + quoted(text));
	const auto &b = addr->bytes;
	if (addr->family == AF_INET) {
		// Overlay frames go to one host each: 0/8 is "this network",
		// 224/4 multicast and 240/4 reserved, broadcast included.
		if (b[0] == 0 || b[0] >= 224)
			fail(v, quoted(text) + " is not a unicast host address");
		// The programs would hand every frame for it to this host's own
		// stack: a tenant's frames would reach the host.
		if (b[0] == 127)
			fail(v, quoted(text) + " is a loopback address");
		return *addr;
	}
	const auto zero = [](std::uint8_t x) { return x == 0; };
	const bool first80_zero = std::all_of(b.begin(), b.begin() + 10, zero);
	if (b[0] == 0xff)
		fail(v, quoted(text) + " is a multicast address");
	// ::/96 holds the unspecified and the loopback address and the
	// deprecated IPv4-compatible ones; ::ffff:0:0/96 is IPv4 written as
	// IPv6, which the wire never carries.
	if (first80_zero && b[10] == 0 && b[11] == 0)
		fail(v, quoted(text) + (b[15] == 1 && std::all_of(b.begin(), b.end() - 1, zero)
						? " is the loopback address"
						: " is not a unicast host address"));
	if (first80_zero && b[10] == 0xff && b[11] == 0xff)
		fail(v, quoted(text) + " is an IPv4-mapped address; write the IPv4 address");
	// The programs look routes up without a scope, so link-local is out.
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		fail(v, quoted(text) + " is link-local; use a global or unique local address");
	return *addr;
}

// Every VTEP of a segment shares one family: flooding encapsulates a frame
// once and then only readdresses each copy.
IpAddr Reader::remote_vtep(const Value &v, const Underlay &underlay, int &family,
			   int &family_line) const
{
	const IpAddr addr = vtep(v);
	const char *fam = addr.family == AF_INET ? "IPv4" : "IPv6";
	if (underlay.address(addr.family).family == 0)
		fail(v, "VTEP " + quoted(format_ip(addr)) + " is " + fam +
				" but underlay.address has no " + fam + " address");
	if (addr == underlay.address(addr.family))
		fail(v, quoted(scalar(v)) + " is this host's own address (underlay.address)");
	if (family && family != addr.family)
		fail(v, "VTEP " + quoted(format_ip(addr)) + " is " + fam +
				" but this segment's VTEPs are " +
				(family == AF_INET ? "IPv4 " : "IPv6 ") + line_note(family_line) +
				"; a segment's VTEPs share one family");
	if (!family) {
		family = addr.family;
		family_line = line_of(v);
	}
	return addr;
}

// One address, or a list of at most one IPv4 and one IPv6 address.
void Reader::underlay_addresses(const Value &v, Underlay &u) const
{
	std::vector<Value> list;
	if (v.node.is_list())
		list = items(v);
	else
		list.push_back(v);
	if (list.empty())
		fail(v, "expected an IPv4 address, an IPv6 address, or one of each");
	for (const Value &item : list) {
		const IpAddr addr = vtep(item);
		IpAddr &slot = addr.family == AF_INET ? u.address4 : u.address6;
		if (slot.family)
			fail(item, "a second " + std::string(addr.family == AF_INET ? "IPv4" : "IPv6") +
					   " address; give at most one of each family");
		slot = addr;
	}
}

XdpMode Reader::xdp_mode(const Value &v) const
{
	const std::string_view text = scalar(v);
	for (const XdpMode m : kXdpModes)
		if (text == xdp_mode_name(m))
			return m;
	fail(v, "unknown mode " + quoted(text) +
			     " (expected auto, native, generic, offload or tc)");
}

Delivery Reader::delivery(const Value &v) const
{
	const std::string_view text = scalar(v);
	for (const Delivery d : {Delivery::automatic, Delivery::xdp, Delivery::tc})
		if (text == delivery_name(d))
			return d;
	fail(v, "unknown delivery " + quoted(text) + " (expected auto, xdp or tc)");
}

ovx_encap Reader::encap(const Value &v) const
{
	const std::string_view text = scalar(v);
	for (const ovx_encap e : {OVX_ENCAP_VXLAN, OVX_ENCAP_NVGRE, OVX_ENCAP_STT, OVX_ENCAP_GENEVE})
		if (text == encap_name(e))
			return e;
	fail(v, "unknown encapsulation " + quoted(text) +
			" (expected vxlan, nvgre, stt or geneve)");
}

Underlay Reader::read_underlay(const Value &v) const
{
	const Fields f =
		fields(v, {"interface", "address", "mode", "port", "geneve_port", "offload"});
	Underlay u;
	const Value &ifv = need(v, f, "interface");
	u.interface = ifname(ifv);
	u.interface_origin = origin_of(where(ifv));
	underlay_addresses(need(v, f, "address"), u);
	if (const Value *m = find(f, "mode"))
		u.mode = xdp_mode(*m);
	if (const Value *p = find(f, "port"))
		u.vxlan_port = static_cast<std::uint16_t>(integer(*p, "port", 1, 65535));
	if (const Value *p = find(f, "geneve_port"))
		u.geneve_port = static_cast<std::uint16_t>(integer(*p, "port", 1, 65535));
	if (const Value *o = find(f, "offload")) {
		const Fields of = fields(*o, {"relay"});
		if (const Value *r = find(of, "relay"))
			u.offload_relay = boolean(*r);
		if (u.mode != XdpMode::offload)
			fail(*o, std::string("needs mode: offload (the relay runs on the NIC; the mode is ") +
					 xdp_mode_name(u.mode) + ")");
	}
	if (u.vxlan_port == u.geneve_port)
		fail(*find(f, find(f, "geneve_port") ? "geneve_port" : "port"),
		     "VXLAN and Geneve need different UDP ports (both are " +
			     std::to_string(u.vxlan_port) + ")");
	return u;
}

Limits Reader::read_limits(const Value &v) const
{
	const Fields f = fields(v, {"fdb_entries"});
	Limits l;
	if (const Value *n = find(f, "fdb_entries"))
		l.fdb_entries = static_cast<std::uint32_t>(integer(*n, "FDB size", kFdbMin, kFdbMax));
	return l;
}

Segment Reader::read_segment(const Value &v, const Underlay &underlay)
{
	const Fields f = fields(v, {"name", "tenant", "encap", "id", "learning", "aging",
				    "learn_limit", "flood", "ports", "remotes"});
	Segment s;
	s.origin = origin_of(where(v));

	const Value &namev = need(v, f, "name");
	s.name = name(namev, "segment name");
	if (const auto [it, fresh] = segment_names_.try_emplace(s.name, line_of(namev)); !fresh)
		fail(namev, "segment name " + quoted(s.name) + " is already used " +
				    line_note(it->second));
	s.tenant = name(need(v, f, "tenant"), "tenant name");
	if (const Value *e = find(f, "encap"))
		s.encap = encap(*e);

	const Value &idv = need(v, f, "id");
	s.id = integer(idv, id_name(s.encap), id_min(s.encap), id_max(s.encap));
	if (const auto [it, fresh] = vnis_.try_emplace({s.encap, s.id}, Claim{s.name, line_of(idv)});
	    !fresh)
		fail(idv, std::string(encap_name(s.encap)) + " " + id_name(s.encap) + " " +
				  std::to_string(s.id) + " is already used by segment " +
				  quoted(it->second.by) + " " + line_note(it->second.line));

	if (const Value *l = find(f, "learning"))
		s.learning = boolean(*l);
	if (const Value *a = find(f, "aging"))
		s.aging_sec = static_cast<std::uint32_t>(integer(*a, "aging time", 0, kAgingMax));
	if (const Value *l = find(f, "learn_limit"))
		s.learn_limit = static_cast<std::uint32_t>(integer(*l, "learning limit", 1, kFdbMax));

	int family = 0, family_line = 0;
	if (const Value *fl = find(f, "flood")) {
		std::map<IpAddr, int> seen;
		const std::vector<Value> list = items(*fl);
		for (std::size_t i = 0; i < list.size(); i++) {
			if (i == OVX_MAX_FLOOD_VTEPS)
				fail(list[i], "too many flood VTEPs (at most " +
						      std::to_string(OVX_MAX_FLOOD_VTEPS) + ")");
			if (++n_flood_ > OVX_MAX_VTEPS)
				fail(list[i], "too many flood VTEPs (at most " +
						      std::to_string(OVX_MAX_VTEPS) +
						      " in all segments together)");
			const IpAddr addr = remote_vtep(list[i], underlay, family, family_line);
			if (const auto [it, fresh] = seen.try_emplace(addr, line_of(list[i])); !fresh)
				fail(list[i], "VTEP " + quoted(format_ip(addr)) +
						      " is already in this flood list " +
						      line_note(it->second));
			s.flood.push_back(addr);
		}
	}

	// A MAC may appear once per segment: two places for one address would
	// make the FDB entry depend on which was written last.
	// Hashed, and the claiming item (of the ports or the remotes) named
	// only in the message: a segment may have a million remotes.
	struct MacClaim {
		const Path *list;
		std::uint32_t index;
		int line;
	};
	struct MacHash {
		std::size_t operator()(const Mac &m) const
		{
			std::uint64_t x = 0;
			std::memcpy(&x, m.data(), m.size());
			return std::hash<std::uint64_t>{}(x);
		}
	};
	std::unordered_map<Mac, MacClaim, MacHash> macs;
	const auto claim_mac = [&](const Value &macv, const Mac &mac, const Value &by) {
		const MacClaim claim{by.path.parent, static_cast<std::uint32_t>(*by.path.index),
				     line_of(macv)};
		if (const auto [it, fresh] = macs.try_emplace(mac, claim); !fresh)
			fail(macv, "MAC address " + quoted(format_mac(mac)) + " is already used by " +
					   Path{it->second.list, {}, it->second.index}.str() + " " +
					   line_note(it->second.line));
	};

	if (const Value *pl = find(f, "ports")) {
		const std::vector<Value> list = items(*pl);
		for (std::size_t i = 0; i < list.size(); i++) {
			if (i == OVX_MAX_FLOOD_PORTS)
				fail(list[i], "too many ports in one segment (at most " +
						      std::to_string(OVX_MAX_FLOOD_PORTS) + ")");
			if (++n_ports_ > OVX_MAX_PORTS)
				fail(list[i], "too many ports (at most " +
						      std::to_string(OVX_MAX_PORTS) +
						      " in all segments together)");
			const Fields pf = fields(list[i], {"interface", "mac", "delivery"});
			Port p;
			const Value &ifv = need(list[i], pf, "interface");
			p.interface = ifname(ifv);
			// The interface is what the caller reports on (it may not
			// exist), so the port's origin is the name, not the map.
			p.origin = origin_of(where(ifv));
			if (p.interface == underlay.interface)
				fail(ifv, "interface " + quoted(p.interface) +
						  " is the underlay interface " +
						  line_note(underlay.interface_origin.line));
			if (const auto [it, fresh] = port_names_.try_emplace(
				    p.interface, Claim{s.name, p.origin.line});
			    !fresh)
				fail(ifv, "interface " + quoted(p.interface) +
						  " is already a port of segment " +
						  quoted(it->second.by) + " " +
						  line_note(it->second.line));
			const Value &macv = need(list[i], pf, "mac");
			p.mac = unicast_mac(macv);
			claim_mac(macv, p.mac, list[i]);
			if (const Value *dv = find(pf, "delivery"))
				p.delivery = delivery(*dv);
			s.ports.push_back(p);
		}
	}

	if (const Value *rl = find(f, "remotes")) {
		macs.reserve(macs.size() + rl->node.size());
		s.remotes.reserve(rl->node.size());
		each(*rl, [&](const Value &rv, std::size_t) {
			const Fields rf = fields(rv, {"mac", "vtep"});
			Remote r;
			r.origin = origin_of(where(rv));
			const Value &macv = need(rv, rf, "mac");
			r.mac = unicast_mac(macv);
			claim_mac(macv, r.mac, rv);
			r.vtep = remote_vtep(need(rv, rf, "vtep"), underlay, family, family_line);
			s.remotes.push_back(r);
		});
	}
	return s;
}

Config Reader::read(const Node &root)
{
	const Value top{root, {}, root.mark()};
	if (!root.is_map())
		fail(top, "expected a map with 'underlay' and 'segments' at the top level, got " +
				  describe(root));
	const Fields f = fields(top, {"underlay", "limits", "segments"});

	Config cfg;
	cfg.path = file_;
	cfg.underlay = read_underlay(need(top, f, "underlay"));
	if (const Value *l = find(f, "limits"))
		cfg.limits = read_limits(*l);
	if (const Value *sl = find(f, "segments")) {
		const std::vector<Value> list = items(*sl);
		// Segment id 0 means "no segment" in the maps.
		constexpr std::size_t max_segments = OVX_MAX_SEGMENTS - 1;
		for (std::size_t i = 0; i < list.size(); i++) {
			if (i == max_segments)
				fail(list[i], "too many segments (at most " +
						      std::to_string(max_segments) + ")");
			cfg.segments.push_back(read_segment(list[i], cfg.underlay));
		}
	}
	return cfg;
}

} // namespace

Config load_config(const std::string &path)
{
	try {
		return parse_config(read_regular_file(path, kFileMax), path);
	} catch (const FileError &e) {
		throw ConfigError(path + ": " + e.what());
	}
}

Config parse_config(const std::string &text, const std::string &path)
{
	yaml::Document doc;
	try {
		doc = yaml::parse(text);
	} catch (const yaml::Error &e) {
		throw ConfigError(located(path, origin_of(e.mark), ""), e.what());
	}
	return Reader(path).read(doc.items.empty() ? Node() : Node(doc, 0));
}

std::string format_mac(const Mac &mac)
{
	char buf[18];
	std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		      mac[3], mac[4], mac[5]);
	return buf;
}

std::string format_ip(const IpAddr &addr)
{
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(addr.family, addr.bytes.data(), buf, sizeof(buf)))
		return "unset";
	return buf;
}

std::optional<Mac> parse_mac(std::string_view text)
{
	Mac mac{};
	if (text.size() != 17)
		return std::nullopt;
	for (std::size_t i = 0; i < mac.size(); i++) {
		const std::size_t at = i * 3;
		const int hi = hex_digit(text[at]);
		const int lo = hex_digit(text[at + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && text[at + 2] != ':'))
			return std::nullopt;
		mac[i] = static_cast<std::uint8_t>(hi << 4 | lo);
	}
	return mac;
}

std::optional<IpAddr> parse_ip(const std::string &text)
{
	// inet_pton would stop at an embedded NUL and accept the prefix.
	if (text.find('\0') != std::string::npos)
		return std::nullopt;
	IpAddr addr;
	for (const int family : {AF_INET, AF_INET6}) {
		if (inet_pton(family, text.c_str(), addr.bytes.data()) == 1) {
			addr.family = family;
			return addr;
		}
	}
	return std::nullopt;
}

const IpAddr &Underlay::address(int family) const
{
	return family == AF_INET6 ? address6 : address4;
}

int Segment::vtep_family() const
{
	if (!flood.empty())
		return flood.front().family;
	return remotes.empty() ? 0 : remotes.front().vtep.family;
}

const char *id_name(ovx_encap encap)
{
	switch (encap) {
	case OVX_ENCAP_NVGRE:
		return "VSID";
	case OVX_ENCAP_STT:
		return "context ID";
	default:
		return "VNI";
	}
}

// Values read back from the maps are not checked against the enum, so an
// unknown one gets a name rather than a crash.
const char *encap_name(ovx_encap encap)
{
	switch (encap) {
	case OVX_ENCAP_VXLAN:
		return "vxlan";
	case OVX_ENCAP_NVGRE:
		return "nvgre";
	case OVX_ENCAP_STT:
		return "stt";
	case OVX_ENCAP_GENEVE:
		return "geneve";
	}
	return "unknown";
}

const char *xdp_mode_name(XdpMode mode)
{
	switch (mode) {
	case XdpMode::native:
		return "native";
	case XdpMode::generic:
		return "generic";
	case XdpMode::offload:
		return "offload";
	case XdpMode::tc:
		return "tc";
	case XdpMode::automatic:
		return "auto";
	}
	return "unknown";
}

const char *delivery_name(Delivery delivery)
{
	switch (delivery) {
	case Delivery::xdp:
		return "xdp";
	case Delivery::tc:
		return "tc";
	case Delivery::automatic:
		break;
	}
	return "auto";
}

} // namespace ovx
