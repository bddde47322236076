// The checker against objects nobody compiled: `ovx offload check` runs
// without root on files from anywhere, so a malformed object must be a
// finding or an error, never a write out of bounds or a crash.
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "maps/error.h"
#include "offload/check.h"

namespace ovx::offload {
namespace {

std::vector<std::uint8_t> read_bytes(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The clean rule program with one instruction changed in the file: the
// first one @pick accepts is handed to @edit.
std::vector<std::uint8_t> patched(const std::function<bool(const bpf_insn &)> &pick,
				  const std::function<void(bpf_insn &)> &edit)
{
	std::vector<std::uint8_t> bytes = read_bytes(std::string(OVX_RULE_OBJECTS) + "/clean.bpf.o");
	// Where the program's code sits in the file: libbpf's copy of it, found
	// in the bytes (nothing is relocated at open).
	std::unique_ptr<bpf_object, void (*)(bpf_object *)> obj(
		bpf_object__open_mem(bytes.data(), bytes.size(), nullptr), bpf_object__close);
	EXPECT_TRUE(obj);
	bpf_program *prog = bpf_object__next_program(obj.get(), nullptr);
	const auto *insns = reinterpret_cast<const std::uint8_t *>(bpf_program__insns(prog));
	const std::size_t size = bpf_program__insn_cnt(prog) * sizeof(bpf_insn);
	const auto at = std::search(bytes.begin(), bytes.end(), insns, insns + size);
	EXPECT_NE(at, bytes.end());
	for (auto p = at; p < at + static_cast<std::ptrdiff_t>(size); p += sizeof(bpf_insn)) {
		bpf_insn in;
		std::memcpy(&in, &*p, sizeof(in));
		if (pick(in)) {
			edit(in);
			std::memcpy(&*p, &in, sizeof(in));
			return bytes;
		}
	}
	ADD_FAILURE() << "no instruction to patch";
	return bytes;
}

std::string opcode_findings(const Report &r)
{
	std::string out;
	for (const Finding &f : r.findings)
		if (f.rule == rule::opcode)
			out += std::to_string(f.insn) + ": " + f.reason + "\n";
	return out;
}

bool is_ldx(const bpf_insn &in)
{
	return BPF_CLASS(in.code) == BPF_LDX;
}

bool is_mov_reg(const bpf_insn &in)
{
	return (BPF_CLASS(in.code) == BPF_ALU64 || BPF_CLASS(in.code) == BPF_ALU) &&
	       BPF_OP(in.code) == BPF_MOV && BPF_SRC(in.code) == BPF_X;
}

// A load into r15 was a write past the checker's register array (ASan: a
// stack write in check.cpp; a segfault without it).
TEST(HostileObject, DestinationRegister15IsAFinding)
{
	const auto bytes = patched(is_ldx, [](bpf_insn &in) { in.dst_reg = 15; });
	const Report r = check_object("r15", bytes);
	EXPECT_NE(opcode_findings(r).find("destination register r15 does not exist (BPF has r0-r10)"),
		  std::string::npos)
		<< opcode_findings(r);
	EXPECT_FALSE(r.clean());
}

// r12 as a source passed as clean.
TEST(HostileObject, SourceRegisterOutOfRangeIsAFinding)
{
	const auto bytes = patched(is_mov_reg, [](bpf_insn &in) { in.src_reg = 12; });
	const Report r = check_object("r12", bytes);
	EXPECT_NE(opcode_findings(r).find("source register r12 does not exist (BPF has r0-r10)"),
		  std::string::npos)
		<< opcode_findings(r);
	EXPECT_FALSE(r.clean());
}

TEST(HostileObject, EveryRegisterFieldIsChecked)
{
	for (int reg = 11; reg < 16; reg++) {
		const auto src = patched(is_ldx, [&](bpf_insn &in) { in.src_reg = static_cast<std::uint8_t>(reg); });
		EXPECT_FALSE(check_object("src", src).clean()) << reg;
		const auto dst = patched(is_mov_reg, [&](bpf_insn &in) { in.dst_reg = static_cast<std::uint8_t>(reg); });
		EXPECT_FALSE(check_object("dst", dst).clean()) << reg;
	}
}

TEST(HostileObject, WritingTheFramePointerIsAFinding)
{
	const auto bytes = patched(is_mov_reg, [](bpf_insn &in) { in.dst_reg = BPF_REG_10; });
	EXPECT_NE(opcode_findings(check_object("r10", bytes)).find("writes r10"), std::string::npos);
}

// Code without an object (the instruction fuzzer's way in): an empty
// program was a memcpy from a null pointer (UBSan, in the sanitizer tree).
TEST(HostileObject, CodeAloneIsChecked)
{
	EXPECT_TRUE(check_instructions("empty", {}).empty());
	const std::uint8_t r15[8] = {BPF_ALU64 | BPF_MOV | BPF_K, 0x0f, 0, 0, 1, 0, 0, 0};
	const auto findings = check_instructions("r15", r15);
	ASSERT_FALSE(findings.empty());
	EXPECT_EQ(findings[0].rule, rule::opcode);
	EXPECT_EQ(findings[0].insn, 0);
}

// Objects that crashed libbpf 1.1's object parser (found by mutating the
// rule programs): each is a clean error now.
TEST(HostileObject, ObjectsThatCrashLibbpfAreAnError)
{
	int seen = 0;
	for (const auto &entry : std::filesystem::directory_iterator(OVX_MALFORMED_OBJECTS)) {
		seen++;
		try {
			check_file(entry.path());
			ADD_FAILURE() << entry.path() << ": no error";
		} catch (const SystemError &e) {
			EXPECT_NE(std::string(e.what()).find(entry.path().string() + ": "),
				  std::string::npos)
				<< e.what();
		}
	}
	EXPECT_GE(seen, 3);
}

TEST(HostileObject, OnlyRegularFilesOfBoundedSizeAreRead)
{
	try {
		check_file("/dev/zero");
		ADD_FAILURE() << "no error";
	} catch (const SystemError &e) {
		EXPECT_STREQ(e.what(), "/dev/zero: cannot read: not a regular file (a character device)");
	}
	const std::vector<std::uint8_t> huge(kMaxObjectBytes + 1);
	EXPECT_THROW(check_object("huge", huge), SystemError);
}

} // namespace
} // namespace ovx::offload
