#include "loader/offload.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>

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

std::unique_ptr<xdp_program, XdpProgramCloser> libxdp_program(int prog_fd)
{
	xdp_program *p = xdp_program__from_fd(prog_fd);
	if (const long err = libxdp_get_error(p))
		throw SystemError("libxdp: cannot take the offload program", static_cast<int>(-err));
	return std::unique_ptr<xdp_program, XdpProgramCloser>(p);
}

std::string libxdp_message(int err)
{
	char buf[256] = {};
	libxdp_strerror(err, buf, sizeof(buf));
	return buf;
}

} // namespace

void OffloadProgram::SkelDeleter::operator()(ovx_xdp_offload *skel) const
{
	ovx_xdp_offload__destroy(skel);
}

OffloadProgram::OffloadProgram(std::unique_ptr<ovx_xdp_offload, SkelDeleter> skel)
	: skel_(std::move(skel))
{
	auto *m = &skel_->maps;
	tables_ = std::make_unique<OffloadTables>(OffloadTables{
		.config = {map_fd(m->ovx_off_config), "ovx_off_config"},
		.vni = {map_fd(m->ovx_off_vni), "ovx_off_vni"},
		.vteps = {map_fd(m->ovx_off_vteps), "ovx_off_vteps"},
		.drops = {map_fd(m->ovx_off_drops), "ovx_off_drops"},
	});
}

OffloadProgram::OffloadProgram(OffloadProgram &&) noexcept = default;
OffloadProgram &OffloadProgram::operator=(OffloadProgram &&) noexcept = default;
OffloadProgram::~OffloadProgram() = default;

OffloadProgram OffloadProgram::load(const OffloadLoadOptions &options)
{
	std::unique_ptr<ovx_xdp_offload, SkelDeleter> skel(ovx_xdp_offload__open());
	if (!skel)
		throw SystemError("cannot open BPF object xdp_offload", errno);
	const std::string where =
		options.ifindex ? " on " + interface_label(options.ifindex) : std::string(" for the host");
	bpf_map *map;
	bpf_object__for_each_map(map, skel->obj) {
		if (options.ifindex)
			bpf_map__set_ifindex(map, static_cast<__u32>(options.ifindex));
		if (options.max_entries && bpf_map__set_max_entries(map, *options.max_entries))
			throw SystemError(std::string("map ") + bpf_map__name(map) + ": cannot size it", errno);
	}
	if (options.ifindex)
		bpf_program__set_ifindex(skel->progs.ovx_xdp_offload, static_cast<__u32>(options.ifindex));
	if (int err = ovx_xdp_offload__load(skel.get()))
		throw SystemError("loading the offload program" + where +
					  (options.ifindex ? " failed: the device cannot offload it (is it an "
							     "offload-capable NIC? try mode: native)"
							   : " failed"),
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
		.netns_dev = raw.netns_dev,
		.netns_ino = raw.netns_ino,
		.xlated_insns = raw.xlated_prog_len / static_cast<__u32>(sizeof(bpf_insn)),
	};
}

void OffloadProgram::attach_hw(int ifindex)
{
	auto prog = libxdp_program(program_fd());
	if (int err = xdp_program__attach(prog.get(), ifindex, XDP_MODE_HW, 0))
		throw SystemError("attaching the offload program in XDP hardware mode on " +
					  interface_label(ifindex) + ": " + libxdp_message(err) +
					  " (try mode: native)",
				  -err);
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

std::uint32_t hw_attached_program(int ifindex)
{
	auto mp = xdp_state(ifindex);
	const xdp_program *hw = mp ? xdp_multiprog__hw_prog(mp.get()) : nullptr;
	return hw ? xdp_program__id(hw) : 0;
}

bool detach_hw_program(int ifindex)
{
	auto mp = xdp_state(ifindex);
	xdp_program *hw = mp ? xdp_multiprog__hw_prog(mp.get()) : nullptr;
	if (!hw)
		return false;
	if (int err = xdp_program__detach(hw, ifindex, XDP_MODE_HW, 0))
		throw SystemError("detaching the hardware-mode XDP program from " +
					  interface_label(ifindex) + ": " + libxdp_message(err),
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
