// Breaks "context": reads ingress_ifindex, which the NFP JIT cannot load.
#include "rule_test.h"

SEC("xdp")
int context(struct xdp_md *ctx)
{
	if (ctx->ingress_ifindex == 7)
		return XDP_DROP;
	return XDP_PASS;
}
