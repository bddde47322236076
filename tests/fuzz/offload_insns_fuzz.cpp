// libFuzzer: the offload checker's abstract interpreter on any code, without
// an object around it (offload_fuzz spends its time in ELF and a child per
// input; this reaches the analysis of every instruction thousands of times a
// second). Invariants besides ASan/UBSan: it ends, throws nothing, and every
// finding names an instruction of the program (or none).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "offload/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const auto findings = ovx::offload::check_instructions("fuzz", {data, size});
	for (const auto &f : findings)
		if (f.insn < -1 || f.insn >= static_cast<int>(size / 8 + 1) || f.rule.empty())
			std::abort();
	return 0;
}
