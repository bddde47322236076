#include "agent/offload.h"

#include <net/if.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>
#include <utility>
#include <netinet/in.h>

#include "agent/apply.h"
#include "loader/dataplane.h"
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
	const ovx_config &c = desired.config;
	out.config.vtep4 = c.vtep4.family == AF_INET ? c.vtep4.a[0] : 0;
	if (c.vtep6.family == AF_INET6)
		std::copy(std::begin(c.vtep6.a), std::end(c.vtep6.a), out.config.vtep6);
	out.config.vxlan_port = c.vxlan_port;
	out.config.geneve_port = c.geneve_port;
	out.config.encaps = c.encaps;
	// The segments of each encapsulation the NIC reads (STT stays on the
	// host), and for the relay the VXLAN ones.
	std::set<std::uint32_t> vxlan;
	for (const auto &[key, segment] : desired.vni) {
		auto seg = desired.segments.find(segment);
		if (key.encap != OVX_ENCAP_STT && seg != desired.segments.end() &&
		    (seg->second.flags & OVX_SEG_ACTIVE)) {
			out.vni[key] = segment;
			if (key.encap == OVX_ENCAP_VXLAN)
				vxlan.insert(segment);
		}
	}
	for (const auto &[key, one] : desired.vteps) {
		const bool offloaded = std::any_of(out.vni.begin(), out.vni.end(),
						   [sid = key.segment](const auto &v) { return v.second == sid; });
		if (offloaded)
			out.vteps[key] = one;
	}
	if (!relay)
		return out;
	out.config.flags |= OVX_OFFLOAD_CFG_RELAY;
	for (const auto &[key, entry] : desired.fdb) {
		if (entry.kind != OVX_FDB_VTEP || entry.vtep.family != AF_INET ||
		    !vxlan.count(key.segment) || !out.vteps.count(ovx_vtep_key{key.segment, entry.vtep}))
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

void offload_remove(const std::string &dir, int ifindex)
{
	if (!std::filesystem::exists(dir))
		return;
	// A device that is gone took its program with it.
	char name[IF_NAMESIZE];
	if (ifindex && if_indextoname(static_cast<unsigned>(ifindex), name) &&
	    hw_attached_program(ifindex))
		detach_hw_program(ifindex);
	std::error_code ec;
	std::filesystem::remove_all(dir, ec);
	if (ec)
		throw SystemError("cannot remove " + dir + ": " + ec.message());
}

NicOffload::NicOffload(std::string dir, int ifindex, OffloadTables tables, bool attached_now)
	: dir_(std::move(dir)), ifindex_(ifindex), tables_(std::move(tables)),
	  attached_now_(attached_now)
{
}

NicOffload::NicOffload(NicOffload &&other) noexcept
	: dir_(std::move(other.dir_)), ifindex_(other.ifindex_), tables_(std::move(other.tables_)),
	  attached_now_(std::exchange(other.attached_now_, false))
{
}

NicOffload::~NicOffload()
{
	if (attached_now_)
		try {
			offload_remove(dir_, ifindex_);
		} catch (...) {
		}
}

namespace {

// Test devices hold only a few entries per offloaded map (netdevsim: 2); a
// real NIC takes the object's sizes.
std::optional<std::uint32_t> test_device_map_size()
{
	const char *v = std::getenv("OVX_OFFLOAD_MAX_ENTRIES");
	if (!v || !*v)
		return std::nullopt;
	char *end = nullptr;
	const unsigned long n = std::strtoul(v, &end, 10);
	if (*end || n == 0 || n > UINT32_MAX)
		throw ConfigError(std::string("OVX_OFFLOAD_MAX_ENTRIES: not a map size: ") + v);
	return static_cast<std::uint32_t>(n);
}

} // namespace

NicOffload NicOffload::attach(const std::string &dir, int ifindex)
{
	std::optional<OffloadTables> pinned;
	try {
		pinned = open_pinned_offload_maps(dir);
	} catch (const SystemError &) {
		// Maps of another layout: an older ovx's program, replaced below.
		offload_remove(dir, ifindex);
	}
	if (pinned && hw_attached_program(ifindex))
		return NicOffload(dir, ifindex, std::move(*pinned), false);
	// Pins without a program on the device are left from a device that went.
	std::error_code ec;
	std::filesystem::remove_all(dir, ec);

	OffloadProgram prog = OffloadProgram::attach_hw(ifindex, test_device_map_size());
	try {
		pin_offload_maps(prog.tables(), dir);
		auto pinned = open_pinned_offload_maps(dir);
		return NicOffload(dir, ifindex, std::move(*pinned), true);
	} catch (...) {
		offload_remove(dir, ifindex);
		throw;
	}
}

void NicOffload::write(const DesiredState &desired, bool relay)
{
	if (!relay) {
		write_offload(tables_, offload_desired(desired));
		return;
	}
	const RelayHops hops = underlay_hops(ifindex_);
	write_offload(tables_, offload_desired(desired, &hops));
}

bool offload_relay_on(const std::string &dir)
{
	auto tables = open_pinned_offload_maps(dir);
	if (!tables)
		return false;
	const auto cfg = tables->config.lookup(0);
	return cfg && (cfg->flags & OVX_OFFLOAD_CFG_RELAY);
}

std::string offload_dir(const std::string &instance)
{
	return Dataplane::instance_dir(instance) + "/offload";
}

std::optional<OffloadCounters> offload_counters(const std::string &dir)
{
	auto tables = open_pinned_offload_maps(dir);
	if (!tables)
		return std::nullopt;
	// A test device may hold fewer entries than there are reasons.
	OffloadCounters c;
	for (std::uint32_t r = 0; r < OVX_DROP_MAX && r < tables->drops.max_entries(); r++)
		c.drops[r] = tables->drops.lookup(r).value_or(ovx_offload_counter{});
	c.relayed = tables->relayed.lookup(0).value_or(ovx_offload_counter{});
	return c;
}

} // namespace ovx
