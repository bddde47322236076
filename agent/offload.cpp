#include "agent/offload.h"

#include <net/if.h>

#include <algorithm>
#include <netinet/in.h>

#include "agent/apply.h"
#include "maps/error.h"

namespace ovx {

RelayHops underlay_hops(int ifindex)
{
	return RelayHops{.own_mac = interface_mac(ifindex),
			 .next_hop = [ifindex](std::uint32_t vtep4) { return next_hop_mac(ifindex, vtep4); }};
}

OffloadDesired offload_desired(const DesiredState &desired, const RelayHops *relay)
{
	OffloadDesired out;
	out.config.vtep4 = desired.config.vtep4.family == AF_INET ? desired.config.vtep4.a[0] : 0;
	out.config.vxlan_port = desired.config.vxlan_port;
	for (const auto &[key, segment] : desired.vni) {
		auto seg = desired.segments.find(segment);
		if (key.encap == OVX_ENCAP_VXLAN && seg != desired.segments.end() &&
		    (seg->second.flags & OVX_SEG_ACTIVE))
			out.vni[key] = segment;
	}
	for (const auto &[key, one] : desired.vteps) {
		const bool offloaded = std::any_of(out.vni.begin(), out.vni.end(), [&](const auto &v) {
			return v.second == key.segment;
		});
		if (offloaded && key.addr.family == AF_INET)
			out.vteps[key] = one;
	}
	if (!relay)
		return out;
	for (const auto &[key, entry] : desired.fdb) {
		if (entry.kind != OVX_FDB_VTEP || entry.vtep.family != AF_INET ||
		    !out.vteps.count(ovx_vtep_key{key.segment, entry.vtep}))
			continue;
		const auto hop = relay->next_hop(entry.vtep.a[0]);
		if (!hop)
			continue;
		ovx_offload_relay r{};
		r.vtep4 = entry.vtep.a[0];
		std::copy(hop->begin(), hop->end(), r.dst_mac);
		std::copy(relay->own_mac.begin(), relay->own_mac.end(), r.src_mac);
		out.relay[key] = r;
	}
	return out;
}

namespace {

template <typename K, typename V>
void sync_map(Map<K, V> &map, const AbiMap<K, V> &want)
{
	if (want.size() > map.max_entries())
		throw ConfigError("offload map " + map.name() + ": " + std::to_string(want.size()) +
				  " entries, the device's map holds " + std::to_string(map.max_entries()));
	for (const auto &[key, value] : map.dump())
		if (!want.count(key))
			map.erase(key);
	for (const auto &[key, value] : want)
		map.update(key, value);
}

} // namespace

void write_offload(OffloadTables &tables, const OffloadDesired &want)
{
	sync_map(tables.vni, want.vni);
	sync_map(tables.vteps, want.vteps);
	sync_map(tables.relay, want.relay);
	tables.config.update(0, want.config);
}

OffloadAttachResult offload_attach(const Config &config, std::optional<std::uint32_t> max_entries,
				   bool relay)
{
	const Resolved resolved = resolve(config);
	OffloadAttachResult r;
	r.interface = config.underlay.interface;
	r.ifindex = resolved.underlay_ifindex;
	const DesiredState desired = build_desired(config, resolved, {}, {});

	// Attached before its maps are filled: with no configuration the
	// program passes every frame, so the host never misses one meanwhile.
	OffloadProgram prog = OffloadProgram::attach_hw(r.ifindex, max_entries);
	try {
		const RelayHops hops = underlay_hops(r.ifindex);
		write_offload(prog.tables(), offload_desired(desired, relay ? &hops : nullptr));
		r.program = prog.info();
		r.hw_program_id = hw_attached_program(r.ifindex);
		r.vni_entries = prog.tables().vni.dump().size();
		r.vtep_entries = prog.tables().vteps.dump().size();
		r.relay_entries = prog.tables().relay.dump().size();
		r.max_entries = prog.tables().vni.max_entries();
		if (r.program.ifindex != static_cast<std::uint32_t>(r.ifindex) ||
		    r.hw_program_id != r.program.id)
			throw SystemError("the offload program on " + r.interface +
					  " does not read back as offloaded (bound to ifindex " +
					  std::to_string(r.program.ifindex) + ", hardware program id " +
					  std::to_string(r.hw_program_id) + ")");
	} catch (...) {
		detach_hw_program(r.ifindex);
		throw;
	}
	return r;
}

bool offload_detach(const std::string &interface)
{
	const int ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
	if (!ifindex)
		throw ConfigError("no interface '" + interface + "' in this network namespace");
	return detach_hw_program(ifindex);
}

} // namespace ovx
