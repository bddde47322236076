#include "loader/dataplane.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "bpf/tc_port.skel.h"
#include "bpf/tc_underlay.skel.h"
#include "bpf/xdp_underlay.skel.h"
#include "loader/netdev.h"
#include "maps/error.h"

namespace fs = std::filesystem;

namespace ovx {
namespace {

constexpr const char *kBpffs = "/sys/fs/bpf";
// ovx's TC filters sit at one fixed (handle, priority) so that they can be
// found, replaced and removed without touching anybody else's filters.
constexpr std::uint32_t kTcHandle = 0x6f76;
constexpr std::uint32_t kTcPriority = 0x6f76;

std::string ifname_of(int ifindex)
{
	char name[IF_NAMESIZE] = {};
	if (!if_indextoname(static_cast<unsigned>(ifindex), name))
		return "ifindex " + std::to_string(ifindex);
	return name;
}

const char *program_pin_name(Program program)
{
	switch (program) {
	case Program::xdp_underlay:
		return "prog_xdp_underlay";
	case Program::tc_underlay:
		return "prog_tc_underlay";
	case Program::tc_port:
		return "prog_tc_port";
	}
	return "";
}

// Pins need a BPF filesystem at /sys/fs/bpf; a fresh boot may not have one
// (systemd mounts it, minimal images do not), so mount it as bpftool does.
void require_bpffs()
{
	struct statfs st {};
	if (statfs(kBpffs, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return;
	if (mount("bpf", kBpffs, "bpf", 0, "mode=0700"))
		throw SystemError(std::string("no BPF filesystem at ") + kBpffs +
					  " and mounting one failed",
				  errno);
}

UniqueFd get_pinned(const std::string &path)
{
	int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		throw SystemError("cannot open pin " + path, errno);
	return UniqueFd(fd);
}

template <typename Skel> struct SkelDeleter {
	void (*destroy)(Skel *);
	void operator()(Skel *s) const { destroy(s); }
};
template <typename Skel> using SkelPtr = std::unique_ptr<Skel, SkelDeleter<Skel>>;

template <typename Skel>
SkelPtr<Skel> open_skel(Skel *(*open)(), void (*destroy)(Skel *), const char *what)
{
	Skel *s = open();
	if (!s)
		throw SystemError(std::string("cannot open BPF object ") + what, errno);
	return SkelPtr<Skel>(s, SkelDeleter<Skel>{destroy});
}

// Size the FDB and make the object use @first's maps, so all programs share
// one set of tables.
void prepare_object(bpf_object *obj, bpf_object *first, std::uint32_t fdb_entries)
{
	bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		if (std::strcmp(name, "ovx_fdb") == 0 &&
		    bpf_map__set_max_entries(map, fdb_entries))
			throw SystemError("map ovx_fdb: cannot size it", errno);
		// Constant pools (.rodata*) stay private to their object.
		if (!first || first == obj || bpf_map__is_internal(map))
			continue;
		bpf_map *shared = bpf_object__find_map_by_name(first, name);
		if (!shared || bpf_map__reuse_fd(map, bpf_map__fd(shared)))
			throw SystemError(std::string("map ") + name + ": cannot share it", errno);
	}
}

void load_object(bpf_object *obj, const char *what)
{
	int err = bpf_object__load(obj);
	if (err == -EPERM || err == -EACCES)
		throw SystemError(std::string("loading ") + what +
					  ": not permitted (ovx needs root or CAP_BPF + CAP_NET_ADMIN)",
				  -err);
	if (err)
		throw SystemError(std::string("loading ") + what +
					  " failed (kernel without BPF, BTF or a needed helper?)",
				  -err);
}

void pin_fd(int fd, const std::string &path)
{
	if (bpf_obj_pin(fd, path.c_str()))
		throw SystemError("cannot pin " + path, errno);
}

UniqueFd dup_fd(int fd, std::string_view what)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (copy < 0)
		throw SystemError("cannot duplicate the fd of " + std::string(what), errno);
	return UniqueFd(copy);
}

std::uint32_t attach_mode_of(std::uint32_t xdp_flags)
{
	if (xdp_flags & XDP_FLAGS_HW_MODE)
		return XDP_ATTACHED_HW;
	if (xdp_flags & XDP_FLAGS_SKB_MODE)
		return XDP_ATTACHED_SKB;
	return XDP_ATTACHED_DRV;
}

const char *mode_name(std::uint32_t xdp_flags)
{
	switch (attach_mode_of(xdp_flags)) {
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_SKB:
		return "generic";
	default:
		return "native";
	}
}

bpf_tc_hook ingress_hook(int ifindex)
{
	bpf_tc_hook hook{};
	hook.sz = sizeof(hook);
	hook.ifindex = ifindex;
	hook.attach_point = BPF_TC_INGRESS;
	return hook;
}

bpf_tc_opts ovx_filter(int prog_fd = 0)
{
	bpf_tc_opts opts{};
	opts.sz = sizeof(opts);
	opts.handle = kTcHandle;
	opts.priority = kTcPriority;
	opts.prog_fd = prog_fd;
	return opts;
}

} // namespace

std::string Dataplane::instance_dir(const std::string &instance)
{
	return std::string(kBpffs) + "/ovx/" + instance;
}

Dataplane::Dataplane(std::string instance, Tables tables, UniqueFd xdp, UniqueFd tc_underlay,
		     UniqueFd tc_port)
	: instance_(std::move(instance)), tables_(std::move(tables)),
	  xdp_underlay_(std::move(xdp)), tc_underlay_(std::move(tc_underlay)),
	  tc_port_(std::move(tc_port))
{
}

std::optional<Dataplane> Dataplane::open(const std::string &instance)
{
	require_bpffs();
	const std::string dir = instance_dir(instance);
	if (!fs::exists(dir + "/" + program_pin_name(Program::tc_port)))
		return std::nullopt;

	Tables tables = Tables::open(
		[&](std::string_view name) { return get_pinned(dir + "/" + std::string(name)); });
	auto cfg = tables.config.lookup(0);
	if (cfg && cfg->abi_version && cfg->abi_version != OVX_ABI_VERSION)
		throw SystemError("instance " + instance + " was pinned with map ABI v" +
				  std::to_string(cfg->abi_version) + ", this ovx speaks v" +
				  std::to_string(OVX_ABI_VERSION) +
				  ": run 'ovx down' with the old binary, then apply again");
	return Dataplane(instance, std::move(tables),
			 get_pinned(dir + "/" + program_pin_name(Program::xdp_underlay)),
			 get_pinned(dir + "/" + program_pin_name(Program::tc_underlay)),
			 get_pinned(dir + "/" + program_pin_name(Program::tc_port)));
}

Dataplane Dataplane::load_unpinned(std::uint32_t fdb_entries)
{
	auto xdp = open_skel(ovx_xdp_underlay__open, ovx_xdp_underlay__destroy, "xdp_underlay");
	auto tcu = open_skel(ovx_tc_underlay__open, ovx_tc_underlay__destroy, "tc_underlay");
	auto tcp = open_skel(ovx_tc_port__open, ovx_tc_port__destroy, "tc_port");

	prepare_object(xdp->obj, nullptr, fdb_entries);
	load_object(xdp->obj, "xdp_underlay");
	prepare_object(tcu->obj, xdp->obj, fdb_entries);
	load_object(tcu->obj, "tc_underlay");
	prepare_object(tcp->obj, xdp->obj, fdb_entries);
	load_object(tcp->obj, "tc_port");

	// Own copies of the fds: the skeletons close theirs when they go.
	Tables tables = Tables::open([&](std::string_view name) {
		bpf_map *map = bpf_object__find_map_by_name(xdp->obj, std::string(name).c_str());
		return map ? dup_fd(bpf_map__fd(map), name) : UniqueFd();
	});
	Dataplane dp("", std::move(tables),
		     dup_fd(bpf_program__fd(xdp->progs.ovx_xdp_underlay), "xdp_underlay"),
		     dup_fd(bpf_program__fd(tcu->progs.ovx_tc_underlay), "tc_underlay"),
		     dup_fd(bpf_program__fd(tcp->progs.ovx_tc_port), "tc_port"));
	ovx_config cfg{};
	cfg.abi_version = OVX_ABI_VERSION;
	dp.tables().config.update(0, cfg);
	return dp;
}

Dataplane Dataplane::create(const std::string &instance, std::uint32_t fdb_entries)
{
	require_bpffs();
	const std::string dir = instance_dir(instance);
	std::error_code ec;
	fs::create_directories(dir, ec);
	if (ec)
		throw SystemError("cannot create " + dir + ": " + ec.message());

	// Remove half-made pins if anything below throws.
	struct Undo {
		std::string dir;
		bool armed = true;
		~Undo()
		{
			std::error_code ignored;
			if (armed)
				fs::remove_all(dir, ignored);
		}
	} undo{dir};

	Dataplane loaded = load_unpinned(fdb_entries);
	for (std::string_view name : kMapNames)
		pin_fd(loaded.tables_.fd(name), dir + "/" + std::string(name));
	pin_fd(loaded.xdp_underlay_.get(), dir + "/" + program_pin_name(Program::xdp_underlay));
	pin_fd(loaded.tc_underlay_.get(), dir + "/" + program_pin_name(Program::tc_underlay));
	// Pinned last: its presence is what open() takes as "instance exists".
	pin_fd(loaded.tc_port_.get(), dir + "/" + program_pin_name(Program::tc_port));
	loaded.instance_ = instance;
	undo.armed = false;
	return loaded;
}

int Dataplane::program_fd(Program program) const
{
	switch (program) {
	case Program::xdp_underlay:
		return xdp_underlay_.get();
	case Program::tc_underlay:
		return tc_underlay_.get();
	case Program::tc_port:
		return tc_port_.get();
	}
	return -1;
}

std::uint32_t Dataplane::program_id(Program program) const
{
	bpf_prog_info info{};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(program_fd(program), &info, &len))
		throw SystemError(std::string("cannot read info of ") + program_pin_name(program),
				  errno);
	return info.id;
}

