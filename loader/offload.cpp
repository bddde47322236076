#include "loader/offload.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bpf/xdp_offload.skel.h"
#include "loader/netdev.h"
#include "maps/error.h"

namespace ovx {
namespace {

std::string interface_label(int ifindex)
{
	char name[IF_NAMESIZE] = {};
	if (!if_indextoname(static_cast<unsigned>(ifindex), name))
		return "ifindex " + std::to_string(ifindex);
	return std::string(name) + " (driver " + interface_driver(name) + ")";
}

// The maps stay owned by the skeleton; the typed handles get their own fds.
UniqueFd map_fd(const bpf_map *map)
{
	int fd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		throw SystemError(std::string("map ") + bpf_map__name(map) + ": cannot duplicate its fd",
				  errno);
	return UniqueFd(fd);
}

struct XdpProgramCloser {
	void operator()(xdp_program *p) const { xdp_program__close(p); }
};
struct XdpMultiprogCloser {
	void operator()(xdp_multiprog *mp) const { xdp_multiprog__close(mp); }
};

} // namespace

OffloadTables OffloadTables::open(const std::function<UniqueFd(std::string_view)> &open)
{
	return OffloadTables{
		.config = {open("ovx_off_config"), "ovx_off_config"},
		.vni = {open("ovx_off_vni"), "ovx_off_vni"},
		.vteps = {open("ovx_off_vteps"), "ovx_off_vteps"},
		.drops = {open("ovx_off_drops"), "ovx_off_drops"},
		.relay = {open("ovx_off_relay"), "ovx_off_relay"},
		.relayed = {open("ovx_off_relayed"), "ovx_off_relayed"},
	};
}

int OffloadTables::fd(std::string_view name) const
{
	const std::pair<std::string_view, int> fds[] = {
		{"ovx_off_config", config.fd()}, {"ovx_off_vni", vni.fd()},
		{"ovx_off_vteps", vteps.fd()},	 {"ovx_off_drops", drops.fd()},
		{"ovx_off_relay", relay.fd()},	 {"ovx_off_relayed", relayed.fd()},
	};
	for (const auto &[n, fd] : fds)
		if (n == name)
			return fd;
	return -1;
}

void pin_offload_maps(const OffloadTables &tables, const std::string &dir)
{
	std::error_code ec;
	std::filesystem::create_directories(dir, ec);
	if (ec)
		throw SystemError("cannot create " + dir + ": " + ec.message());
	for (std::string_view name : kOffloadMapNames) {
		const std::string path = dir + "/" + std::string(name);
		if (bpf_obj_pin(tables.fd(name), path.c_str()))
			throw SystemError("cannot pin " + path, errno);
	}
}

std::optional<OffloadTables> open_pinned_offload_maps(const std::string &dir)
{
	if (!std::filesystem::exists(dir + "/" + std::string(kOffloadMapNames[0])))
		return std::nullopt;
	return OffloadTables::open([&](std::string_view name) {
		const std::string path = dir + "/" + std::string(name);
		int fd = bpf_obj_get(path.c_str());
		if (fd < 0)
			throw SystemError("cannot open pin " + path, errno);
		return UniqueFd(fd);
	});
}

void OffloadProgram::SkelDeleter::operator()(ovx_xdp_offload *skel) const
{
	ovx_xdp_offload__destroy(skel);
}

OffloadProgram::OffloadProgram(std::unique_ptr<ovx_xdp_offload, SkelDeleter> skel)
	: skel_(std::move(skel))
{
	tables_ = std::make_unique<OffloadTables>(OffloadTables::open([&](std::string_view name) {
		const bpf_map *map = bpf_object__find_map_by_name(skel_->obj, std::string(name).c_str());
		if (!map)
			throw SystemError("offload object has no map " + std::string(name));
		return map_fd(map);
	}));
}

OffloadProgram::OffloadProgram(OffloadProgram &&) noexcept = default;
OffloadProgram &OffloadProgram::operator=(OffloadProgram &&) noexcept = default;
OffloadProgram::~OffloadProgram() = default;

std::unique_ptr<ovx_xdp_offload, OffloadProgram::SkelDeleter> OffloadProgram::open_object()
{
	std::unique_ptr<ovx_xdp_offload, OffloadProgram::SkelDeleter> skel(ovx_xdp_offload__open());
	if (!skel)
		throw SystemError("cannot open BPF object xdp_offload", errno);
	return skel;
}

OffloadProgram OffloadProgram::load()
{
	auto skel = open_object();
	if (int err = ovx_xdp_offload__load(skel.get()))
		throw SystemError("loading the offload program for the host failed", -err);
	return OffloadProgram(std::move(skel));
}

OffloadProgram OffloadProgram::attach_hw(int ifindex, std::optional<std::uint32_t> max_entries)
{
	auto skel = open_object();
	bpf_map *map;
	bpf_object__for_each_map(map, skel->obj) {
		if (max_entries && bpf_map__set_max_entries(map, *max_entries))
			throw SystemError(std::string("map ") + bpf_map__name(map) + ": cannot size it", errno);
	}
	// libxdp's hardware mode needs the object unloaded: it binds program
	// and maps to the device itself before loading them.
	std::unique_ptr<xdp_program, XdpProgramCloser> prog(
		xdp_program__from_bpf_obj(skel->obj, "xdp"));
	if (const long err = libxdp_get_error(prog.get())) {
		prog.release();
		throw SystemError("libxdp: cannot take the offload program", static_cast<int>(-err));
	}
	if (int err = xdp_program__attach(prog.get(), ifindex, XDP_MODE_HW, 0))
		throw SystemError("loading the offload program onto " + interface_label(ifindex) +
					  " in XDP hardware mode failed" +
					  (err == -EEXIST ? " (another program runs on it in hardware mode)"
							  : " (not an offload-capable NIC? use mode: native)"),
				  -err);
	return OffloadProgram(std::move(skel));
}

int OffloadProgram::program_fd() const
{
	return bpf_program__fd(skel_->progs.ovx_xdp_offload);
}

OffloadProgramInfo OffloadProgram::info() const
{
	bpf_prog_info raw{};
	__u32 len = sizeof(raw);
	if (bpf_obj_get_info_by_fd(program_fd(), &raw, &len))
		throw SystemError("offload program: cannot read its info", errno);
	return OffloadProgramInfo{
		.id = raw.id,
		.name = raw.name,
		.ifindex = raw.ifindex,
		.xlated_insns = raw.xlated_prog_len / static_cast<__u32>(sizeof(bpf_insn)),
	};
}

namespace {

// Empty when nothing at all is attached to @ifindex.
std::unique_ptr<xdp_multiprog, XdpMultiprogCloser> xdp_state(int ifindex)
{
	xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	const long err = libxdp_get_error(mp);
	if (err == -ENOENT)
		return nullptr;
	if (err)
		throw SystemError("libxdp: cannot query XDP on " + interface_label(ifindex),
				  static_cast<int>(-err));
	return std::unique_ptr<xdp_multiprog, XdpMultiprogCloser>(mp);
}

} // namespace

// libbpf's query, not libxdp's: libxdp 1.3.1 leaks a program fd per query,
// and the status verbs and the exporter ask on every call.
std::uint32_t hw_attached_program(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (int err = bpf_xdp_query(ifindex, 0, &q))
		throw SystemError("cannot query XDP on " + interface_label(ifindex), -err);
	return q.hw_prog_id;
}

bool detach_hw_program(int ifindex)
{
	auto mp = xdp_state(ifindex);
	xdp_program *hw = mp ? xdp_multiprog__hw_prog(mp.get()) : nullptr;
	if (!hw)
		return false;
	if (int err = xdp_program__detach(hw, ifindex, XDP_MODE_HW, 0))
		throw SystemError("detaching the hardware-mode XDP program from " +
					  interface_label(ifindex),
				  -err);
	return true;
}

std::span<const std::uint8_t> offload_object()
{
	std::size_t size = 0;
	const void *data = ovx_xdp_offload__elf_bytes(&size);
	return {static_cast<const std::uint8_t *>(data), size};
}

} // namespace ovx
