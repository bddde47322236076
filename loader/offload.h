// The offload program (bpf/xdp_offload.bpf.c) and its own maps: loaded for
// the host (packet tests), or bound to a NIC (program and maps created on
// the device) and attached in XDP hardware mode through libxdp.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "maps/map.h"
#include "maps/ovx_offload_abi.h"

struct ovx_xdp_offload;

namespace ovx {

// Every map the offload program declares (bpf/include/ovx_offload_maps.h).
inline constexpr std::array<std::string_view, 6> kOffloadMapNames = {
	"ovx_off_config", "ovx_off_vni", "ovx_off_vteps",
	"ovx_off_drops",  "ovx_off_relay", "ovx_off_relayed",
};

struct OffloadTables {
	Map<std::uint32_t, ovx_offload_config> config;
	Map<ovx_vni_key, std::uint32_t> vni;
	Map<ovx_vtep_key, std::uint32_t> vteps;
	Map<std::uint32_t, ovx_offload_counter> drops; // by enum ovx_drop_reason
	Map<ovx_fdb_key, ovx_offload_relay> relay;
	Map<std::uint32_t, ovx_offload_counter> relayed; // key 0

	// @open returns an owned fd for a name from kOffloadMapNames.
	static OffloadTables open(const std::function<UniqueFd(std::string_view)> &open);
	int fd(std::string_view name) const;
};

// The maps of an offload program on a NIC outlive the call that put it
// there (the attachment is the device's): they are pinned under @dir so
// that the next `apply` can rewrite them. nullopt when nothing is pinned.
void pin_offload_maps(const OffloadTables &tables, const std::string &dir);
std::optional<OffloadTables> open_pinned_offload_maps(const std::string &dir);

// What the kernel says about a loaded program.
struct OffloadProgramInfo {
	std::uint32_t id = 0;
	std::string name;
	std::uint32_t ifindex = 0; // the device it is bound to; 0 = the host
	std::uint32_t xlated_insns = 0;
};

class OffloadProgram {
public:
	// For the host (packet tests): loaded, attached nowhere.
	static OffloadProgram load();

	// On a NIC: libxdp binds the program and its maps to @ifindex (the
	// device creates them), loads them and attaches the program in XDP
	// hardware mode. @max_entries sizes every map, for test devices that
	// hold only a few entries (netdevsim: 2). A device that cannot offload
	// is an error naming the interface and its driver.
	static OffloadProgram attach_hw(int ifindex, std::optional<std::uint32_t> max_entries);
	OffloadProgram(OffloadProgram &&) noexcept;
	OffloadProgram &operator=(OffloadProgram &&) noexcept;
	~OffloadProgram();

	int program_fd() const;
	OffloadTables &tables() { return *tables_; }
	OffloadProgramInfo info() const;


private:
	struct SkelDeleter {
		void operator()(ovx_xdp_offload *skel) const;
	};
	OffloadProgram(std::unique_ptr<ovx_xdp_offload, SkelDeleter> skel);
	static std::unique_ptr<ovx_xdp_offload, SkelDeleter> open_object();

	std::unique_ptr<ovx_xdp_offload, SkelDeleter> skel_;
	std::unique_ptr<OffloadTables> tables_;
};

// The id of the program attached in XDP hardware mode on @ifindex, or 0.
std::uint32_t hw_attached_program(int ifindex);

// Detaches the hardware-mode XDP program of @ifindex; false if there is none.
bool detach_hw_program(int ifindex);

// The compiled offload object as shipped inside ovx (for `ovx offload check`).
std::span<const std::uint8_t> offload_object();

} // namespace ovx
