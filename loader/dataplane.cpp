#include "loader/dataplane.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "bpf/tc_port.skel.h"
#include "bpf/tc_underlay.skel.h"
#include "bpf/xdp_underlay.skel.h"
#include "loader/netdev.h"
#include "loader/permissions.h"
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

ino_t pin_inode(const std::string &path)
{
	struct stat st{};
	return ::stat(path.c_str(), &st) ? 0 : st.st_ino;
}

// @read_only: a map fd that can only read (BPF_F_RDONLY), which the pin's
// read permission is enough for: what the group's readers get.
UniqueFd get_pinned(const std::string &path, bool read_only = false)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = read_only ? std::uint32_t{BPF_F_RDONLY} : 0u);
	int fd = bpf_obj_get_opts(path.c_str(), &opts);
	if (fd < 0) {
		const int err = errno;
		if (err == EACCES || err == EPERM)
			throw SystemError(access_refused(path, err));
		throw SystemError("cannot open pin " + path, err);
	}
	return UniqueFd(fd);
}

// Whether @path exists; a directory on the way this user may not search
// is said plainly (std::filesystem would throw its own words).
bool pin_exists(const std::string &path)
{
	struct stat st {};
	if (!::stat(path.c_str(), &st))
		return true;
	if (errno == EACCES)
		throw SystemError(access_refused(path, errno));
	return false;
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

// Where a map's fd comes from when an object is prepared: a fd to share,
// or -1 to let libbpf create the map.
using MapFdSource = std::function<int(const char *name)>;

// Size the FDB and make the object use the maps @shared names, so all
// programs share one set of tables.
void prepare_object(bpf_object *obj, std::uint32_t fdb_entries, const MapFdSource &shared)
{
	bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		if (std::strcmp(name, "ovx_fdb") == 0 &&
		    bpf_map__set_max_entries(map, fdb_entries))
			throw SystemError("map ovx_fdb: cannot size it", errno);
		// Constant pools (.rodata*) stay private to their object.
		if (bpf_map__is_internal(map))
			continue;
		const int fd = shared(name);
		if (fd >= 0 && bpf_map__reuse_fd(map, fd))
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

enum class PinKind { map, program };

// Maps are the group's to read; programs stay the owner's (bpffs makes
// every pin 0600): a program fd could be test-run, and the XDP program
// learns into the FDB.
void pin_fd(int fd, const std::string &path, PinKind kind)
{
	if (bpf_obj_pin(fd, path.c_str()))
		throw SystemError("cannot pin " + path, errno);
	if (kind == PinKind::map)
		share_with_readers(path, kSharedFileMode);
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
	return attach_mode_name(attach_mode_of(xdp_flags));
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


enum xdp_attach_mode libxdp_mode(std::uint32_t xdp_flags)
{
	switch (attach_mode_of(xdp_flags)) {
	case XDP_ATTACHED_HW:
		return XDP_MODE_HW;
	case XDP_ATTACHED_SKB:
		return XDP_MODE_SKB;
	default:
		return XDP_MODE_NATIVE;
	}
}

std::uint32_t xdp_flags_of(std::uint32_t attach_mode)
{
	switch (attach_mode) {
	case XDP_ATTACHED_HW:
		return XDP_FLAGS_HW_MODE;
	case XDP_ATTACHED_SKB:
		return XDP_FLAGS_SKB_MODE;
	default:
		return XDP_FLAGS_DRV_MODE;
	}
}

struct MultiprogDeleter {
	void operator()(xdp_multiprog *mp) const { xdp_multiprog__close(mp); }
};
using MultiprogPtr = std::unique_ptr<xdp_multiprog, MultiprogDeleter>;
struct XdpProgramDeleter {
	void operator()(xdp_program *p) const { xdp_program__close(p); }
};
using XdpProgramPtr = std::unique_ptr<xdp_program, XdpProgramDeleter>;

// What libxdp has on @ifindex; null when nothing is attached.
MultiprogPtr multiprog(int ifindex)
{
	xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp))
		return nullptr;
	return MultiprogPtr(mp);
}

std::uint32_t config_map_id(int fd)
{
	bpf_map_info info{};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		throw SystemError("map ovx_config: cannot read its info", errno);
	return info.id;
}

std::uint32_t config_map_id(const Tables &tables)
{
	return config_map_id(tables.config.fd());
}

// The maps program @prog_id uses (none when it is gone).
std::vector<std::uint32_t> map_ids_of(std::uint32_t prog_id)
{
	int fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return {};
	UniqueFd prog(fd);
	std::vector<std::uint32_t> ids(64);
	bpf_prog_info info{};
	info.nr_map_ids = static_cast<__u32>(ids.size());
	info.map_ids = reinterpret_cast<std::uintptr_t>(ids.data());
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog.get(), &info, &len))
		return {};
	ids.resize(std::min<std::size_t>(info.nr_map_ids, ids.size()));
	return ids;
}

