// Breaks "opcode": a byte swap to little endian, which the NFP JIT lacks.
#include "rule_test.h"

SEC("xdp")
int opcode(struct xdp_md *ctx)
{
	__u64 q = first_byte(ctx);

	asm volatile("%0 = le16 %0" : "+r"(q));
	if (q == 3)
		return XDP_DROP;
	return XDP_PASS;
}
