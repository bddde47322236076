// Breaks "packet-offset": reads byte 2,000 of the packet, past the card's
// split at 1,888 (NFP_NET_CFG_BPF_INL_MTU 30 * 64 - 32).
#include "rule_test.h"

SEC("xdp")
int packet_offset(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + 2001 > end)
		return XDP_PASS;
	if (data[2000] == 7)
		return XDP_DROP;
	return XDP_PASS;
}
