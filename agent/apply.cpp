#include "agent/apply.h"

#include <linux/if_link.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <set>

#include "agent/change_log.h"
#include "agent/desired.h"
#include "agent/journal.h"
#include "agent/offload.h"
#include "agent/trace.h"
#include "loader/dataplane.h"
#include "loader/neighbour.h"
#include "loader/netdev.h"
#include "loader/segmenter.h"
#include "maps/error.h"

namespace ovx {
namespace {

Location where(const Config &config, const Origin &origin, const std::string &key)
{
	return {config.path, origin.line, origin.column, key};
}

} // namespace

Resolved resolve(const Config &config)
{
	Resolved r;
	const Underlay &ul = config.underlay;
	r.underlay_ifindex = static_cast<int>(if_nametoindex(ul.interface.c_str()));
	if (!r.underlay_ifindex)
		throw ConfigError(where(config, ul.interface_origin, "underlay.interface"),
				  "no interface '" + ul.interface + "' in this network namespace");
	r.underlay_mtu = interface_mtu(ul.interface);
	for (std::size_t i = 0; i < config.segments.size(); i++) {
		const Segment &s = config.segments[i];
		for (std::size_t p = 0; p < s.ports.size(); p++) {
			const Port &port = s.ports[p];
			int ifindex = static_cast<int>(if_nametoindex(port.interface.c_str()));
			if (!ifindex)
				throw ConfigError(where(config, port.origin,
							"segments[" + std::to_string(i) + "].ports[" +
								std::to_string(p) + "].interface"),
						  "no interface '" + port.interface +
							  "' in this network namespace");
			r.port_ifindex[port.interface] = ifindex;
		}
	}
	return r;
}

namespace {

void check_capacity(const Config &config, const DesiredState &want, const Tables &tables)
{
	auto over = [&](const std::string &what, std::size_t n, std::uint32_t max) {
		if (n > max)
			throw ConfigError(config.path + ": " + what + ": " + std::to_string(n) +
					  " entries, the map holds " + std::to_string(max));
	};
	over("FDB (static entries)", want.fdb.size(), tables.fdb.max_entries());
	over("ports", want.ports.size(), tables.ports.max_entries());
	over("flood ports", want.flood_ports.size(), tables.flood_ports.max_entries());
	over("flood VTEPs", want.flood_vteps.size(), tables.flood_vteps.max_entries());
	over("VTEP memberships", want.vteps.size(), tables.vteps.max_entries());
	// The file's reader refuses these; a cluster's segment can grow past
	// them, and the datapath would flood to the first ones only.
	for (const Segment &s : config.segments)
		if (s.flood.size() > OVX_MAX_FLOOD_VTEPS)
			throw ConfigError(config.path + ": segment " + s.name + ": " +
					  std::to_string(s.flood.size()) +
					  " VTEPs to flood to, a segment floods to at most " +
					  std::to_string(OVX_MAX_FLOOD_VTEPS));
}

// Drivers of this kernel with native XDP (ndo_bpf), veth aside.
const std::set<std::string, std::less<>> kNativeXdpDrivers = {
	"i40e",	   "ice",	"ixgbe",   "ixgbevf", "igb",	  "igc",      "mlx4_en", "mlx5_core",
	"bnxt_en", "nfp",	"qede",	   "virtio_net", "tun",	  "ena",      "gve",	 "hv_netvsc",
	"sfc",	   "thunder-nicvf", "mvneta", "mvpp2", "stmmac", "dpaa2-eth", "fec",	 "enetc",
	"lan743x", "netdevsim", "bonding", "xen-netfront", "atlantic", "octeontx2-nicvf", "idpf"};

std::uint32_t xdp_flags(XdpMode mode)
{
	switch (mode) {
	case XdpMode::generic:
		return XDP_FLAGS_SKB_MODE;
	case XdpMode::offload: // the host's programs: the NIC gets xdp_offload
	case XdpMode::native:
	case XdpMode::tc:	 // never attached
	case XdpMode::automatic: // made native or tc before any attach
		break;
	}
	return XDP_FLAGS_DRV_MODE;
}

std::set<IpAddr> vtep_addresses(const AbiMap<ovx_vtep_key, std::uint32_t> &vteps)
{
	std::set<IpAddr> out;
	for (const auto &[k, v] : vteps)
		out.insert(from_abi(k.addr));
	return out;
}

std::string ifname_of(std::uint32_t ifindex)
{
	char name[IF_NAMESIZE] = {};
	return if_indextoname(ifindex, name) ? name : "";
}

struct ForwardingOwnership {
	int family;
	std::uint16_t flag;
};
constexpr ForwardingOwnership kForwarding[] = {{AF_INET, OVX_CFG_OWNS_FORWARDING},
					       {AF_INET6, OVX_CFG_OWNS_FORWARDING6}};

// What ovx did to an underlay it no longer uses: its programs, forwarding.
void release_underlay(Dataplane &dp, const ovx_config &cfg)
{
	dp.detach_tc(static_cast<int>(cfg.underlay_ifindex));
	dp.detach_xdp(static_cast<int>(cfg.underlay_ifindex));
	const std::string name = ifname_of(cfg.underlay_ifindex);
	for (const auto &[family, flag] : kForwarding)
		if ((cfg.flags & flag) && !name.empty())
			set_ip_forwarding(name, family, false);
}

} // namespace

bool needs_segmenter(const DesiredState &want)
{
	return std::any_of(want.segments.begin(), want.segments.end(),
			   [](const auto &kv) { return kv.second.encap == OVX_ENCAP_STT; });
}

void use_segmenter(DesiredState &want, const Segmenter &sg)
{
	for (auto &[id, seg] : want.segments)
		if (seg.encap == OVX_ENCAP_STT)
			seg.gso_ifindex = static_cast<std::uint32_t>(sg.send_ifindex);
	want.ports[static_cast<std::uint32_t>(sg.return_ifindex)] = ovx_port{};
}

namespace {

std::string forwarding_name(int family)
{
	return family == AF_INET6 ? "IPv6 forwarding" : "IPv4 forwarding";
}

// What a released step takes away, in words.
HookChange released(const std::string &instance, const Action &a)
{
	const std::string ifname = a.ifindex ? ifname_of(static_cast<std::uint32_t>(a.ifindex)) : "";
	switch (a.op) {
	case Action::Op::forwarding_off:
		return {"disable", forwarding_name(a.family), ifname};
	case Action::Op::detach_xdp:
		return {"detach", "XDP", ifname};
	case Action::Op::detach_tc:
		return {"detach", "TC", ifname};
	case Action::Op::remove_segmenter:
		return {"remove", "segmenter " + segmenter_name(instance), ""};
	case Action::Op::del_neighbour:
		return {"delete", "managed neighbour " + format_ip(IpAddr{a.family, a.addr}), ifname};
	case Action::Op::offload_remove:
		return {"detach", "NIC program (xdp_offload)", ifname};
	case Action::Op::destroy:
	case Action::Op::attach_xdp:
		break; // only ever undone, never released
	}
	return {"release", "step", ifname};
}

// The steps of one apply outside the maps: each recorded in the change log
// with how to take it back, then made; or, in a dry run, only told.
class Steps {
public:
	Steps(const std::string &instance, ApplyPlan *plan) : instance_(instance), plan_(plan)
	{
		if (!plan)
			log_.emplace(instance);
	}
	bool dry() const { return plan_ != nullptr; }
	// @undo, newest last, in the log; then @step.
	void make(HookChange what, std::initializer_list<Action> undo,
		  const std::function<void()> &step)
	{
		if (plan_) {
			plan_->hooks.push_back(std::move(what));
			return;
		}
		for (const Action &a : undo)
			log_->undo(a);
		step();
	}
	// What goes once the change stands.
	void release(const Action &a)
	{
		if (plan_)
			plan_->hooks.push_back(released(instance_, a));
		else
			log_->release(a);
	}
	void commit() { log_->commit(); }

private:
	std::string instance_;
	ApplyPlan *plan_;
	std::optional<ChangeLog> log_;
};

// The config with underlay.mode auto made concrete (effective_mode()).
Config with_effective_mode(const Config &config)
{
	Config c = config;
	c.underlay.mode = effective_mode(config.underlay.mode, config.underlay.interface);
	return c;
}

} // namespace

XdpMode effective_mode(XdpMode mode, const std::string &interface)
{
	if (mode != XdpMode::automatic)
		return mode;
	return kNativeXdpDrivers.contains(interface_driver(interface)) ? XdpMode::native
									: XdpMode::tc;
}

namespace {

// apply(), or with @plan its dry run: every step decided here, made only
// without @plan.
ApplyResult apply_or_plan(const Config &asked, const std::string &instance,
			  const WriteObserver &observe, Applied *applied, ApplyPlan *plan)
{
	const Config config = with_effective_mode(asked);
	ApplyResult result;
	const Resolved resolved = resolve(config);
	if (!plan)
		ChangeLog::recover(instance);

	// Every step below records how to take it back before it is made
	// (change: hooks, sysctls, links; journal: map entries), so that a
	// failure anywhere leaves the instance as it was, and a kill leaves a
	// log the next writer finishes with. Declared in this order, the map
	// entries are undone before the hooks.
	Steps change(instance, plan);
	std::optional<Dataplane> dp = Dataplane::open(instance);
	if (!dp) {
		// A dry run diffs against the empty maps of programs that are
		// loaded, never pinned, and freed when it ends.
		if (plan) {
			plan->create = true;
			dp = Dataplane::load_unpinned(config.limits.fdb_entries);
		}
		change.make({"create", "instance (programs loaded, pinned under " +
					       Dataplane::instance_dir(instance) + ")",
			     ""},
			    {{Action::Op::destroy}}, [&] {
				    crash_point("before create");
				    dp = Dataplane::create(instance, config.limits.fdb_entries);
				    crash_point("created");
			    });
		result.created = true;
	}

	Tables &t = dp->tables();
	AbiMap<ovx_vtep_key, std::uint32_t> have_vteps;
	for (auto &[k, v] : t.vteps.dump())
		have_vteps.emplace(k, v);
	std::set<std::uint32_t> have_ports;
	for (auto &[ifindex, port] : t.ports.dump())
		have_ports.insert(ifindex);
	const auto old_cfg = t.config.lookup(0);

	DesiredState want = build_desired(config, resolved, t);
	check_capacity(config, want, t);

	const int ul_ifindex = resolved.underlay_ifindex;
	const std::string &ul = config.underlay.interface;
	const bool same_underlay =
		old_cfg && static_cast<int>(old_cfg->underlay_ifindex) == ul_ifindex;
	const int old_ul = old_cfg ? static_cast<int>(old_cfg->underlay_ifindex) : 0;

	// Forwarding for each family the underlay has an address of; one it
	// had before and has no more goes back off once this call succeeds.
	for (const auto &[family, flag] : kForwarding) {
		const bool owned = same_underlay && (old_cfg->flags & flag);
		if (!config.underlay.address(family).family) {
			if (owned)
				change.release({Action::Op::forwarding_off, ul_ifindex, family});
			continue;
		}
		if (owned || !ip_forwarding(ul, family))
			want.config.flags |= flag;
		if (!ip_forwarding(ul, family))
			change.make({"enable", forwarding_name(family), ul},
				    {{Action::Op::forwarding_off, ul_ifindex, family}}, [&, family = family] {
					    set_ip_forwarding(ul, family, true);
					    crash_point("forwarding on");
				    });
	}
	// A running `ovx trace` keeps its events across an apply; a killed
	// one's flags go.
	if (old_cfg && trace_running(instance))
		want.config.flags |= old_cfg->flags & (OVX_CFG_TRACE_DROPS | OVX_CFG_TRACE_ALL);
	// The devmap's flag stays until refresh_delivery() decides again, below.
	if (old_cfg)
		want.config.flags |= old_cfg->flags & OVX_CFG_XDP_PORTS;

	// XDP first: it is what the kernel most often refuses (the mode). A
	// mode change takes the working program off first (the kernel runs
	// one mode at a time), so its undo puts it back in the old mode.
	if (config.underlay.mode == XdpMode::tc) {
		want.config.flags |= OVX_CFG_TC_ONLY;
		if (dp->xdp_attachment(ul_ifindex))
			change.release({Action::Op::detach_xdp, ul_ifindex});
	} else {
		const auto cur = dp->xdp_attachment(ul_ifindex);
		const std::uint32_t flags = xdp_flags(config.underlay.mode);
		const std::uint32_t mode =
			flags == XDP_FLAGS_SKB_MODE ? XDP_ATTACHED_SKB : XDP_ATTACHED_DRV;
		if (!cur || cur->mode != mode) {
			const std::string what = std::string("XDP (") +
						 xdp_mode_name(config.underlay.mode) + ")" +
						 (cur ? std::string(", was ") +
								attach_mode_name(cur->mode)
						      : "");
			const std::uint32_t old_flags =
				cur && cur->mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE
								     : XDP_FLAGS_DRV_MODE;
			auto attach = [&] {
				dp->attach_xdp(ul_ifindex, flags);
				crash_point("xdp attached");
			};
			// Undone newest first: the new program off, the old one on.
			if (cur)
				change.make({"attach", what, ul},
					    {{Action::Op::attach_xdp, ul_ifindex, 0, old_flags},
					     {Action::Op::detach_xdp, ul_ifindex}},
					    attach);
			else
				change.make({"attach", what, ul}, {{Action::Op::detach_xdp, ul_ifindex}},
					    attach);
			result.attached.push_back(std::string("XDP (") +
						  xdp_mode_name(config.underlay.mode) + ") on " + ul);
		}
	}
	if (!dp->tc_attached(ul_ifindex, Program::tc_underlay)) {
		change.make({"attach", "TC (tc_underlay)", ul}, {{Action::Op::detach_tc, ul_ifindex}},
			    [&] {
				    dp->attach_tc(ul_ifindex, Program::tc_underlay);
				    crash_point("tc underlay attached");
			    });
		result.attached.push_back("TC on " + ul);
	}

	// The NIC's program follows the underlay and the mode.
	const std::string nic_dir = offload_dir(instance);
	// offload_remove() does nothing where ovx pinned no NIC program.
	if (old_ul && (!same_underlay || config.underlay.mode != XdpMode::offload) &&
	    std::filesystem::exists(nic_dir))
		change.release({Action::Op::offload_remove, old_ul});
	std::optional<NicOffload> nic;
	if (config.underlay.mode == XdpMode::offload) {
		if (!change.dry())
			nic.emplace(NicOffload::attach(nic_dir, ul_ifindex));
		else if (!std::filesystem::exists(nic_dir))
			change.make({"attach", "NIC program (xdp_offload)", ul}, {}, [] {});
	}

	const bool wants_segmenter = needs_segmenter(want);
	const std::string sg_name = segmenter_name(instance);
	const bool had_segmenter = if_nametoindex(sg_name.c_str()) != 0;
	if (wants_segmenter) {
		// A dry run names the segmenter it would make, not its ports.
		if (!had_segmenter)
			change.make({"create", "segmenter " + sg_name, ""},
				    {{Action::Op::remove_segmenter}}, [] {});
		if (!change.dry() || had_segmenter) {
			use_segmenter(want, ensure_segmenter(instance));
			crash_point("segmenter");
		}
	} else if (had_segmenter) {
		change.release({Action::Op::remove_segmenter});
	}
	for (const auto &[ifindex, port] : want.ports) {
		if (dp->tc_attached(static_cast<int>(ifindex), Program::tc_port))
			continue;
		change.make({"attach", "TC (tc_port)", ifname_of(ifindex)},
			    {{Action::Op::detach_tc, static_cast<int>(ifindex)}}, [&, ifindex = ifindex] {
				    dp->attach_tc(static_cast<int>(ifindex), Program::tc_port);
				    crash_point("port attached");
			    });
		result.ports_attached++;
		result.attached.push_back("TC on " + ifname_of(ifindex));
	}

	// Managed neighbours: new ones now, old ones once the change stands.
	const auto want_addrs = vtep_addresses(want.vteps);
	const auto have_addrs = vtep_addresses(have_vteps);
	for (const IpAddr &a : want_addrs) {
		auto add = [&] { add_managed_neighbour(ul_ifindex, a.family, a.bytes); };
		if (!(same_underlay && have_addrs.contains(a)))
			change.make({"add", "managed neighbour " + format_ip(a), ul},
				    {{Action::Op::del_neighbour, ul_ifindex, a.family, 0, a.bytes}}, add);
		else if (!change.dry())
			// A neighbour overwritten behind ovx's back is written again.
			add();
	}
	for (const IpAddr &a : have_addrs)
		if (old_ul && (!same_underlay || !want_addrs.contains(a)))
			change.release({Action::Op::del_neighbour, old_ul, a.family, 0, a.bytes});

	// A port's counters go with it; the programs make them on first use.
	for (std::uint32_t ifindex : have_ports)
		if (!want.ports.contains(ifindex)) {
			change.release({Action::Op::detach_tc, static_cast<int>(ifindex)});
			result.ports_detached++;
		}
	if (old_ul && !same_underlay) {
		change.release({Action::Op::detach_tc, old_ul});
		change.release({Action::Op::detach_xdp, old_ul});
		for (const auto &[family, flag] : kForwarding)
			if (old_cfg->flags & flag)
				change.release({Action::Op::forwarding_off, old_ul, family});
	}

	if (plan) {
		plan->maps = reconcile_plan(t, want, monotonic_ns(),
					    [plan](const MapWrite &w) { plan->writes.push_back(w); });
		result.maps = plan->maps;
		return result;
	}
	Journal maps;
	result.maps = reconcile(t, want, monotonic_ns(), maps, observe);
	crash_point("maps written");
	if (nic)
		nic->write(want, config.underlay.offload_relay);

	maps.commit();
	if (nic)
		nic->commit();
	change.commit();
	// After the commit: the VTEPs' managed neighbours exist by now, and a
	// next hop not resolved yet only means the FIB path for a while.
	result.nexthops = refresh_nexthops(t, monotonic_ns());
	std::map<std::uint32_t, Delivery> deliveries;
	for (const Segment &s : config.segments)
		for (const Port &p : s.ports)
			deliveries[static_cast<std::uint32_t>(resolved.port_ifindex.at(p.interface))] =
				p.delivery;
	result.delivery =
		refresh_delivery(t, config.underlay.mode,
				 interface_driver(config.underlay.interface) == "veth", deliveries);
	if (applied)
		*applied = Applied{config.underlay.mode, resolved, std::move(want)};
	return result;
}

} // namespace

ApplyResult apply(const Config &config, const std::string &instance, const WriteObserver &observe,
		  Applied *applied)
{
	return apply_or_plan(config, instance, observe, applied, nullptr);
}

ApplyPlan plan_apply(const Config &config, const std::string &instance)
{
	ApplyPlan plan;
	apply_or_plan(config, instance, {}, nullptr, &plan);
	return plan;
}

std::optional<ApplyResult> apply_delta(const Config &asked, const std::string &instance,
				       Applied &last, const WriteObserver &observe)
{
	const Config config = with_effective_mode(asked);
	// The NIC's own maps are written whole, by apply().
	if (config.underlay.mode == XdpMode::offload)
		return std::nullopt;
	const Resolved resolved = resolve(config);
	if (resolved != last.resolved)
		return std::nullopt;
	// Opening every pin again costs more than the delta itself.
	if (!last.dataplane || !last.dataplane->pins_unchanged()) {
		std::optional<Dataplane> dp = Dataplane::open(instance);
		if (!dp)
			return std::nullopt;
		last.dataplane = std::make_shared<Dataplane>(std::move(*dp));
	}
	Tables &t = last.dataplane->tables();
	std::map<std::uint32_t, bool> in_use;
	for (const auto &[sid, seg] : last.desired.segments)
		if (seg.flags & OVX_SEG_ACTIVE)
			in_use[sid] = true;
	Config sized = config;
	sized.limits.fdb_entries = t.fdb.max_entries();
	DesiredState want = build_desired(sized, resolved, last.desired.vni, in_use,
					  port_indexes(last.desired.ports));
	if (needs_segmenter(want))
		return std::nullopt;
	// What apply() adds to the config entry beyond the file (the cookie;
	// mode, forwarding and trace flags) is the last apply's.
	want.config.flags = last.desired.config.flags;
	want.config.cookie[0] = last.desired.config.cookie[0];
	want.config.cookie[1] = last.desired.config.cookie[1];
	if (config.underlay.mode != last.mode || !delta_applicable(last.desired, want))
		return std::nullopt;
	check_capacity(config, want, t);

	// A VTEP new to the instance gets its managed neighbour before any
	// entry sends to it, as in apply(); the log only when there is one
	// (a MAC's move, the common delta, writes no file).
	std::optional<ChangeLog> change;
	const auto have_addrs = vtep_addresses(last.desired.vteps);
	const int ul_ifindex = resolved.underlay_ifindex;
	for (const IpAddr &a : vtep_addresses(want.vteps)) {
		if (have_addrs.contains(a))
			continue;
		if (!change)
			change.emplace(instance);
		change->undo({Action::Op::del_neighbour, ul_ifindex, a.family, 0, a.bytes});
		add_managed_neighbour(ul_ifindex, a.family, a.bytes);
	}
	ApplyResult result;
	Journal maps;
	result.maps = reconcile_delta(t, last.desired, want, maps, observe);
	maps.commit();
	if (change) {
		change->commit();
		// A joining VTEP's next hop now, not at the next whole pass.
		result.nexthops = refresh_nexthops(t, monotonic_ns());
	}
	last.desired = std::move(want);
	return result;
}

bool down(const std::string &instance)
{
	ChangeLog::recover(instance);
	Dataplane::remove_staging(instance);
	std::optional<Dataplane> dp = Dataplane::open(instance);
	if (!dp)
		return false;
	const auto cfg = dp->tables().config.lookup(0);
	if (cfg && cfg->underlay_ifindex) {
		AbiMap<ovx_vtep_key, std::uint32_t> vteps;
		for (auto &[k, v] : dp->tables().vteps.dump())
			vteps.emplace(k, v);
		for (const IpAddr &a : vtep_addresses(vteps))
			del_managed_neighbour(static_cast<int>(cfg->underlay_ifindex), a.family,
					      a.bytes);
		crash_point("down: neighbours");
		offload_remove(offload_dir(instance), static_cast<int>(cfg->underlay_ifindex));
		release_underlay(*dp, *cfg);
		crash_point("down: underlay released");
	}
	remove_segmenter(instance);
	dp->destroy();
	return true;
}

} // namespace ovx