// An instance's XDP program is the one that uses its config map: programs
// come and go (upgrades, repairs), the maps stay.
bool uses_map(std::uint32_t prog_id, std::uint32_t map_id)
{
	const auto ids = map_ids_of(prog_id);
	return std::find(ids.begin(), ids.end(), map_id) != ids.end();
}

// Whether @prog_id is an ovx program of another instance: it uses a map
// named ovx_config, but not @our_config.
bool foreign_ovx_program(std::uint32_t prog_id, std::uint32_t our_config)
{
	for (const std::uint32_t id : map_ids_of(prog_id)) {
		if (id == our_config)
			return false;
		int mfd = bpf_map_get_fd_by_id(id);
		if (mfd < 0)
			continue;
		UniqueFd map(mfd);
		bpf_map_info minfo{};
		__u32 mlen = sizeof(minfo);
		if (!bpf_obj_get_info_by_fd(map.get(), &minfo, &mlen) &&
		    std::strcmp(minfo.name, "ovx_config") == 0)
			return true;
	}
	return false;
}

// The programs libxdp's dispatcher @dispatcher runs, from the kernel's own
// record: the freplace links that target it (none: @dispatcher is not one).
// Not libxdp's reader: 1.3.1 (Debian 12) leaks a program fd on every
// xdp_multiprog__get_from_ifindex(), and this runs on every apply, agent
// tick and scrape.
std::vector<std::uint32_t> dispatcher_components(std::uint32_t dispatcher)
{
	std::vector<std::uint32_t> out;
	__u32 id = 0;
	while (!bpf_link_get_next_id(id, &id)) {
		const int fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue; // gone meanwhile
		UniqueFd link(fd);
		bpf_link_info info{};
		__u32 len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(link.get(), &info, &len) &&
		    info.type == BPF_LINK_TYPE_TRACING && info.tracing.target_obj_id == dispatcher)
			out.push_back(info.prog_id);
	}
	return out;
}

// ovx's program among what runs on @ifindex's XDP hook: a component of
// libxdp's dispatcher, or (offload, or no dispatcher) the program itself.
std::optional<XdpAttachment> find_component(int ifindex, std::uint32_t config_map)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query(ifindex, 0, &q))
		return std::nullopt;
	const std::pair<std::uint32_t, std::uint32_t> hooks[] = {{q.drv_prog_id, XDP_ATTACHED_DRV},
								 {q.skb_prog_id, XDP_ATTACHED_SKB}};
	for (const auto &[id, mode] : hooks) {
		if (!id)
			continue;
		const auto components = dispatcher_components(id);
		for (const std::uint32_t c : components)
			if (uses_map(c, config_map))
				return XdpAttachment{ifindex, mode, c, true};
		if (components.empty() && uses_map(id, config_map))
			return XdpAttachment{ifindex, mode, id, false};
	}
	if (q.hw_prog_id && uses_map(q.hw_prog_id, config_map))
		return XdpAttachment{ifindex, XDP_ATTACHED_HW, q.hw_prog_id, false};
	return std::nullopt;
}

