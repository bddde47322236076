// The BPF side of one ovx instance: its programs, maps and attachments,
// pinned under /sys/fs/bpf/ovx/<instance>/ so that they outlive the process
// and the next `ovx` call (or a restarted agent) finds them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

#include "maps/tables.h"
#include "maps/unique_fd.h"

namespace ovx {

enum class Program { xdp_underlay, tc_underlay, tc_port };

struct XdpAttachment {
	int ifindex = 0;
	std::uint32_t mode = 0; // XDP_ATTACHED_DRV / _SKB / _HW
	std::uint32_t prog_id = 0;
	bool dispatcher = false; // a component of libxdp's dispatcher (shares the NIC)
};

// What replace_programs() did, hook by hook.
struct ProgramSwap {
	std::uint32_t old_xdp_id = 0, new_xdp_id = 0;
	std::uint32_t old_tc_port_id = 0, new_tc_port_id = 0;
	bool xdp_replaced = false; // the XDP link now runs the new program
	int tc_replaced = 0;	   // TC filters (underlay and ports) switched
};

// "native", "generic", "offload" for XDP_ATTACHED_DRV / _SKB / _HW; "none".
const char *attach_mode_name(std::uint32_t attach_mode);

class Dataplane {
public:
	static std::string instance_dir(const std::string &instance);

	// The instance's pinned dataplane, or nullopt when nothing is pinned.
	// Throws SystemError when pins exist but have another ABI layout.
	// @read_only: map fds that only read (BPF_F_RDONLY) and no program
	// fds, which group readers (loader/permissions.h) are allowed; hooks
	// are then judged from what an unprivileged process may query.
	static std::optional<Dataplane> open(const std::string &instance, bool read_only = false);

	// Loads the programs with fresh maps and pins everything. All or
	// nothing, also when the process is killed: the pins appear at once.
	static Dataplane create(const std::string &instance, std::uint32_t fdb_entries);

	// Where create() pins before the instance directory exists, and its
	// removal (what a process killed during create() left).
	static std::string staging_dir(const std::string &instance);
	static void remove_staging(const std::string &instance);

	// Loads the programs with fresh maps and pins nothing: for packet tests
	// and benchmarks, which attach nothing and must leave nothing behind.
	static Dataplane load_unpinned(std::uint32_t fdb_entries);

	// The map ABI version an instance's pins were made with, read from the
	// first field of its config map (where every version keeps it); nullopt
	// when nothing is pinned.
	static std::optional<std::uint32_t> pinned_abi(const std::string &instance);

	// One pinned object of the instance by its pin name (a map of any layout).
	static UniqueFd pinned_fd(const std::string &instance, std::string_view name);

	// `ovx upgrade`: this binary's programs take the place of the instance's
	// pinned ones while the maps keep their contents. Maps @keep names are
	// the pinned ones, shared as they are; the others are created fresh and
	// handed to @fill (to carry contents over from an older layout) before
	// anything switches. Then each hook switches atomically: XDP by adding
	// the new program to libxdp's dispatcher, then taking the old one out
	// (each a dispatcher swap; in between both run, and the first to see an
	// overlay frame decapsulates it, so the other sees only the inner frame
	// and passes it), or by bpf_link_update on a direct link left by ABI v1;
	// TC by replacing ovx's filter. The pins move over last. Traffic never
	// sees a hook without a program.
	static ProgramSwap replace_programs(const std::string &instance,
					    const std::function<bool(std::string_view)> &keep,
					    const std::function<void(Tables &)> &fill);

	// -1 for the XDP program while it is not attached.
	int program_fd(Program program) const;

	Tables &tables() { return tables_; }
	const Tables &tables() const { return tables_; }
	const std::string &instance() const { return instance_; }

	// XDP through libxdp: ovx's program is one component of the interface's
	// dispatcher, beside other XDP programs. @xdp_flags selects the mode
	// (XDP_FLAGS_*). Re-attaching in the same mode changes nothing; true
	// when this call attached. The program is pinned; libxdp pins the
	// dispatcher and its links (under /sys/fs/bpf/xdp).
	bool attach_xdp(int ifindex, std::uint32_t xdp_flags);
	// Where this instance's program runs on @ifindex, if it does.
	std::optional<XdpAttachment> xdp_attachment(int ifindex) const;
	void detach_xdp(int ifindex);

	// TC ingress (clsact) under ovx's own handle and priority; true when
	// this call attached (it was not, or another program was).
	bool attach_tc(int ifindex, Program program);
	void detach_tc(int ifindex);
	bool tc_attached(int ifindex, Program program) const;

	std::uint32_t program_id(Program program) const; // 0: not loaded

	// `ovx down`: detach everything and remove the instance's pins.
	void destroy();

	// Whether the pins open() read are still the instance's, none removed,
	// replaced (`ovx upgrade`) or added (the XDP program's) since: a caller
	// that keeps the dataplane open between uses (the cluster agent's
	// deltas) checks with one stat per pin instead of opening them all
	// again. False for a dataplane that create() or load_unpinned() made.
	bool pins_unchanged() const;

private:
	Dataplane(std::string instance, Tables tables, UniqueFd xdp, UniqueFd tc_underlay,
		  UniqueFd tc_port);

	std::string instance_;
	// open(): each pin's path and inode when it was read (0: absent).
	std::vector<std::pair<std::string, ino_t>> pins_;
	bool read_only_ = false;
	Tables tables_;
	UniqueFd xdp_underlay_;
	UniqueFd tc_underlay_;
	UniqueFd tc_port_;
};

} // namespace ovx
