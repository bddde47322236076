// The rule checker against one small program per rule (tests/offload/rules/),
// each breaking exactly that rule, a clean one, and the shipped offload
// program, which must keep every rule; and the firmware tables (--caps).
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstddef>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <unistd.h>

#include "loader/offload.h"
#include "maps/error.h"
#include "offload/check.h"

namespace ovx::offload {

// Test names print the rule, not its bytes.
void PrintTo(const Rule &rule, std::ostream *os)
{
	*os << rule.name;
}

namespace {

std::string object_for(std::string_view rule)
{
	std::string file(rule);
	for (char &c : file)
		if (c == '-')
			c = '_';
	return std::string(OVX_RULE_OBJECTS) + "/" + file + ".bpf.o";
}

// The rule programs' card: every helper, a 256-byte stack (caps/test.caps).
const Options &test_options()
{
	static const Options options{parse_caps(OVX_TEST_CAPS), true};
	return options;
}

std::set<std::string> rules_named(const Report &r)
{
	std::set<std::string> names;
	for (const Finding &f : r.findings)
		names.insert(f.rule);
	return names;
}

std::string describe(const Report &r)
{
	std::string out;
	for (const Finding &f : r.findings)
		out += "  " + f.program + ":" + std::to_string(f.insn) + " " + f.rule + ": " + f.reason + "\n";
	return out;
}

class EachRule : public ::testing::TestWithParam<Rule> {};

TEST_P(EachRule, ItsProgramBreaksExactlyThatRule)
{
	const Rule rule = GetParam();
	const Report r = check_file(object_for(rule.name), test_options());
	EXPECT_EQ(rules_named(r), std::set<std::string>{std::string(rule.name)}) << describe(r);
	ASSERT_EQ(r.programs.size(), 1u);
	for (const Finding &f : r.findings) {
		EXPECT_FALSE(f.reason.empty());
		// Instruction findings point into the program; map findings name the map.
		if (f.insn >= 0) {
			EXPECT_EQ(f.program, r.programs[0].name);
			EXPECT_LT(static_cast<std::size_t>(f.insn), r.programs[0].instructions);
		} else {
			EXPECT_FALSE(f.map.empty() && f.program.empty()) << f.reason;
		}
	}
}

INSTANTIATE_TEST_SUITE_P(Rules, EachRule, ::testing::ValuesIn(rules()), [](const auto &info) {
	std::string n(info.param.name);
	for (char &c : n)
		if (c == '-')
			c = '_';
	return n;
});

TEST(Checker, CleanProgramPasses)
{
	const Report r = check_file(object_for("clean"), test_options());
	EXPECT_TRUE(r.clean()) << describe(r);
	ASSERT_EQ(r.programs.size(), 1u);
	EXPECT_EQ(r.programs[0].name, "clean");
	EXPECT_EQ(r.maps.size(), 2u);
}

TEST(Checker, ViolationsPointAtTheOffendingInstruction)
{
	// verdict.bpf.c returns XDP_REDIRECT on one path only: the exit, not the
	// whole program, is named, and the reason says which code.
	const Report r = check_file(object_for("verdict"));
	ASSERT_EQ(r.findings.size(), 1u) << describe(r);
	EXPECT_NE(r.findings[0].reason.find("XDP_REDIRECT"), std::string::npos);

	const Report w = check_file(object_for("map-write"));
	ASSERT_EQ(w.findings.size(), 1u) << describe(w);
	EXPECT_EQ(w.findings[0].map, "counters");
}

TEST(Checker, MapFindingsNameTheMapAndItsFirstUse)
{
	const Report r = check_file(object_for("map-element-size"));
	ASSERT_EQ(r.findings.size(), 1u) << describe(r);
	EXPECT_EQ(r.findings[0].map, "wide_map");
	EXPECT_EQ(r.findings[0].program, "map_element_size");
	EXPECT_GE(r.findings[0].insn, 0);
	EXPECT_NE(r.findings[0].reason.find("72"), std::string::npos) << r.findings[0].reason;
}

TEST(Checker, ShippedOffloadProgramKeepsEveryRule)
{
	// Against the real card's table, policies included.
	for (const Report &r : {check_file(OVX_OFFLOAD_OBJECT), check_object("embedded", offload_object())}) {
		EXPECT_TRUE(r.clean()) << describe(r);
		ASSERT_EQ(r.programs.size(), 1u);
		EXPECT_GT(r.programs[0].nfp_instructions, r.programs[0].instructions);
		EXPECT_LE(r.programs[0].nfp_instructions, default_caps().max_program_length);
		EXPECT_LE(r.programs[0].stack_bytes, default_caps().stack_bytes);
		EXPECT_EQ(r.maps.size(), 6u);
		for (const MapInfo &m : r.maps)
			EXPECT_LE(m.element_bytes, default_caps().max_element_size) << m.name;
	}
}

TEST(Checker, PoliciesAreNamedAndCanBeLeftOut)
{
	std::set<std::string> policies;
	for (const Rule &r : rules())
		if (r.kind == RuleKind::policy)
			policies.insert(std::string(r.name));
	EXPECT_EQ(policies, (std::set<std::string>{"verdict", "bpf-call"}));

	Options hardware = test_options();
	hardware.policies = false;
	for (const char *name : {"verdict", "bpf-call"}) {
		const Report r = check_file(object_for(name), hardware);
		EXPECT_TRUE(r.clean()) << name << "\n" << describe(r);
	}
	// A rule of the driver's is no policy.
	EXPECT_FALSE(check_file(object_for("context"), hardware).clean());
}

TEST(Checker, TheRealCardsTableLacksWhatItsFirmwareLacks)
{
	// Netronome's BPF firmware offers map lookups only (one function TLV).
	const Report r = check_file(object_for("atomic-init"));
	EXPECT_EQ(rules_named(r), std::set<std::string>{"helper"}) << describe(r);
	EXPECT_NE(describe(r).find("bpf_map_update_elem: the firmware"), std::string::npos) << describe(r);
	// ... and a 512-byte stack.
	EXPECT_TRUE(check_file(object_for("stack-size")).clean());
}

TEST(Checker, DataMetaIsNoPacketPointer)
{
	// r2 = data_meta; r3 = data_end; r0 = *(u8 *)(r2 + 0); exit
	const bpf_insn code[] = {
		{BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(xdp_md, data_meta), 0},
		{BPF_LDX | BPF_MEM | BPF_B, BPF_REG_0, BPF_REG_2, 0, 0},
		{BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
	};
	const auto findings = check_instructions(
		"meta", {reinterpret_cast<const std::uint8_t *>(code), sizeof(code)}, test_options());
	ASSERT_FALSE(findings.empty());
	EXPECT_EQ(findings[0].rule, rule::context);
	EXPECT_EQ(findings[0].insn, 0);
	EXPECT_NE(findings[0].reason.find("data_meta"), std::string::npos) << findings[0].reason;
}

// One store reached with r2 at r10-8 or at r10-@other: the driver takes
// different offsets at one instruction when they agree modulo 4.
std::vector<Finding> store_at_two_offsets(std::int16_t other)
{
	const bpf_insn code[] = {
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
		{BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
		{BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8},
		{BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0},
		{BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0},
		{BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -other},
		{BPF_STX | BPF_MEM | BPF_B, BPF_REG_2, BPF_REG_0, 0, 0},
		{BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
	};
	return check_instructions("two", {reinterpret_cast<const std::uint8_t *>(code), sizeof(code)},
				  test_options());
}

TEST(Checker, StackOffsetsAtOneInstructionMustAgreeModulo4)
{
	EXPECT_TRUE(store_at_two_offsets(16).empty());
	const auto findings = store_at_two_offsets(6);
	ASSERT_EQ(findings.size(), 1u);
	EXPECT_EQ(findings[0].rule, rule::stack_consistency);
	EXPECT_EQ(findings[0].insn, 6);
}

// A packet load at data + 4 or data + @other, a constant on each path (as
// the verifier sees it): bounded by the larger.
std::vector<Finding> packet_load_at(std::int32_t other)
{
	const bpf_insn code[] = {
		{BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(xdp_md, data), 0},
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 4},
		{BPF_LDX | BPF_MEM | BPF_B, BPF_REG_0, BPF_REG_2, 0, 0},
		{BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 1, 0},
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, other},
		{BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_2, BPF_REG_3, 0, 0},
		{BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_2, 0, 0},
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
		{BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
	};
	return check_instructions("pkt", {reinterpret_cast<const std::uint8_t *>(code), sizeof(code)},
				  test_options());
}

TEST(Checker, PacketOffsetsConstantOnEachPathAreBounded)
{
	EXPECT_TRUE(packet_load_at(1000).empty());
	const auto findings = packet_load_at(1886); // bytes 1886..1889: past 1888
	ASSERT_EQ(findings.size(), 1u);
	EXPECT_EQ(findings[0].rule, rule::packet_offset);
	EXPECT_EQ(findings[0].insn, 6);
	EXPECT_NE(findings[0].reason.find("byte 1889"), std::string::npos) << findings[0].reason;
}

// A caps file the test writes, removed whatever happens.
struct CapsFile {
	std::string path;
	explicit CapsFile(const std::string &text)
	{
		char name[] = "/tmp/ovx-caps-XXXXXX";
		const int fd = mkstemp(name);
		EXPECT_GE(fd, 0);
		close(fd);
		path = name;
		std::ofstream(path) << text;
	}
	~CapsFile() { std::remove(path.c_str()); }
};

std::string test_caps_text()
{
	std::ifstream in(OVX_TEST_CAPS);
	return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string caps_error(const std::string &text)
{
	const CapsFile f(text);
	try {
		parse_caps(f.path);
	} catch (const ConfigError &e) {
		const std::string what = e.what();
		EXPECT_EQ(what.rfind(f.path + ":", 0), 0u) << what;
		return what.substr(f.path.size() + 1);
	}
	ADD_FAILURE() << "no error for:\n" << text;
	return "";
}

TEST(Caps, AFileGivesAnotherCard)
{
	const Caps c = test_options().caps;
	EXPECT_EQ(c.stack_bytes, 256u);
	EXPECT_TRUE(c.map_update);
	EXPECT_EQ(c.max_entries, default_caps().max_entries);
	EXPECT_EQ(c.source, OVX_TEST_CAPS);

	std::string small = test_caps_text();
	small.replace(small.find("max_program_length 2560"), 23, "max_program_length 100");
	const CapsFile f(small);
	const Report r = check_file(object_for("clean"), {parse_caps(f.path), true});
	EXPECT_EQ(rules_named(r), std::set<std::string>{"program-size"}) << describe(r);
}

TEST(Caps, ABadFileIsAnErrorAtItsLine)
{
	const std::string good = test_caps_text();
	EXPECT_EQ(caps_error("max_maps 128\nmax_mapz 3\n"), "2:1: max_mapz: unknown key");
	EXPECT_EQ(caps_error("# c\nmax_maps lots\n"),
		  "2:1: max_maps: \"lots\" is not a number from 0 to 4294967295");
	EXPECT_EQ(caps_error("max_maps -1\n"), "1:1: max_maps: \"-1\" is not a number from 0 to 4294967295");
	EXPECT_EQ(caps_error("max_maps 4294967296\n"),
		  "1:1: max_maps: \"4294967296\" is not a number from 0 to 4294967295");
	EXPECT_EQ(caps_error("random maybe\n"), "1:1: random: \"maybe\" is not yes or no");
	EXPECT_EQ(caps_error("max_maps 1 2\n"), "1:1: max_maps: expected \"KEY VALUE\"");
	EXPECT_EQ(caps_error(good + "max_maps 3\n"), "21:1: max_maps: given twice");
	EXPECT_EQ(caps_error("max_maps 3\n"), "1:1: map_types: missing: a caps file gives every key");
	EXPECT_THROW(parse_caps("/nonexistent.caps"), ConfigError);
}

TEST(Checker, NotAnObjectIsASystemError)
{
	EXPECT_THROW(check_file("/nonexistent/x.bpf.o"), SystemError);
	EXPECT_THROW(check_file("/proc/self/cmdline"), SystemError);
}

} // namespace
} // namespace ovx::offload