// Loads a fresh copy of the XDP program on @tables' maps and hands it to
// libxdp, which runs it as a component of the interface's dispatcher (made
// or rebuilt for it, and switched in atomically), so that other XDP
// programs can share the interface. Returns the program's fd.
UniqueFd attach_component(int ifindex, std::uint32_t xdp_flags, const Tables &tables)
{
	auto skel = open_skel(ovx_xdp_underlay__open, ovx_xdp_underlay__destroy, "xdp_underlay");
	const std::uint32_t fdb_entries = tables.fdb.max_entries();
	prepare_object(skel->obj, fdb_entries, [&](const char *name) { return tables.fd(name); });
	XdpProgramPtr prog(xdp_program__from_bpf_obj(skel->obj, "xdp"));
	if (int err = libxdp_get_error(prog.get())) {
		prog.release();
		throw SystemError("libxdp: cannot take the XDP program", -err);
	}
	if (int err = xdp_program__attach(prog.get(), ifindex, libxdp_mode(xdp_flags), 0)) {
		err = -err;
		const std::string ifname = ifname_of(ifindex);
		std::string hint;
		if (err == EBUSY || err == EEXIST)
			hint = " (another XDP program holds it outside libxdp's dispatcher, or in "
			       "another mode)";
		else if (err == EOPNOTSUPP || err == EINVAL || err == ENODEV)
			hint = std::string(" (driver ") + interface_driver(ifname) +
			       " does not support " + mode_name(xdp_flags) + " mode" +
			       (attach_mode_of(xdp_flags) == XDP_ATTACHED_DRV
					? "; try mode: generic)"
					: "; try mode: native)");
		throw SystemError("interface " + ifname + ": cannot attach XDP in " +
					  mode_name(xdp_flags) + " mode" + hint,
				  err);
	}
	return dup_fd(xdp_program__fd(prog.get()), "xdp_underlay");
}

// Takes the component with @prog_id out of the dispatcher on @ifindex
// (libxdp rebuilds the dispatcher without it, or removes it if it was the
// last one).
void detach_component(int ifindex, std::uint32_t prog_id)
{
	MultiprogPtr mp = multiprog(ifindex);
	if (!mp)
		return;
	const enum xdp_attach_mode mode = xdp_multiprog__attach_mode(mp.get());
	auto detach = [&](xdp_program *p, enum xdp_attach_mode m) {
		if (int err = xdp_program__detach(p, ifindex, m, 0))
			throw SystemError("interface " + ifname_of(ifindex) +
						  ": cannot detach ovx's XDP program",
					  -err);
	};
	for (xdp_program *p = xdp_multiprog__next_prog(nullptr, mp.get()); p;
	     p = xdp_multiprog__next_prog(p, mp.get()))
		if (xdp_program__id(p) == prog_id)
			return detach(p, mode);
	if (xdp_program *hw = xdp_multiprog__hw_prog(mp.get()); hw && xdp_program__id(hw) == prog_id)
		return detach(hw, XDP_MODE_HW);
	if (xdp_program *main = xdp_multiprog__main_prog(mp.get());
	    main && xdp_multiprog__is_legacy(mp.get()) && xdp_program__id(main) == prog_id)
		return detach(main, mode);
}

// Where libxdp could not use its dispatcher (a kernel that refuses
// freplace programs: its compatibility check says so under OVX_DEBUG=1),
// ovx's program is the interface's only one, attached by netlink; it is
// replaced there in one atomic step (XDP_FLAGS_REPLACE names the old one).
void replace_single(int ifindex, const XdpAttachment &cur, int new_fd)
{
	int fd = bpf_prog_get_fd_by_id(cur.prog_id);
	if (fd < 0)
		throw SystemError("interface " + ifname_of(ifindex) + ": the running XDP program is gone",
				  errno);
	UniqueFd old(fd);
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old.get());
	if (bpf_xdp_attach(ifindex, new_fd, xdp_flags_of(cur.mode) | XDP_FLAGS_REPLACE, &opts))
		throw SystemError("interface " + ifname_of(ifindex) +
					  ": cannot replace ovx's XDP program",
				  errno);
}

