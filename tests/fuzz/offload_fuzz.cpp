// libFuzzer: the offload checker on any bytes as a BPF object. libelf's
// reading of relocations and the whole analysis run here, under ASan and
// UBSan; libbpf's parse runs in a child (offload/check.cpp), so a crash of
// its own is the SystemError the checker reports. Nothing else may escape.
#include <bpf/libbpf.h>

#include <cstdint>
#include <span>

#include "maps/error.h"
#include "offload/check.h"

// libbpf's warnings about each broken object would drown the fuzzer's output.
extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	libbpf_set_print(nullptr);
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	try {
		const ovx::offload::Report r = ovx::offload::check_object("fuzz.o", {data, size});
		for (const auto &f : r.findings)
			if (f.rule.empty() || f.reason.empty())
				__builtin_trap();
	} catch (const ovx::SystemError &) {
	}
	return 0;
}