std::optional<XdpAttachment> Dataplane::xdp_attachment() const
{
	const std::string path = instance_dir(instance_) + "/link_xdp";
	int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		return std::nullopt;
	UniqueFd link(fd);
	bpf_link_info info{};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(link.get(), &info, &len))
		throw SystemError("cannot read XDP link " + path, errno);
	XdpAttachment att{.ifindex = static_cast<int>(info.xdp.ifindex)};
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (att.ifindex && bpf_xdp_query(att.ifindex, 0, &q) == 0)
		att.mode = q.attach_mode;
	// With mode: offload the NIC runs xdp_offload next to ours (MULTI):
	// ours is the one attached by the host's side.
	if (att.mode == XDP_ATTACHED_MULTI)
		att.mode = q.drv_prog_id ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB;
	return att;
}

void Dataplane::attach_xdp(int ifindex, std::uint32_t xdp_flags)
{
	const std::string path = instance_dir(instance_) + "/link_xdp";
	if (auto cur = xdp_attachment()) {
		if (cur->ifindex == ifindex && cur->mode == attach_mode_of(xdp_flags))
			return;
		detach_xdp();
	}
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = xdp_flags);
	int fd = bpf_link_create(program_fd(Program::xdp_underlay), ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		int err = errno;
		const std::string ifname = ifname_of(ifindex);
		std::string hint;
		if (err == EBUSY || err == EEXIST)
			hint = " (another XDP program is attached to it)";
		else if (err == EOPNOTSUPP || err == EINVAL)
			hint = std::string(" (driver ") + interface_driver(ifname) +
			       " does not support " + mode_name(xdp_flags) + " mode" +
			       (attach_mode_of(xdp_flags) == XDP_ATTACHED_DRV
					? "; try mode: generic)"
					: "; try mode: native)");
		throw SystemError("interface " + ifname + ": cannot attach XDP in " +
					  mode_name(xdp_flags) + " mode" + hint,
				  err);
	}
	UniqueFd link(fd);
	if (bpf_obj_pin(link.get(), path.c_str()))
		throw SystemError("cannot pin " + path, errno);
}