// ovx of ABI v1 attached XDP through a bpf_link pinned in the instance; an
// instance migrated from it keeps that link (switched atomically by
// upgrade) until it is taken down.
std::optional<UniqueFd> legacy_xdp_link(const std::string &instance)
{
	int fd = bpf_obj_get((Dataplane::instance_dir(instance) + "/link_xdp").c_str());
	if (fd < 0)
		return std::nullopt;
	return UniqueFd(fd);
}

} // namespace

const char *attach_mode_name(std::uint32_t attach_mode)
{
	switch (attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	default:
		return "none";
	}
}

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

std::optional<Dataplane> Dataplane::open(const std::string &instance, bool read_only)
{
	const auto abi = pinned_abi(instance);
	if (!abi)
		return std::nullopt;
	if (*abi && *abi != OVX_ABI_VERSION)
		throw SystemError(
			"instance " + instance + " was pinned with map ABI v" + std::to_string(*abi) +
			", this ovx speaks v" + std::to_string(OVX_ABI_VERSION) +
			(*abi < OVX_ABI_VERSION
				 ? ": run 'ovx upgrade --migrate' to carry its maps over without "
				   "stopping traffic (or 'ovx down' with the old binary, then apply)"
				 : ": this binary is older than the pins; use the newer ovx"));
	const std::string dir = instance_dir(instance);
	// Each pin's inode before it is read: one replaced in between reads as
	// changed at the next pins_unchanged(), never the other way round.
	std::vector<std::pair<std::string, ino_t>> pins;
	auto pinned = [&](const std::string &path) {
		pins.emplace_back(path, pin_inode(path));
		return get_pinned(path, read_only);
	};
	Tables tables =
		Tables::open([&](std::string_view name) { return pinned(dir + "/" + std::string(name)); });
	// The XDP program is pinned while it is attached. Readers get no
	// program fds: the program pins are not theirs.
	const std::string xdp = dir + "/" + program_pin_name(Program::xdp_underlay);
	pins.emplace_back(xdp, pin_inode(xdp));
	UniqueFd xdp_fd = pins.back().second && !read_only ? get_pinned(xdp) : UniqueFd();
	auto program = [&](Program p) {
		return read_only ? UniqueFd() : pinned(dir + "/" + program_pin_name(p));
	};
	Dataplane dp(instance, std::move(tables), std::move(xdp_fd), program(Program::tc_underlay),
		     program(Program::tc_port));
	dp.pins_ = std::move(pins);
	dp.read_only_ = read_only;
	return dp;
}

bool Dataplane::pins_unchanged() const
{
	return !pins_.empty() && std::all_of(pins_.begin(), pins_.end(), [](const auto &p) {
		return pin_inode(p.first) == p.second;
	});
}

namespace {

struct LoadedPrograms {
	Tables tables;
	UniqueFd xdp, tc_underlay, tc_port;
};

// Loads the three objects; the first one's maps come from @existing where it
// names one, the others share the first one's.
LoadedPrograms load_programs(std::uint32_t fdb_entries, const MapFdSource &existing)
{
	auto xdp = open_skel(ovx_xdp_underlay__open, ovx_xdp_underlay__destroy, "xdp_underlay");
	auto tcu = open_skel(ovx_tc_underlay__open, ovx_tc_underlay__destroy, "tc_underlay");
	auto tcp = open_skel(ovx_tc_port__open, ovx_tc_port__destroy, "tc_port");

	prepare_object(xdp->obj, fdb_entries, existing);
	load_object(xdp->obj, "xdp_underlay");
	const MapFdSource from_first = [&](const char *name) {
		bpf_map *m = bpf_object__find_map_by_name(xdp->obj, name);
		return m ? bpf_map__fd(m) : -1;
	};
	prepare_object(tcu->obj, fdb_entries, from_first);
	load_object(tcu->obj, "tc_underlay");
	prepare_object(tcp->obj, fdb_entries, from_first);
	load_object(tcp->obj, "tc_port");

	// Own copies of the fds: the skeletons close theirs when they go.
	Tables tables = Tables::open([&](std::string_view name) {
		bpf_map *map = bpf_object__find_map_by_name(xdp->obj, std::string(name).c_str());
		return map ? dup_fd(bpf_map__fd(map), name) : UniqueFd();
	});
	return LoadedPrograms{
		std::move(tables),
		dup_fd(bpf_program__fd(xdp->progs.ovx_xdp_underlay), "xdp_underlay"),
		dup_fd(bpf_program__fd(tcu->progs.ovx_tc_underlay), "tc_underlay"),
		dup_fd(bpf_program__fd(tcp->progs.ovx_tc_port), "tc_port"),
	};
}

std::uint32_t prog_id(int fd, const char *what)
{
	bpf_prog_info info{};
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		throw SystemError(std::string("cannot read info of ") + what, errno);
	return info.id;
}

// Pins @fd at @path in one step, whether or not something is pinned there:
// pinned beside it first, then renamed over it (bpffs renames atomically).
void repin(int fd, const std::string &path, PinKind kind)
{
	const std::string tmp = path + "_new"; // bpffs refuses names with a dot
	::unlink(tmp.c_str());
	pin_fd(fd, tmp, kind);
	if (::rename(tmp.c_str(), path.c_str())) {
		int err = errno;
		::unlink(tmp.c_str());
		throw SystemError("cannot move pin " + tmp + " to " + path, err);
	}
}

} // namespace

