// The packet-test harness: the real programs, loaded unpinned, with maps
// filled from a YAML desired state by the same code `ovx apply` uses, in a
// private network namespace (made by main()) holding the underlay and port
// interfaces; the peers of those interfaces capture what the programs send.
#pragma once

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <map>
#include <optional>
#include <string>

#include "loader/dataplane.h"
#include "maps/ovx_abi.h"
#include "tests/bpf/frame_builder.h"

namespace ovx::test {

// The test namespace's fixed addresses (see fixture.cpp, setup_namespace()).
inline const MacAddr kUnderlayMac = mac("02:aa:00:00:00:01");
inline const MacAddr kVtep2Mac = mac("02:bb:00:00:00:02");
inline const MacAddr kVtep3Mac = mac("02:bb:00:00:00:03");
inline const std::uint32_t kLocalVtep = ipv4("192.168.77.1");
inline const std::uint32_t kVtep2 = ipv4("192.168.77.2");
inline const std::uint32_t kVtep3 = ipv4("192.168.77.3");

// blue (VNI 5001, segment 1): vm1, vm2; red (VNI 5002, segment 2): vm3,
// whose MAC is vm1's: tenants may overlap.
inline const MacAddr kVm1 = mac("02:00:00:00:01:01");
inline const MacAddr kVm2 = mac("02:00:00:00:01:02");
inline const MacAddr kVm3 = kVm1;
inline const MacAddr kRemoteStatic = mac("02:00:00:00:02:01"); // blue, behind .2
inline const MacAddr kBroadcast = mac("ff:ff:ff:ff:ff:ff");
inline constexpr std::uint32_t kBlue = 1, kRed = 2;

// Creates the private namespace and its interfaces; called once by main().
void setup_namespace();

struct RunResult {
	int retval = -1;
	Bytes out;  // the packet as the program left it
	Bytes meta; // XDP metadata in front of it, if any
};

class DatapathTest : public ::testing::Test {
protected:
	void SetUp() override;

	RunResult run_xdp(const Bytes &frame);
	RunResult run_tc(Program program, const std::string &ingress, const Bytes &frame);

	ovx_seg_stats stats(std::uint32_t segment);
	std::optional<ovx_fdb_entry> fdb(std::uint32_t segment, MacAddr m);
	void put_fdb(std::uint32_t segment, MacAddr m, const ovx_fdb_entry &e);

	// Frames that arrived on the peer of @ifname since the last call.
	std::vector<Bytes> captured(const std::string &ifname);

	static int ifindex(const std::string &name);
	Underlay to_vtep(std::uint32_t dst, std::uint16_t sport) const;
	static Bytes meta(std::uint32_t segment, std::uint32_t ifindex);

	std::optional<Dataplane> dp_;
	std::map<std::string, UniqueFd> captures_;
};

} // namespace ovx::test
