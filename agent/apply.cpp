#include "agent/apply.h"

#include <linux/if_link.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "agent/desired.h"
#include "agent/offload.h"
#include "loader/dataplane.h"
#include "loader/neighbour.h"
#include "loader/netdev.h"
#include "loader/segmenter.h"
#include "maps/error.h"

namespace ovx {
namespace {

std::string where(const Config &config, const Origin &origin)
{
	return config.path + ":" + std::to_string(origin.line) + ":" +
	       std::to_string(origin.column) + ": ";
}

} // namespace

Resolved resolve(const Config &config)
{
	Resolved r;
	const Underlay &ul = config.underlay;
	r.underlay_ifindex = static_cast<int>(if_nametoindex(ul.interface.c_str()));
	if (!r.underlay_ifindex)
		throw ConfigError(where(config, ul.interface_origin) +
				  "underlay.interface: no interface '" + ul.interface +
				  "' in this network namespace");
	r.underlay_mtu = interface_mtu(ul.interface);
	for (std::size_t i = 0; i < config.segments.size(); i++) {
		const Segment &s = config.segments[i];
		for (std::size_t p = 0; p < s.ports.size(); p++) {
			const Port &port = s.ports[p];
			int ifindex = static_cast<int>(if_nametoindex(port.interface.c_str()));
			if (!ifindex)
				throw ConfigError(where(config, port.origin) + "segments[" +
						  std::to_string(i) + "].ports[" + std::to_string(p) +
						  "].interface: no interface '" + port.interface +
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
}

std::uint32_t xdp_flags(XdpMode mode)
{
	switch (mode) {
	case XdpMode::generic:
		return XDP_FLAGS_SKB_MODE;
	case XdpMode::offload: // the host's programs: the NIC gets xdp_offload
	case XdpMode::native:
	case XdpMode::tc: // never attached
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

ApplyResult apply(const Config &config, const std::string &instance, const WriteObserver &observe)
{
	ApplyResult result;
	const Resolved resolved = resolve(config);

	std::optional<Dataplane> dp = Dataplane::open(instance);
	if (!dp) {
		dp = Dataplane::create(instance, config.limits.fdb_entries);
		result.created = true;
	}
	// A dataplane this call created goes again if the call fails, with
	// what it attached to the underlay before its config map named it.
	struct Teardown {
		Dataplane *dp;
		int underlay;
		~Teardown()
		{
			if (!dp)
				return;
			try {
				dp->detach_tc(underlay);
				dp->detach_xdp(underlay);
			} catch (...) {
			}
			try {
				dp->destroy();
			} catch (...) {
			}
		}
	} teardown{result.created ? &*dp : nullptr, resolved.underlay_ifindex};

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

	const bool wants_segmenter = needs_segmenter(want);
	const bool had_segmenter =
		if_nametoindex(segmenter_name(instance).c_str()) != 0;
	auto remove_new_segmenter = [&] {
		if (wants_segmenter && !had_segmenter)
			try {
				remove_segmenter(instance);
			} catch (...) {
			}
	};

	const std::string &ul = config.underlay.interface;
	const bool same_underlay =
		old_cfg && static_cast<int>(old_cfg->underlay_ifindex) == resolved.underlay_ifindex;
	// Forwarding for each family the underlay has an address of; one it
	// had before and has no more goes back off once this call succeeds.
	std::vector<int> turned_forwarding_on, turn_forwarding_off;
	for (const auto &[family, flag] : kForwarding) {
		const bool owned = same_underlay && (old_cfg->flags & flag);
		if (!config.underlay.address(family).family) {
			if (owned)
				turn_forwarding_off.push_back(family);
			continue;
		}
		if (owned || !ip_forwarding(ul, family))
			want.config.flags |= flag;
		if (!ip_forwarding(ul, family)) {
			set_ip_forwarding(ul, family, true);
			turned_forwarding_on.push_back(family);
		}
	}
	// A running `ovx trace` keeps its events across an apply.
	if (old_cfg)
		want.config.flags |= old_cfg->flags & (OVX_CFG_TRACE_DROPS | OVX_CFG_TRACE_ALL);

	// The NIC's program follows the underlay and the mode.
	const std::string nic_dir = offload_dir(instance);
	if (old_cfg && old_cfg->underlay_ifindex &&
	    (!same_underlay || config.underlay.mode != XdpMode::offload))
		offload_remove(nic_dir, static_cast<int>(old_cfg->underlay_ifindex));

	// Attach first: it is what the kernel most often refuses (XDP mode).
	// Mode tc has none: what another mode attached before goes.
	if (config.underlay.mode == XdpMode::tc) {
		want.config.flags |= OVX_CFG_TC_ONLY;
		dp->detach_xdp(resolved.underlay_ifindex);
	} else if (dp->attach_xdp(resolved.underlay_ifindex, xdp_flags(config.underlay.mode))) {
		result.attached.push_back(std::string("XDP (") + xdp_mode_name(config.underlay.mode) +
					  ") on " + ul);
	}
	if (dp->attach_tc(resolved.underlay_ifindex, Program::tc_underlay))
		result.attached.push_back("TC on " + ul);
	std::optional<NicOffload> nic;
	std::vector<int> attached_now;
	auto detach_new_ports = [&] {
		for (int ifindex : attached_now)
			try {
				dp->detach_tc(ifindex);
			} catch (...) {
			}
	};
	try {
		if (config.underlay.mode == XdpMode::offload)
			nic.emplace(NicOffload::attach(nic_dir, resolved.underlay_ifindex));
		if (wants_segmenter)
			use_segmenter(want, ensure_segmenter(instance));
		for (const auto &[ifindex, port] : want.ports) {
			if (dp->tc_attached(static_cast<int>(ifindex), Program::tc_port))
				continue;
			dp->attach_tc(static_cast<int>(ifindex), Program::tc_port);
			attached_now.push_back(static_cast<int>(ifindex));
			result.attached.push_back("TC on " + ifname_of(ifindex));
		}
		result.ports_attached = static_cast<int>(attached_now.size());
		result.maps = reconcile(t, want, monotonic_ns(), observe);
		if (nic)
			nic->write(want);
	} catch (...) {
		detach_new_ports();
		for (int family : turned_forwarding_on)
			set_ip_forwarding(ul, family, false);
		remove_new_segmenter();
		throw;
	}
	if (had_segmenter && !wants_segmenter)
		remove_segmenter(instance);

	// A port's counters go with it; the programs make them on first use.
	for (std::uint32_t ifindex : have_ports)
		if (!want.ports.contains(ifindex)) {
			dp->detach_tc(static_cast<int>(ifindex));
			t.port_stats.erase(ifindex);
			result.ports_detached++;
		}
	if (old_cfg && old_cfg->underlay_ifindex && !same_underlay)
		release_underlay(*dp, *old_cfg);
	for (int family : turn_forwarding_off)
		set_ip_forwarding(ul, family, false);

	const auto want_addrs = vtep_addresses(want.vteps);
	for (const IpAddr &a : vtep_addresses(have_vteps))
		if (!want_addrs.contains(a) && old_cfg)
			del_managed_neighbour(static_cast<int>(old_cfg->underlay_ifindex), a.family,
					      a.bytes);
	for (const IpAddr &a : want_addrs)
		add_managed_neighbour(resolved.underlay_ifindex, a.family, a.bytes);

	if (nic)
		nic->commit();
	teardown.dp = nullptr;
	return result;
}

bool down(const std::string &instance)
{
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
	}
	if (cfg && cfg->underlay_ifindex) {
		offload_remove(offload_dir(instance), static_cast<int>(cfg->underlay_ifindex));
		release_underlay(*dp, *cfg);
	}
	remove_segmenter(instance);
	dp->destroy();
	return true;
}

} // namespace ovx