Dataplane Dataplane::load_unpinned(std::uint32_t fdb_entries)
{
	LoadedPrograms p = load_programs(fdb_entries, [](const char *) { return -1; });
	Dataplane dp("", std::move(p.tables), std::move(p.xdp), std::move(p.tc_underlay),
		     std::move(p.tc_port));
	ovx_config cfg{};
	cfg.abi_version = OVX_ABI_VERSION;
	dp.tables().config.update(0, cfg);
	return dp;
}

std::optional<std::uint32_t> Dataplane::pinned_abi(const std::string &instance)
{
	require_bpffs();
	const std::string dir = instance_dir(instance);
	if (!pin_exists(dir + "/" + program_pin_name(Program::tc_port)))
		return std::nullopt;
	RawMap config(get_pinned(dir + "/ovx_config", true), "ovx_config");
	// Every layout starts with the version: read the value whatever its size.
	std::vector<std::uint8_t> value(std::max<std::uint32_t>(config.value_size(), 4));
	const std::uint32_t key = 0;
	if (!config.lookup(&key, value.data()))
		return 0;
	std::uint32_t version;
	std::memcpy(&version, value.data(), sizeof(version));
	return version;
}

UniqueFd Dataplane::pinned_fd(const std::string &instance, std::string_view name)
{
	return get_pinned(instance_dir(instance) + "/" + std::string(name));
}

