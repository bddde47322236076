// Per-port counters in an array by the port's index (struct ovx_port): each
// path that hands a frame to a VM counts it in its port's slot, and the
// control plane numbers ports stably and never lets a removed port's counts
// reach a new one.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <string>

#include "maps/stats.h"
#include "tests/bpf/fixture.h"

namespace ovx::test {
namespace {

using PortIndex = DatapathTest;

const Bytes kPingVm2 = vm_ping(kVm2, kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.2"));
const Bytes kToVm1 = vm_ping(kVm1, kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"));
const Bytes kPingVm1 = vm_ping(kVm1, kVm2, ipv4("10.0.0.2"), ipv4("10.0.0.1"));

// The environment's file with vm2 left out of blue.
std::string without_vm2()
{
	std::string yaml = packet_config_text();
	const std::string line = "      - {interface: vm2, mac: \"02:00:00:00:01:02\"}\n";
	yaml.erase(yaml.find(line), line.size());
	return yaml;
}

TEST_F(PortIndex, PortsAreNumberedFromOneInTheirOrder)
{
	const Tables &t = dp_->tables();
	EXPECT_EQ(t.ports.lookup(ifindex("vm1"))->index, kVm1Port);
	EXPECT_EQ(t.ports.lookup(ifindex("vm2"))->index, kVm2Port);
	EXPECT_EQ(t.ports.lookup(ifindex("vm3"))->index, kVm3Port);
	EXPECT_EQ(fdb(kBlue, kVm2)->port, kVm2Port);
	EXPECT_EQ(fdb(kRed, kVm3)->port, kVm3Port);
	EXPECT_EQ(t.flood_ports.lookup(ovx_flood_key{kBlue, 1})->index, kVm2Port);
}

TEST_F(PortIndex, LocalSwitchCountsBothPortsInTheirSlots)
{
	const auto r = run_tc(Program::tc_port, "vm1", kPingVm2);
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT);
	const auto vm1 = sum_per_cpu(dp_->tables().port_stats.lookup(kVm1Port));
	const auto vm2 = sum_per_cpu(dp_->tables().port_stats.lookup(kVm2Port));
	EXPECT_EQ(vm1.rx_packets, 1u);
	EXPECT_EQ(vm1.rx_bytes, kPingVm2.size());
	EXPECT_EQ(vm1.tx_packets, 0u);
	EXPECT_EQ(vm2.tx_packets, 1u);
	EXPECT_EQ(vm2.tx_bytes, kPingVm2.size());
	EXPECT_EQ(vm2.rx_packets, 0u);
	EXPECT_EQ(sum_per_cpu(dp_->tables().port_stats.lookup(0)).tx_packets, 0u)
		<< "slot 0 is no port's";
}

TEST_F(PortIndex, DecapDeliveryCountsThePortOfTheShim)
{
	const auto vm1 = static_cast<std::uint32_t>(ifindex("vm1"));
	const auto r = run_tc(Program::tc_underlay, "ul0", decapsulated(kToVm1, kBlue, vm1, kVm1Port));
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(hex(r.out), hex(kToVm1));
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
	EXPECT_EQ(port_stats("vm1").tx_bytes, kToVm1.size());
	EXPECT_EQ(port_stats("vm2").tx_packets, 0u);
}

// A shim without the index (an older xdp_underlay during `upgrade
// --migrate`) still counts the port, found by its ifindex.
TEST_F(PortIndex, ShimWithoutIndexCountsThePortByItsIfindex)
{
	const auto vm1 = static_cast<std::uint32_t>(ifindex("vm1"));
	const auto r = run_tc(Program::tc_underlay, "ul0", decapsulated(kToVm1, kBlue, vm1));
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT);
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
	EXPECT_EQ(sum_per_cpu(dp_->tables().port_stats.lookup(0)).tx_packets, 0u);
}

TEST_F(PortIndex, XdpDecapPutsThePortIndexInTheShim)
{
	const test::Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	const auto r = run_xdp(vxlan_frame(from2, 5001, kToVm1));
	ASSERT_EQ(r.retval, XDP_PASS);
	EXPECT_EQ(hex(r.out), hex(decapsulated(kToVm1, kBlue,
					       static_cast<std::uint32_t>(ifindex("vm1")), kVm1Port)));
}

TEST_F(PortIndex, FloodCopiesCountEveryPortOnce)
{
	const Bytes arp = eth(kBroadcast, kRemoteStatic, kEthArp,
			      arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1")));
	const auto r = run_tc(Program::tc_underlay, "ul0", decapsulated(arp, kBlue, 0));
	ASSERT_EQ(r.retval, TC_ACT_REDIRECT);
	for (const char *vm : {"vm1", "vm2"}) {
		EXPECT_EQ(port_stats(vm).tx_packets, 1u) << vm;
		EXPECT_EQ(port_stats(vm).tx_bytes, arp.size()) << vm;
	}
	EXPECT_EQ(port_stats("vm3").tx_packets, 0u) << "another tenant's port";

	// From a VM: the other local port once, the sender never.
	const Bytes bcast = eth(kBroadcast, kVm1, kEthArp,
				arp_request(kVm1, ipv4("10.0.0.1"), ipv4("10.0.0.9")));
	ASSERT_EQ(run_tc(Program::tc_port, "vm1", bcast).retval, TC_ACT_REDIRECT);
	EXPECT_EQ(port_stats("vm2").tx_packets, 2u);
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
	EXPECT_EQ(port_stats("vm1").rx_packets, 1u);
}

TEST_F(PortIndex, PortKeepsItsIndexAndCountersAcrossApplies)
{
	ASSERT_EQ(run_tc(Program::tc_port, "vm2", kPingVm1).retval, TC_ACT_REDIRECT);
	apply_config_text(*dp_, packet_config_text());
	EXPECT_EQ(dp_->tables().ports.lookup(ifindex("vm2"))->index, kVm2Port);
	EXPECT_EQ(port_stats("vm2").rx_packets, 1u);
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u);
}

TEST_F(PortIndex, RemovedPortsCountersNeverReachTheNextPortOfItsIndex)
{
	ASSERT_EQ(run_tc(Program::tc_port, "vm2", kPingVm1).retval, TC_ACT_REDIRECT);
	ASSERT_EQ(port_stats("vm2").rx_packets, 1u);

	apply_config_text(*dp_, without_vm2());
	EXPECT_FALSE(dp_->tables().ports.lookup(ifindex("vm2")));
	// The next apply: vm2 is a new port, and takes the free index 2.
	apply_config_text(*dp_, packet_config_text());
	ASSERT_EQ(dp_->tables().ports.lookup(ifindex("vm2"))->index, kVm2Port);
	const auto vm2 = port_stats("vm2");
	EXPECT_EQ(vm2.rx_packets, 0u) << "counts of the removed port";
	EXPECT_EQ(vm2.rx_bytes, 0u);
	EXPECT_EQ(port_stats("vm1").tx_packets, 1u) << "another port's counts stay";
}

// A port new in the same apply that removes another never takes the
// removed one's index: frames may still be counting into it.
TEST_F(PortIndex, NewPortNeverTakesTheIndexOfAPortRemovedInTheSameApply)
{
	const std::string full = packet_config_text();
	const std::string blue_only = full.substr(0, full.find("  - name: red"));
	apply_config_text(*dp_, blue_only); // vm3 goes: indexes 1 and 2 held
	std::string swapped = blue_only;
	const std::string vm2 = "{interface: vm2, mac: \"02:00:00:00:01:02\"}";
	swapped.replace(swapped.find(vm2), vm2.size(),
			"{interface: vm3, mac: \"02:00:00:00:01:03\"}");
	apply_config_text(*dp_, swapped);
	EXPECT_FALSE(dp_->tables().ports.lookup(ifindex("vm2")));
	EXPECT_EQ(dp_->tables().ports.lookup(ifindex("vm3"))->index, 3) << "not vm2's 2";
	EXPECT_EQ(dp_->tables().ports.lookup(ifindex("vm1"))->index, kVm1Port);
}

} // namespace
} // namespace ovx::test
