// Breaks "sign-extend": a movsx (r0 = (s8)r1). clang 14 cannot emit one
// (-mcpu=v4 is clang 18), so the instruction is written out.
#include "rule_test.h"

SEC("xdp")
int sign_extend(struct xdp_md *ctx)
{
	__u32 b = first_byte(ctx);

	/* code 0xbf (ALU64 MOV X), dst r0, src r1, off 8 */
	asm volatile("r1 = %0\n\t"
		     ".quad 0x00000000000810bf\n\t"
		     "%0 = r0" : "+r"(b) : : "r0", "r1");
	if (b == 7)
		return XDP_DROP;
	return XDP_PASS;
}