ProgramSwap Dataplane::replace_programs(const std::string &instance,
					const std::function<bool(std::string_view)> &keep,
					const std::function<void(Tables &)> &fill)
{
	require_bpffs();
	const std::string dir = instance_dir(instance);
	if (!fs::exists(dir + "/" + program_pin_name(Program::tc_port)))
		throw ConfigError("instance '" + instance + "' is not running (nothing pinned under " +
				  dir + ")");
	std::vector<UniqueFd> kept;
	RawMap fdb(get_pinned(dir + "/ovx_fdb"), "ovx_fdb");
	LoadedPrograms p = load_programs(fdb.max_entries(), [&](const char *name) {
		if (!keep(name))
			return -1;
		kept.push_back(get_pinned(dir + "/" + name));
		return kept.back().get();
	});
	fill(p.tables);

	ProgramSwap swap;
	const std::string xdp_pin = dir + "/" + program_pin_name(Program::xdp_underlay);
	swap.old_tc_port_id = prog_id(get_pinned(dir + "/" + program_pin_name(Program::tc_port)).get(),
				      "the pinned TC port program");
	const std::uint32_t old_tc_underlay =
		prog_id(get_pinned(dir + "/" + program_pin_name(Program::tc_underlay)).get(),
			"the pinned TC underlay program");
	swap.new_tc_port_id = prog_id(p.tc_port.get(), "tc_port");

	const auto cfg = p.tables.config.lookup(0);
	const int underlay = cfg ? static_cast<int>(cfg->underlay_ifindex) : 0;
	UniqueFd new_xdp;
	if (auto link = legacy_xdp_link(instance)) {
		bpf_link_info info{};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(link->get(), &info, &len) == 0)
			swap.old_xdp_id = info.prog_id;
		if (bpf_link_update(link->get(), p.xdp.get(), nullptr))
			throw SystemError("instance " + instance +
						  ": cannot switch the XDP link to the new program",
					  errno);
		new_xdp = std::move(p.xdp);
		swap.xdp_replaced = true;
	} else if (underlay) {
		// The running program uses the pinned config map, which a
		// migration may have replaced in p.tables.
		const std::uint32_t running_config =
			config_map_id(get_pinned(dir + "/ovx_config").get());
		if (auto cur = find_component(underlay, running_config)) {
			swap.old_xdp_id = cur->prog_id;
			MultiprogPtr mp = multiprog(underlay);
			if (mp && !xdp_multiprog__is_legacy(mp.get())) {
				new_xdp = attach_component(underlay, xdp_flags_of(cur->mode), p.tables);
				detach_component(underlay, cur->prog_id);
			} else {
				replace_single(underlay, *cur, p.xdp.get());
				new_xdp = std::move(p.xdp);
			}
			swap.xdp_replaced = true;
		}
	}
	if (new_xdp)
		swap.new_xdp_id = prog_id(new_xdp.get(), "xdp_underlay");

	// TC: wherever ovx's filter runs one of the old programs.
	auto switch_tc = [&](int ifindex, std::uint32_t old_id, int new_fd) {
		bpf_tc_hook hook = ingress_hook(ifindex);
		bpf_tc_opts q = ovx_filter();
		if (bpf_tc_query(&hook, &q) || q.prog_id != old_id)
			return;
		bpf_tc_opts opts = ovx_filter(new_fd);
		opts.flags = BPF_TC_F_REPLACE;
		if (int err = bpf_tc_attach(&hook, &opts))
			throw SystemError("interface " + ifname_of(ifindex) +
						  ": cannot switch ovx's TC filter to the new program",
					  -err);
		swap.tc_replaced++;
	};
	if (underlay)
		switch_tc(underlay, old_tc_underlay, p.tc_underlay.get());
	for (const auto &[ifindex, port] : p.tables.ports.dump())
		switch_tc(static_cast<int>(ifindex), swap.old_tc_port_id, p.tc_port.get());

	for (std::string_view name : kMapNames)
		if (!keep(name))
			repin(p.tables.fd(name), dir + "/" + std::string(name), PinKind::map);
	if (new_xdp)
		repin(new_xdp.get(), xdp_pin, PinKind::program);
	repin(p.tc_underlay.get(), dir + "/" + program_pin_name(Program::tc_underlay),
	      PinKind::program);
	repin(p.tc_port.get(), dir + "/" + program_pin_name(Program::tc_port), PinKind::program);
	return swap;
}

std::string Dataplane::staging_dir(const std::string &instance)
{
	// Beside ovx/, not in it: no instance name can clash, and bpffs
	// reserves names with dots.
	return std::string(kBpffs) + "/ovx-staging/" + instance;
}

void Dataplane::remove_staging(const std::string &instance)
{
	std::error_code ec;
	fs::remove_all(staging_dir(instance), ec);
	if (ec)
		throw SystemError("cannot remove " + staging_dir(instance) + ": " + ec.message());
	fs::remove(fs::path(staging_dir(instance)).parent_path(), ec); // when empty
}

