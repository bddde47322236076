// The rule checker against one small program per rule (tests/offload/rules/),
// each breaking exactly that rule, a clean one, and the shipped offload
// program, which must keep every rule.
#include <gtest/gtest.h>

#include <set>
#include <string>

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
	const Report r = check_file(object_for(rule.name));
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
	const Report r = check_file(object_for("clean"));
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
	for (const Report &r : {check_file(OVX_OFFLOAD_OBJECT), check_object("embedded", offload_object())}) {
		EXPECT_TRUE(r.clean()) << describe(r);
		ASSERT_EQ(r.programs.size(), 1u);
		EXPECT_LE(r.programs[0].instructions, kMaxInstructions);
		EXPECT_EQ(r.maps.size(), 6u);
		for (const MapInfo &m : r.maps)
			EXPECT_LE(m.element_bytes, kMaxElementBytes) << m.name;
	}
}

TEST(Checker, NotAnObjectIsASystemError)
{
	EXPECT_THROW(check_file("/nonexistent/x.bpf.o"), SystemError);
	EXPECT_THROW(check_file("/proc/self/cmdline"), SystemError);
}

} // namespace
} // namespace ovx::offload
