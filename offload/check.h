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

// One named check per rule.
struct Rule {
	std::string_view name;
	std::string_view summary;
};

namespace rule {
inline constexpr std::string_view verdict = "verdict";
inline constexpr std::string_view helper = "helper";
inline constexpr std::string_view map_type = "map-type";
inline constexpr std::string_view map_flags = "map-flags";
inline constexpr std::string_view map_element_size = "map-element-size";
inline constexpr std::string_view global_data = "global-data";
inline constexpr std::string_view tail_call = "tail-call";
inline constexpr std::string_view map_write = "map-write";
inline constexpr std::string_view map_value_use = "map-value-use";
inline constexpr std::string_view stack_offset = "stack-offset";
inline constexpr std::string_view mul_div = "mul-div";
inline constexpr std::string_view map_argument = "map-argument";
inline constexpr std::string_view program_size = "program-size";
inline constexpr std::string_view opcode = "opcode";
inline constexpr std::string_view bpf_call = "bpf-call";
} // namespace rule

const std::vector<Rule> &rules();

// The NFP's limits as the checker applies them.
inline constexpr std::size_t kMaxInstructions = 2800;
inline constexpr std::uint32_t kMaxElementBytes = 64; // round_up(key, 8) + round_up(value, 8)
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

	bool clean() const { return findings.empty(); }
};

// Throws SystemError when the file cannot be read (or is not a regular
// file) or is no BPF object. libbpf reads the object in a child process, so
// that a malformed one is an error here, never a crash.
Report check_file(const std::string &path);
// @name labels the report (an embedded object has no path).
Report check_object(std::string name, std::span<const std::uint8_t> elf);

// One XDP program's code alone (8-byte instructions; no maps, no
// relocations): the instruction rules on code from anywhere (tests/fuzz
// drives the abstract interpreter through this, thousands of programs a
// second).
std::vector<Finding> check_instructions(std::string program, std::span<const std::uint8_t> code);

std::string map_type_name(std::uint32_t type);

} // namespace ovx::offload