Dataplane Dataplane::create(const std::string &instance, std::uint32_t fdb_entries)
{
	require_bpffs();
	const std::string dir = instance_dir(instance), staging = staging_dir(instance);
	std::error_code ec;
	// Pins without the one that marks a whole instance: someone removed
	// it. Loading over them would fail half-way, and undoing that would
	// remove pins a running dataplane may still need.
	if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
		throw SystemError("instance " + instance + ": " + dir + " holds pins but not " +
				  program_pin_name(Program::tc_port) +
				  " (removed by hand?): ovx will not load over it; remove the directory and "
				  "ovx's XDP and TC programs from its interfaces, then apply again");
	// Pins are made in a staging directory that becomes the instance's in
	// one rename: a process killed half-way leaves no half instance, only
	// a staging directory that the next writer (holding the writer lock,
	// so nobody else is creating) removes.
	remove_staging(instance);
	fs::create_directories(staging, ec);
	if (ec)
		throw SystemError("cannot create " + staging + ": " + ec.message());
	struct Undo {
		std::string dir;
		bool armed = true;
		~Undo()
		{
			std::error_code ignored;
			if (armed)
				fs::remove_all(dir, ignored);
		}
	} undo{staging};

	Dataplane loaded = load_unpinned(fdb_entries);
	share_with_readers(staging, kSharedDirMode);
	for (std::string_view name : kMapNames)
		pin_fd(loaded.tables_.fd(name), staging + "/" + std::string(name), PinKind::map);
	// The XDP program to attach is loaded by attach_xdp(), for libxdp.
	loaded.xdp_underlay_.reset();
	pin_fd(loaded.tc_underlay_.get(), staging + "/" + program_pin_name(Program::tc_underlay),
	       PinKind::program);
	pin_fd(loaded.tc_port_.get(), staging + "/" + program_pin_name(Program::tc_port),
	       PinKind::program);
	fs::remove(dir, ec); // empty, if there
	// /sys/fs/bpf/ovx: the group's to search when this call made it.
	if (fs::create_directories(fs::path(dir).parent_path(), ec))
		share_with_readers(fs::path(dir).parent_path(), kSharedDirMode);
	fs::rename(staging, dir, ec);
	if (ec)
		throw SystemError("cannot move " + staging + " to " + dir + ": " + ec.message());
	undo.armed = false;
	fs::remove(fs::path(staging).parent_path(), ec); // when empty
	loaded.instance_ = instance;
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
	const int fd = program_fd(program);
	return fd < 0 ? 0 : prog_id(fd, program_pin_name(program));
}

std::optional<XdpAttachment> Dataplane::xdp_attachment(int ifindex) const
{
	// A reader may not look programs up by id (the kernel wants
	// CAP_SYS_ADMIN for that): what it may see is that ovx pinned its XDP
	// program (it does exactly while the program is attached) and in which
	// mode the hook runs a program. The program's id stays unknown (0).
	if (read_only_) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		if (pin_inode(instance_dir(instance_) + "/" + program_pin_name(Program::xdp_underlay)) ==
			    0 ||
		    bpf_xdp_query(ifindex, 0, &q) || q.attach_mode == XDP_ATTACHED_NONE)
			return std::nullopt;
		const std::uint32_t mode = q.attach_mode == XDP_ATTACHED_MULTI
						   ? std::uint32_t{q.drv_prog_id ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB}
						   : q.attach_mode;
		return XdpAttachment{.ifindex = ifindex, .mode = mode};
	}
	if (auto link = legacy_xdp_link(instance_)) {
		bpf_link_info info{};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(link->get(), &info, &len))
			throw SystemError("cannot read XDP link of instance " + instance_, errno);
		if (static_cast<int>(info.xdp.ifindex) != ifindex)
			return std::nullopt;
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		std::uint32_t mode = 0;
		if (bpf_xdp_query(ifindex, 0, &q) == 0)
			mode = q.attach_mode;
		return XdpAttachment{.ifindex = ifindex, .mode = mode, .prog_id = info.prog_id};
	}
	return find_component(ifindex, config_map_id(tables_));
}

bool Dataplane::attach_xdp(int ifindex, std::uint32_t xdp_flags)
{
	if (auto cur = xdp_attachment(ifindex)) {
		if (cur->mode == attach_mode_of(xdp_flags))
			return false;
		detach_xdp(ifindex);
	}
	xdp_underlay_ = attach_component(ifindex, xdp_flags, tables_);
	repin(xdp_underlay_.get(),
	      instance_dir(instance_) + "/" + program_pin_name(Program::xdp_underlay),
	      PinKind::program);
	return true;
}

