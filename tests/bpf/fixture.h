// The packet-test fixture: the real programs, loaded unpinned, in the
// packet environment (packet_env.h); the peers of its interfaces capture
// what the programs send.
#pragma once

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <map>
#include <optional>
#include <string>

#include "loader/dataplane.h"
#include "maps/ovx_abi.h"
#include "tests/bpf/frame_builder.h"
#include "tests/bpf/packet_env.h"

namespace ovx::test {

class DatapathTest : public ::testing::Test {
protected:
	void SetUp() override;

	RunResult run_xdp(const Bytes &frame);
	RunResult run_tc(Program program, const std::string &ingress, const Bytes &frame,
			 const SkbMeta &meta = {});

	ovx_seg_stats stats(std::uint32_t segment);
	// Port @name's counters, read by its index as `ovx stats` does.
	ovx_port_stats port_stats(const std::string &name);
	std::optional<ovx_fdb_entry> fdb(std::uint32_t segment, MacAddr m);
	void put_fdb(std::uint32_t segment, MacAddr m, const ovx_fdb_entry &e);
	void erase_fdb(std::uint32_t segment, MacAddr m);

	// Frames that arrived on the peer of @ifname since the last call, as
	// they were on the wire (VLAN tags the kernel kept aside put back).
	std::vector<Bytes> captured(const std::string &ifname);
	// Sends @frame from the peer of @ifname, so that it arrives on @ifname
	// through the kernel's receive path (hooks attached there run for real).
	void send_from_peer(const std::string &ifname, const Bytes &frame);

	// xdp_underlay (native) and tc_underlay on ul0 for real, for
	// send_from_peer("ul0", ...); detach_underlay() in TearDown.
	void attach_underlay();
	void detach_underlay();

	static int ifindex(const std::string &name);
	Underlay to_vtep(std::uint32_t dst, std::uint16_t sport) const;

	std::optional<Dataplane> dp_;
	std::map<std::string, UniqueFd> captures_;
};

} // namespace ovx::test
