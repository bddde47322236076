// tc_underlay: frames without ovx's XDP metadata are the host's, untouched.
// (Delivery of decapsulated frames needs XDP metadata, which
// BPF_PROG_TEST_RUN cannot hand to a TC program: the e2e tests cover it.)
#include <linux/pkt_cls.h>

#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

using TcUnderlay = DatapathTest;

TEST_F(TcUnderlay, HostTrafficPasses)
{
	const Bytes frame = vm_ping(kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep);
	const auto r = run_tc(Program::tc_underlay, "ul0", frame);
	EXPECT_EQ(r.retval, TC_ACT_OK);
	EXPECT_EQ(hex(r.out), hex(frame));
	EXPECT_TRUE(captured("vm1").empty());
}

} // namespace
} // namespace ovx::test