void Dataplane::detach_xdp(int ifindex)
{
	// A direct link (made by ABI v1 ovx): detached first, for the release
	// of a link whose last pin goes happens later, in the kernel's own time.
	if (auto link = legacy_xdp_link(instance_)) {
		if (bpf_link_detach(link->get()) && errno != EINVAL)
			throw SystemError("interface " + ifname_of(ifindex) +
						  ": cannot detach the XDP link of instance " + instance_,
					  errno);
		const std::string pin = instance_dir(instance_) + "/link_xdp";
		if (::unlink(pin.c_str()) && errno != ENOENT)
			throw SystemError("cannot remove " + pin, errno);
	}
	const std::uint32_t ours = config_map_id(tables_);
	while (auto cur = find_component(ifindex, ours))
		detach_component(ifindex, cur->prog_id);
	const std::string pin = instance_dir(instance_) + "/" + program_pin_name(Program::xdp_underlay);
	if (::unlink(pin.c_str()) && errno != ENOENT)
		throw SystemError("cannot remove " + pin, errno);
	xdp_underlay_.reset();
}

bool Dataplane::tc_attached(int ifindex, Program program) const
{
	bpf_tc_hook hook = ingress_hook(ifindex);
	bpf_tc_opts q = ovx_filter();
	if (bpf_tc_query(&hook, &q))
		return false;
	// A reader has no program fds: ovx's filter (its own handle and
	// priority) on the interface is what it can see.
	return read_only_ ? q.prog_id != 0 : q.prog_id == program_id(program);
}

bool Dataplane::attach_tc(int ifindex, Program program)
{
	if (tc_attached(ifindex, program))
		return false;
	bpf_tc_hook hook = ingress_hook(ifindex);
	// Two instances on one interface would take turns replacing each
	// other's filter: refused, naming the program that is there.
	if (bpf_tc_opts q = ovx_filter(); !bpf_tc_query(&hook, &q) &&
	    foreign_ovx_program(q.prog_id, config_map_id(tables_)))
		throw SystemError("interface " + ifname_of(ifindex) +
				  " carries another ovx instance's TC program (id " +
				  std::to_string(q.prog_id) + "); one interface serves one instance");
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
	return true;
}

void Dataplane::detach_tc(int ifindex)
{
	bpf_tc_hook hook = ingress_hook(ifindex);
	bpf_tc_opts opts = ovx_filter();
	// Only this instance's filter: another instance's (on the same
	// interface by mistake) or another tool's stays where it is.
	bpf_tc_opts q = ovx_filter();
	if (bpf_tc_query(&hook, &q))
		return;
	if (q.prog_id != program_id(Program::tc_underlay) && q.prog_id != program_id(Program::tc_port))
		return;
	int err = bpf_tc_detach(&hook, &opts);
	// Gone already (the interface, or the filter): nothing left to do.
	if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
		throw SystemError("interface " + ifname_of(ifindex) + ": cannot detach TC program",
				  -err);
}

void Dataplane::destroy()
{
	// Every interface of the namespace, not only those the maps name: a
	// writer killed between attaching a hook and writing the map that
	// records it leaves a hook no map knows of. Both detaches leave
	// everyone else's programs alone.
	struct NameIndexDeleter {
		void operator()(struct if_nameindex *p) const { if_freenameindex(p); }
	};
	std::unique_ptr<struct if_nameindex, NameIndexDeleter> links(if_nameindex());
	if (!links)
		throw SystemError("cannot list the interfaces", errno);
	for (const struct if_nameindex *l = links.get(); l->if_index; l++) {
		const int ifindex = static_cast<int>(l->if_index);
		detach_tc(ifindex);
		if (xdp_attachment(ifindex))
			detach_xdp(ifindex);
	}
	std::error_code ec;
	fs::remove_all(instance_dir(instance_), ec);
	if (ec)
		throw SystemError("cannot remove " + instance_dir(instance_) + ": " + ec.message());
	// The parent goes with its last instance, and libxdp's state directory
	// when no XDP program of anyone's still needs it (remove() spares a
	// directory that is not empty).
	fs::remove(fs::path(instance_dir(instance_)).parent_path(), ec);
	fs::remove(std::string(kBpffs) + "/xdp", ec);
}

} // namespace ovx
