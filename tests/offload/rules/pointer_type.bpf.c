// Breaks "pointer-type": one load reads the packet on one path and the
// stack on the other.
#include "rule_test.h"

SEC("xdp")
int pointer_type(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	volatile __u8 local[4] = {};
	volatile __u8 *p;

	local[2] = 3;
	if (data + 4 > end)
		return XDP_PASS;
	p = data[0] & 1 ? (volatile __u8 *)data : local;
	if (p[2] == 3)
		return XDP_DROP;
	return XDP_PASS;
}