void Dataplane::detach_xdp()
{
	// The link is held by its pin alone: unpinning detaches the program.
	const std::string path = instance_dir(instance_) + "/link_xdp";
	if (::unlink(path.c_str()) && errno != ENOENT)
		throw SystemError("cannot remove " + path, errno);
}

bool Dataplane::tc_attached(int ifindex, Program program) const
{
	bpf_tc_hook hook = ingress_hook(ifindex);
	bpf_tc_opts q = ovx_filter();
	if (bpf_tc_query(&hook, &q))
		return false;
	return q.prog_id == program_id(program);
}

void Dataplane::attach_tc(int ifindex, Program program)
{
	if (tc_attached(ifindex, program))
		return;
	bpf_tc_hook hook = ingress_hook(ifindex);
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		throw SystemError("interface " + ifname_of(ifindex) + ": cannot add clsact qdisc",
				  -err);
	bpf_tc_opts opts = ovx_filter(program_fd(program));
	opts.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		throw SystemError("interface " + ifname_of(ifindex) +
					  ": cannot attach TC program " + program_pin_name(program),
				  -err);
}

void Dataplane::detach_tc(int ifindex)
{
	bpf_tc_hook hook = ingress_hook(ifindex);
	bpf_tc_opts opts = ovx_filter();
	int err = bpf_tc_detach(&hook, &opts);
	// Gone already (the interface, or the filter): nothing left to do.
	if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
		throw SystemError("interface " + ifname_of(ifindex) + ": cannot detach TC program",
				  -err);
}

void Dataplane::destroy()
{
	auto cfg = tables_.config.lookup(0);
	for (const auto &[ifindex, port] : tables_.ports.dump())
		detach_tc(static_cast<int>(ifindex));
	if (cfg && cfg->underlay_ifindex)
		detach_tc(static_cast<int>(cfg->underlay_ifindex));
	detach_xdp();
	std::error_code ec;
	fs::remove_all(instance_dir(instance_), ec);
	if (ec)
		throw SystemError("cannot remove " + instance_dir(instance_) + ": " + ec.message());
	// The parent goes with its last instance.
	fs::remove(fs::path(instance_dir(instance_)).parent_path(), ec);
}

} // namespace ovx
