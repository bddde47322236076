// The NFP offload rule checker: reads a compiled BPF object (its programs'
// instructions through libbpf, its relocations through libelf) and reports
// every rule of the Netronome NFP BPF JIT that the object breaks, before any
// card sees it. The rules, and what each check can and cannot see, are in
// docs/OFFLOAD.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ovx::offload {

// One named check per rule. A hardware rule is one the nfp driver enforces
// (docs/OFFLOAD.md names its function); a policy is ovx's own choice, kept
// by name and switchable (Options::policies).
enum class RuleKind { hardware, policy };

struct Rule {
	std::string_view name;
	std::string_view summary;
	RuleKind kind = RuleKind::hardware;
};

namespace rule {
inline constexpr std::string_view verdict = "verdict"; // policy
inline constexpr std::string_view helper = "helper";
inline constexpr std::string_view map_type = "map-type";
inline constexpr std::string_view map_flags = "map-flags";
inline constexpr std::string_view map_element_size = "map-element-size";
inline constexpr std::string_view map_limits = "map-limits";
inline constexpr std::string_view global_data = "global-data";
inline constexpr std::string_view tail_call = "tail-call";
inline constexpr std::string_view map_write = "map-write";
inline constexpr std::string_view map_value_use = "map-value-use";
inline constexpr std::string_view atomic_init = "atomic-init";
inline constexpr std::string_view stack_offset = "stack-offset";
inline constexpr std::string_view stack_consistency = "stack-consistency";
inline constexpr std::string_view stack_size = "stack-size";
inline constexpr std::string_view context = "context";
inline constexpr std::string_view pointer_type = "pointer-type";
inline constexpr std::string_view packet_offset = "packet-offset";
inline constexpr std::string_view sign_extend = "sign-extend";
inline constexpr std::string_view mul_div = "mul-div";
inline constexpr std::string_view map_argument = "map-argument";
inline constexpr std::string_view program_size = "program-size";
inline constexpr std::string_view opcode = "opcode";
inline constexpr std::string_view bpf_call = "bpf-call"; // policy
} // namespace rule

const std::vector<Rule> &rules();
bool is_policy(std::string_view rule);

// What the firmware tells the driver (nfp_bpf_parse_capabilities(), the
// control BAR's BPF words): the limits the card imposes. The defaults are
// those of Netronome's BPF firmware (docs/OFFLOAD.md cites them); another
// card's come from a file (parse_caps).
struct Caps {
	std::string source = "built-in: Netronome nic-firmware BPF flavour (Agilio CX)";
	std::uint32_t map_types = (1u << 1) | (1u << 2); // bit per BPF_MAP_TYPE_*: HASH, ARRAY
	std::uint32_t max_maps = 128;
	std::uint32_t max_entries = 2048000; // over all maps on the card
	std::uint32_t max_key_size = 56;
	std::uint32_t max_value_size = 56;
	std::uint32_t max_element_size = 64; // round_up(key, 8) + round_up(value, 8)
	std::uint32_t stack_bytes = 512;     // NFP_NET_CFG_BPF_STACK_SZ * 64
	std::uint32_t max_program_length = 2560; // NFP instructions, NFP_NET_CFG_BPF_MAX_LEN
	std::uint32_t packet_split = 30 * 64 - 32; // NFP_NET_CFG_BPF_INL_MTU * 64 - 32
	// Helpers beyond the map ones have a capability each; map helpers have
	// a firmware address each.
	bool map_lookup = true, map_update = false, map_delete = false, perf_event_output = false;
	bool adjust_head = true, adjust_tail = true, random = true, queue_select = true;
};

// The built-in table.
const Caps &default_caps();
// A caps file: "KEY VALUE" lines, '#' comments, every key once (the keys
// and their meaning are in docs/OFFLOAD.md). Throws ConfigError with
// FILE:LINE for a bad one.
Caps parse_caps(const std::string &path);
Caps parse_caps_text(const std::string &name, const std::string &text);

struct Options {
	Caps caps = default_caps();
	bool policies = true; // report ovx's policies along with the hardware rules
};

// Far above any program the NFP holds; what is larger is no offload object.
inline constexpr std::size_t kMaxObjectBytes = std::size_t{64} << 20;

struct Finding {
	std::string rule;
	std::string program; // empty for a map no program references
	int insn = -1;	     // instruction index in the program; -1 for none
	std::string map;     // the map concerned, if any
	std::string reason;
};

struct ProgramInfo {
	std::string name;
	std::string section;
	std::size_t instructions = 0;
	std::size_t nfp_instructions = 0; // estimated JIT length
	std::size_t stack_bytes = 0;
};

struct MapInfo {
	std::string name;
	std::uint32_t type = 0;
	std::uint32_t key_size = 0;
	std::uint32_t value_size = 0;
	std::uint32_t max_entries = 0;
	std::uint32_t flags = 0;
	std::uint32_t element_bytes = 0; // as the NFP counts it
};

struct Report {
	std::string object;
	std::vector<ProgramInfo> programs;
	std::vector<MapInfo> maps;
	std::vector<Finding> findings;
	Caps caps; // the table it was checked against

	bool clean() const { return findings.empty(); }
};

// Throws SystemError when the file cannot be read (or is not a regular
// file) or is no BPF object. libbpf reads the object in a child process, so
// that a malformed one is an error here, never a crash.
Report check_file(const std::string &path, const Options &options = {});
// @name labels the report (an embedded object has no path).
Report check_object(std::string name, std::span<const std::uint8_t> elf,
		    const Options &options = {});

// One XDP program's code alone (8-byte instructions; no maps, no
// relocations): the instruction rules on code from anywhere (tests/fuzz
// drives the abstract interpreter through this, thousands of programs a
// second).
std::vector<Finding> check_instructions(std::string program, std::span<const std::uint8_t> code,
					const Options &options = {});

std::string map_type_name(std::uint32_t type);

} // namespace ovx::offload
