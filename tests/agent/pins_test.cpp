// Dataplane::pins_unchanged(): what lets the cluster agent keep an
// instance's dataplane open from one delta to the next, and what makes it
// open the pins again once `ovx upgrade` (or an attach) changed them.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "loader/dataplane.h"
#include "maps/unique_fd.h"

namespace ovx {
namespace {

struct PinnedInstance {
	std::string name = "ovxtest-pins-" + std::to_string(getpid());
	~PinnedInstance()
	{
		std::error_code ec;
		std::filesystem::remove_all(Dataplane::instance_dir(name), ec);
		// The parent too when this was its last instance, as `ovx down` does.
		std::filesystem::remove(
			std::filesystem::path(Dataplane::instance_dir(name)).parent_path(), ec);
	}
	std::string pin(const std::string &file) const
	{
		return Dataplane::instance_dir(name) + "/" + file;
	}
};

TEST(Pins, ACreatedDataplaneIsNeverTakenAsUnchanged)
{
	PinnedInstance pins;
	const Dataplane dp = Dataplane::create(pins.name, 1024);
	EXPECT_FALSE(dp.pins_unchanged());
}

TEST(Pins, UnchangedUntilAMapPinIsReplaced)
{
	PinnedInstance pins;
	Dataplane::create(pins.name, 1024);
	const auto dp = Dataplane::open(pins.name);
	ASSERT_TRUE(dp);
	EXPECT_TRUE(dp->pins_unchanged());
	EXPECT_TRUE(dp->pins_unchanged()) << "reading the pins changes nothing";

	// Another map in the FDB's place, as `ovx upgrade --migrate` pins one.
	UniqueFd other(bpf_map_create(BPF_MAP_TYPE_HASH, "ovx_fdb", sizeof(ovx_fdb_key),
				      sizeof(ovx_fdb_entry), 16, nullptr));
	ASSERT_GE(other.get(), 0);
	ASSERT_EQ(unlink(pins.pin("ovx_fdb").c_str()), 0);
	ASSERT_EQ(bpf_obj_pin(other.get(), pins.pin("ovx_fdb").c_str()), 0);
	EXPECT_FALSE(dp->pins_unchanged());

	const auto again = Dataplane::open(pins.name);
	ASSERT_TRUE(again);
	EXPECT_TRUE(again->pins_unchanged());
}

TEST(Pins, ChangedWhenTheXdpProgramIsPinnedOrUnpinned)
{
	PinnedInstance pins;
	Dataplane::create(pins.name, 1024);
	const auto dp = Dataplane::open(pins.name);
	ASSERT_TRUE(dp);
	ASSERT_EQ(dp->program_fd(Program::xdp_underlay), -1) << "nothing attached, nothing pinned";
	// What attach_xdp() pins (any program stands for it here).
	const std::string xdp = pins.pin("prog_xdp_underlay");
	ASSERT_EQ(bpf_obj_pin(dp->program_fd(Program::tc_port), xdp.c_str()), 0);
	EXPECT_FALSE(dp->pins_unchanged());

	const auto attached = Dataplane::open(pins.name);
	ASSERT_TRUE(attached);
	EXPECT_TRUE(attached->pins_unchanged());
	ASSERT_EQ(unlink(xdp.c_str()), 0);
	EXPECT_FALSE(attached->pins_unchanged());
}

} // namespace
} // namespace ovx
