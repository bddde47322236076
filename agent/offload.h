// underlay offload: the NIC's share of the desired state, and putting the
// offload program on a NIC.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/config.h"
#include "agent/desired.h"
#include "loader/nexthop.h"
#include "loader/offload.h"

namespace ovx {

// What the offload maps hold for a desired state: its active VXLAN, Geneve
// and NVGRE segments and their VTEPs of both families, what the offload
// program parses; STT frames pass to the host untouched.
struct OffloadDesired {
	ovx_offload_config config{};
	AbiMap<ovx_vni_key, std::uint32_t> vni;
	AbiMap<ovx_vtep_key, std::uint32_t> vteps;
	AbiMap<ovx_fdb_key, ovx_offload_relay> relay;
};

// What the relay needs to send a frame back out of the underlay NIC.
struct RelayHops {
	MacBytes own_mac;
	// The next hop's MAC toward an IPv4 VTEP (network order); nullopt
	// leaves frames for that VTEP to the host.
	std::function<std::optional<MacBytes>(std::uint32_t vtep4)> next_hop;
};

// The kernel's view of @ifindex's next hops, now.
RelayHops underlay_hops(int ifindex);

// With @relay, static remote MACs of VXLAN segments (IPv4 VTEPs with a
// resolved next hop) become relay entries; without, the relay stays empty
// (off).
OffloadDesired offload_desired(const DesiredState &desired, const RelayHops *relay = nullptr);

// Makes the offload maps hold exactly @want; a table too small for it is a
// ConfigError naming the map.
void write_offload(OffloadTables &tables, const OffloadDesired &want);

struct OffloadAttachResult {
	std::string interface;
	int ifindex = 0;
	OffloadProgramInfo program;
	std::uint32_t hw_program_id = 0; // what the device reports attached in hardware mode
	std::size_t vni_entries = 0;	 // read back from the device's maps
	std::size_t vtep_entries = 0;
	std::size_t relay_entries = 0;
	std::uint32_t max_entries = 0;
};

// Loads the offload program bound to @config's underlay interface, fills its
// maps from @config (the relay's too when @relay), attaches it in XDP
// hardware mode and reads it back. Nothing stays attached when any step fails.
OffloadAttachResult offload_attach(const Config &config, std::optional<std::uint32_t> max_entries,
				   bool relay);

// Removes the hardware-mode XDP program from @interface; false if none.
bool offload_detach(const std::string &interface);

// `underlay.mode: offload` in `apply`: the host programs run in native mode
// and the offload program on the NIC, its maps pinned under the instance
// (@dir) so that every apply rewrites them.
class NicOffload {
public:
	// The offload program on @ifindex: found there with its maps pinned
	// under @dir, or attached now and pinned. A device that cannot offload
	// is a SystemError naming the interface and its driver.
	static NicOffload attach(const std::string &dir, int ifindex);
	NicOffload(NicOffload &&other) noexcept;
	NicOffload &operator=(NicOffload &&) = delete;
	// Unless commit()ed, what this call attached is taken off again.
	~NicOffload();

	// Makes the NIC's maps match @desired, the relay's entries too with
	// @relay (`underlay.offload: {relay: true}`), their next hops as the
	// kernel has them now.
	void write(const DesiredState &desired, bool relay);
	void commit() { attached_now_ = false; }

private:
	NicOffload(std::string dir, int ifindex, OffloadTables tables, bool attached_now);

	std::string dir_;
	int ifindex_;
	OffloadTables tables_;
	bool attached_now_;
};

// Takes ovx's offload program off @ifindex and removes its pins under
// @dir; does nothing when ovx has pinned nothing there.
void offload_remove(const std::string &dir, int ifindex);

// The NIC's counters: what it dropped, by reason, and relayed.
struct OffloadCounters {
	std::array<ovx_offload_counter, OVX_DROP_MAX> drops{};
	ovx_offload_counter relayed{};
};

// Read from the maps pinned under @dir; nullopt when ovx has none there.
std::optional<OffloadCounters> offload_counters(const std::string &dir);

// Whether the NIC program pinned under @dir was written with the relay on.
bool offload_relay_on(const std::string &dir);

// Where apply pins the NIC's maps for @instance.
std::string offload_dir(const std::string &instance);

} // namespace ovx
