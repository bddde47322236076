// Per-packet cost of each ovx program path, from BPF_PROG_TEST_RUN, next to
// the floor (an empty XDP and an empty TC program) measured in the same run:
// the forwarding pointer's path beside today's underlay paths, every path
// across FDB sizes (VXLAN over IPv4), a flood to 1 and to 1,024 remote
// VTEPs, then decapsulation and encapsulation in each encapsulation over
// each underlay family.
//
// Why one run per call instead of repeat=N: BPF_PROG_TEST_RUN reruns the
// program on the same buffer, so a program that rewrites the packet
// (decapsulation, encapsulation) would see its own output from the second
// round on. Each call here starts from the original frame; the kernel times
// the program alone (opts.duration), and the median over many calls is the
// figure. The floor is measured the same way, so timer overhead cancels out
// in the ratio.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agent/apply.h"
#include "agent/config.h"
#include "agent/desired.h"
#include "agent/offload.h"
#include "agent/reconcile.h"
#include "loader/dataplane.h"
#include "loader/offload.h"
#include "maps/error.h"
#include "tests/bpf/packet_env.h"

using namespace ovx;
using namespace ovx::test;

namespace {

struct Options {
	int calls = 100000; // calls per round
	int rounds = 5;
	std::vector<std::uint32_t> fdb_sizes = {1000, 100000, 1000000};
	std::vector<std::uint32_t> segment_counts = {10, 10000};
	std::set<std::string> sweeps = {"forward", "fdb", "segments", "flood", "encap", "offload"};
};

UniqueFd empty_program(bpf_prog_type type, int verdict)
{
	const bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0,
		 .imm = verdict},
		{.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
	};
	int fd = bpf_prog_load(type, "ovx_empty", "GPL", insns, 2, nullptr);
	if (fd < 0)
		throw SystemError("cannot load an empty program", errno);
	return UniqueFd(fd);
}

// Median of per-call durations (ns) for one frame through one program, which
// must return @verdict: a path that went elsewhere (a drop for a forgotten
// neighbour, say) would time the wrong thing.
double median_ns(const std::string &what, int prog_fd, bool xdp, int ingress,
		 const Bytes &frame, std::uint32_t verdict, int calls)
{
	std::vector<std::uint32_t> ns;
	ns.reserve(static_cast<std::size_t>(calls));
	Bytes out(frame.size() + 256);
	for (int i = 0; i < calls; i++) {
		xdp_md xctx{};
		xctx.data_end = static_cast<__u32>(frame.size());
		__sk_buff sctx{};
		sctx.ifindex = static_cast<__u32>(ingress);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
			    .data_out = out.data(),
			    .data_size_in = static_cast<__u32>(frame.size()),
			    .data_size_out = static_cast<__u32>(out.size()),
			    .ctx_in = xdp ? static_cast<void *>(&xctx) : static_cast<void *>(&sctx),
			    .ctx_size_in = static_cast<__u32>(xdp ? sizeof(xctx) : sizeof(sctx)),
			    .repeat = 1);
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			throw SystemError(what + ": BPF_PROG_TEST_RUN failed", errno);
		if (opts.retval != verdict)
			throw std::runtime_error(what + ": verdict " + std::to_string(opts.retval) +
						 ", expected " + std::to_string(verdict));
		ns.push_back(opts.duration);
	}
	std::nth_element(ns.begin(), ns.begin() + calls / 2, ns.end());
	return ns[static_cast<std::size_t>(calls / 2)];
}

struct Case {
	std::string name;
	Program program;
	bool xdp;
	std::string ingress;
	Bytes frame;
	std::uint32_t verdict;
};

std::vector<Case> cases()
{
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, 2, 1);
	const test::Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	const Bytes arp = eth(kBroadcast, kVm1, kEthArp, arp_request(kVm1, 1, 9));
	return {
		{"xdp_decap_to_port", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from2, 5001, ping_to_vm1), XDP_PASS},
		{"xdp_drop_unknown_vni", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from2, 7777, ping_to_vm1), XDP_DROP},
		// underlay.mode tc: the same frame decapsulated and redirected by TC.
		{"tc_decap_to_port", Program::tc_underlay, false, "ul0",
		 vxlan_frame(from2, 5001, ping_to_vm1), TC_ACT_REDIRECT},
		{"tc_encap_to_vtep", Program::tc_port, false, "vm1",
		 vm_ping(kRemoteStatic, kVm1, 1, 3), TC_ACT_REDIRECT},
		{"tc_local_switch", Program::tc_port, false, "vm1", vm_ping(kVm2, kVm1, 1, 2),
		 TC_ACT_REDIRECT},
		{"tc_flood_1port_2vteps", Program::tc_port, false, "vm1", arp, TC_ACT_REDIRECT},
		{"tc_drop_spoofed", Program::tc_port, false, "vm2", vm_ping(kVm2, kVm1, 1, 2),
		 TC_ACT_SHOT},
	};
}

// The NIC's program (xdp_offload, run here on the host) on the packet
// environment's desired state with the relay on: its drop, its pass to the
// host after every lookup, its relay, and a frame that is no overlay traffic.
std::vector<std::pair<std::string, std::pair<Bytes, std::uint32_t>>> offload_cases()
{
	const test::Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	const test::Underlay from3{kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 51000, 4789};
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, 2, 1);
	return {
		{"offload_drop_unknown_vni", {vxlan_frame(from2, 7777, ping_to_vm1), XDP_DROP}},
		{"offload_pass_to_port", {vxlan_frame(from2, 5001, ping_to_vm1), XDP_PASS}},
		{"offload_relay", {vxlan_frame(from3, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2)), XDP_TX}},
		{"offload_pass_host", {vm_ping(kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep), XDP_PASS}},
	};
}

const MacAddr kMoved = mac("02:00:00:00:01:07"); // left this host for VTEP 3

// A forwarding pointer for kMoved in blue, toward VTEP 3, live for an hour.
void point_forward(Dataplane &dp)
{
	ovx_fdb_entry e{};
	e.kind = OVX_FDB_VTEP;
	e.flags = OVX_FDB_STATIC | OVX_FDB_FORWARD;
	e.vtep.family = AF_INET;
	e.vtep.a[0] = htonl(kVtep3);
	e.forward_until_ns = monotonic_ns() + 3600ull * 1000000000;
	ovx_fdb_key k{};
	k.segment = kBlue;
	std::memcpy(k.mac, kMoved.b, 6);
	dp.tables().fdb.update(k, e);
}

// A frame for a MAC that just left (sent on: XDP, then TC; or TC alone in
// mode tc) next to today's underlay paths: delivery to a port (XDP, then
// TC; TC alone) and the split-horizon drop that such a frame met before
// pointers.
std::vector<Case> forward_cases()
{
	const test::Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	const test::Underlay from3{kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 51000, 4789};
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, 2, 1);
	const Bytes ping_to_moved = vm_ping(kMoved, kRemoteStatic, 2, 7);
	const auto vm1 = static_cast<std::uint32_t>(packet_ifindex("vm1"));
	return {
		{"xdp_decap_to_port", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from2, 5001, ping_to_vm1), XDP_PASS},
		{"tc_deliver_to_port", Program::tc_underlay, false, "ul0",
		 decapsulated(ping_to_vm1, kBlue, vm1, kVm1Port), TC_ACT_REDIRECT},
		{"xdp_drop_split_horizon", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from3, 5001, vm_ping(kRemoteStatic, kVm2, 3, 2)), XDP_DROP},
		{"xdp_forward", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from2, 5001, ping_to_moved), XDP_PASS},
		{"tc_forward", Program::tc_underlay, false, "ul0",
		 decapsulated(ping_to_moved, kBlue, OVX_SHIM_FORWARD), TC_ACT_REDIRECT},
		// underlay.mode tc: TC alone, on the whole frame.
		{"tc_whole_decap_to_port", Program::tc_underlay, false, "ul0",
		 vxlan_frame(from2, 5001, ping_to_vm1), TC_ACT_REDIRECT},
		{"tc_whole_forward", Program::tc_underlay, false, "ul0",
		 vxlan_frame(from2, 5001, ping_to_moved), TC_ACT_REDIRECT},
	};
}

void fill_fdb(Dataplane &dp, std::uint32_t n)
{
	std::mt19937_64 rng(42);
	ovx_fdb_entry e{};
	e.kind = OVX_FDB_VTEP;
	e.flags = OVX_FDB_STATIC;
	e.vtep.family = 2;
	e.vtep.a[0] = htonl(kVtep3);
	for (std::uint32_t i = 0; i < n; i++) {
		ovx_fdb_key k{};
		k.segment = kBlue;
		const std::uint64_t r = rng();
		std::memcpy(k.mac, &r, 6);
		k.mac[0] = 0x06; // locally administered unicast: never a fixture MAC
		dp.tables().fdb.update(k, e);
	}
}

// The environment's desired state with @n segments in all: blue and red, and
// n - 2 more, each with its VNI and a flood VTEP, and no port.
std::string segments_config(std::uint32_t n)
{
	std::string yaml = packet_config_text();
	for (std::uint32_t i = 2; i < n; i++)
		yaml += "  - {name: s" + std::to_string(i) + ", tenant: t" + std::to_string(i % 100) +
			", id: " + std::to_string(100000 + i) + ", flood: [192.168.77.3]}\n";
	return yaml;
}

// One encapsulation over one underlay family, in a dataplane of its own:
// blue (vm1, vm2, a static remote behind VTEP 2) on a dual-stack underlay.
struct EncapSetup {
	Encap frame;
	ovx_encap encap;
	int family;
	Dataplane dp;
};

const char *family_name(int family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

Ip6Addr address(int family, const char *text)
{
	Ip6Addr a{}; // IPv4 in the first four bytes, as Outer wants it
	if (inet_pton(family, text, a.data()) != 1)
		throw std::runtime_error(std::string("bad address ") + text);
	return a;
}

const char *vtep2_text(int family)
{
	return family == AF_INET6 ? "fd00:77::2" : "192.168.77.2";
}

constexpr std::uint32_t kEncapId = 5001; // a valid VNI, VSID and context ID alike

std::vector<EncapSetup> encap_setups()
{
	const std::pair<Encap, ovx_encap> kinds[] = {{Encap::vxlan, OVX_ENCAP_VXLAN},
						      {Encap::geneve, OVX_ENCAP_GENEVE},
						      {Encap::nvgre, OVX_ENCAP_NVGRE},
						      {Encap::stt, OVX_ENCAP_STT}};
	std::vector<EncapSetup> out;
	for (const auto &[frame, encap] : kinds) {
		for (int family : {AF_INET, AF_INET6}) {
			Dataplane dp = Dataplane::load_unpinned(4096);
			apply_config_text(dp, encap_config_text(encap_name(encap), kEncapId, family));
			out.push_back({frame, encap, family, std::move(dp)});
		}
	}
	return out;
}

Outer from_vtep2(int family)
{
	const bool v6 = family == AF_INET6;
	return Outer{.dst_mac = kUnderlayMac,
		     .src_mac = kVtep2Mac,
		     .family = family,
		     .src = address(family, vtep2_text(family)),
		     .dst = address(family, v6 ? "fd00:77::1" : "192.168.77.1"),
		     .entropy = 51000,
		     .stt_frame_id = 1};
}

// What VTEP 2 sends this host for vm1, in @s's encapsulation and family.
Bytes decap_frame(const EncapSetup &s)
{
	return tunnel_frame(from_vtep2(s.family), s.frame, kEncapId,
			    vm_ping(kVm1, kRemoteStatic, 2, 1));
}

// The same in Geneve with two non-critical 8-byte options, which the
// receiver must walk (ovx sends none, but peers may).
Bytes geneve_options_frame(int family)
{
	const Bytes options = {0x01, 0x02, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef,
			       0x01, 0x02, 0x02, 0x01, 0xfe, 0xed, 0xfa, 0xce};
	return ip_frame(from_vtep2(family), IPPROTO_UDP,
			udp(51000, 6081,
			    geneve(kEncapId, vm_ping(kVm1, kRemoteStatic, 2, 1), options)));
}

} // namespace

int main(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		if (std::strcmp(argv[i], "--quick") == 0) {
			o.calls = 2000;
			o.rounds = 3;
			o.fdb_sizes = {1000, 10000};
			o.segment_counts = {10, 100};
		} else if (std::strcmp(argv[i], "--sweep") == 0 && i + 1 < argc &&
			   o.sweeps.contains(argv[i + 1])) {
			o.sweeps = {argv[++i]};
		} else {
			std::fprintf(stderr,
				     "usage: %s [--quick] [--sweep forward|fdb|segments|flood|encap|offload]\n",
				     argv[0]);
			return 1;
		}
	}
	try {
		setup_namespace();
		UniqueFd xdp_floor = empty_program(BPF_PROG_TYPE_XDP, XDP_PASS);
		UniqueFd tc_floor = empty_program(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
		const Bytes any = vm_ping(kVm2, kVm1, 1, 2);

		// One CSV row per (sweep, size, encapsulation, family, case, round):
		// the report takes medians. The size is the FDB's entries in the
		// "fdb" sweep, the number of segments in the "segments" sweep, the
		// number of remote VTEPs in the "flood" sweep; the
		// encapsulation sweep's FDB holds only its configuration's entries
		// (0).
		std::printf("sweep,fdb_entries,encap,family,case,round,median_ns\n");
		auto row = [](const char *sweep, std::uint32_t size, const char *encap,
			      const char *family, const std::string &name, int round, double ns) {
			std::printf("%s,%u,%s,%s,%s,%d,%.0f\n", sweep, size, encap, family,
				    name.c_str(), round, ns);
		};
		auto floors = [&](const char *sweep, std::uint32_t size, int round) {
			row(sweep, size, "-", "-", "floor_xdp", round,
			    median_ns("floor_xdp", xdp_floor.get(), true, 0, any, XDP_PASS,
				      o.calls));
			row(sweep, size, "-", "-", "floor_tc", round,
			    median_ns("floor_tc", tc_floor.get(), false, packet_ifindex("vm1"), any,
				      TC_ACT_OK, o.calls));
		};
		// Every path of @paths (VXLAN over IPv4) in @dp, the floors beside it.
		auto sweep_rounds = [&](const char *sweep, std::uint32_t size, const Dataplane &dp,
					const std::vector<Case> &paths) {
			for (int round = 0; round < o.rounds; round++) {
				floors(sweep, size, round);
				for (const Case &c : paths)
					row(sweep, size, "vxlan", "ipv4", c.name, round,
					    median_ns(c.name, dp.program_fd(c.program), c.xdp,
						      packet_ifindex(c.ingress), c.frame, c.verdict,
						      o.calls));
				std::fflush(stdout);
			}
		};
		if (o.sweeps.contains("forward")) {
			Dataplane dp = Dataplane::load_unpinned(4096);
			apply_packet_config(dp);
			point_forward(dp);
			sweep_rounds("forward", 0, dp, forward_cases());
		}
		if (o.sweeps.contains("offload")) {
			Dataplane dp = Dataplane::load_unpinned(4096);
			apply_packet_config(dp);
			const Config config = parse_config(packet_config_text(), "packet_env.yaml");
			const DesiredState desired = build_desired(config, resolve(config), dp.tables());
			const RelayHops hops = underlay_hops(packet_ifindex("ul0"));
			OffloadProgram off = OffloadProgram::load();
			write_offload(off.tables(), offload_desired(desired, &hops));
			for (int round = 0; round < o.rounds; round++) {
				floors("offload", 0, round);
				for (const auto &[name, fv] : offload_cases())
					row("offload", 0, "vxlan", "ipv4", name, round,
					    median_ns(name, off.program_fd(), true, packet_ifindex("ul0"),
						      fv.first, fv.second, o.calls));
				std::fflush(stdout);
			}
		}
		if (!o.sweeps.contains("fdb"))
			o.fdb_sizes.clear();
		if (!o.sweeps.contains("segments"))
			o.segment_counts.clear();
		for (std::uint32_t size : o.fdb_sizes) {
			Dataplane dp = Dataplane::load_unpinned(std::max<std::uint32_t>(size + 64, 4096));
			apply_packet_config(dp);
			fill_fdb(dp, size);
			sweep_rounds("fdb", size, dp, cases());
		}

		// The same paths with few and many segments (VNIs, VTEP
		// memberships), the FDB holding only the configuration's entries.
		for (std::uint32_t n : o.segment_counts) {
			Dataplane dp = Dataplane::load_unpinned(4096);
			apply_config_text(dp, segments_config(n));
			sweep_rounds("segments", n, dp, cases());
		}

		// A broadcast from vm1 to vm2 and to every remote VTEP of blue, with
		// 1 VTEP and with as many as a segment holds, alternating in each
		// round: what a flood costs per copy. Fewer calls for the long list
		// (each sends 1,024 copies).
		std::vector<std::pair<std::uint32_t, Dataplane>> floods;
		for (std::uint32_t n : {1u, static_cast<std::uint32_t>(OVX_MAX_FLOOD_VTEPS)}) {
			if (o.sweeps.contains("flood")) {
				floods.emplace_back(n, Dataplane::load_unpinned(4096));
				apply_config_text(floods.back().second, flood_config_text(n));
			}
		}
		const Bytes arp = eth(kBroadcast, kVm1, kEthArp, arp_request(kVm1, 1, 9));
		for (int round = 0; round < o.rounds && !floods.empty(); round++) {
			for (const auto &[n, dp] : floods) {
				floors("flood", n, round);
				row("flood", n, "vxlan", "ipv4", "tc_flood_vteps", round,
				    median_ns("tc_flood_vteps", dp.program_fd(Program::tc_port), false,
					      packet_ifindex("vm1"), arp, TC_ACT_REDIRECT,
					      std::max(o.calls / static_cast<int>(n), 200)));
			}
			std::fflush(stdout);
		}

		// Every encapsulation and family in each round, so that the
		// machine's drift over the run touches them all alike.
		const std::vector<EncapSetup> setups =
			o.sweeps.contains("encap") ? encap_setups() : std::vector<EncapSetup>{};
		const Bytes to_remote = vm_ping(kRemoteStatic, kVm1, 1, 3);
		for (int round = 0; round < o.rounds && !setups.empty(); round++) {
			floors("encap", 0, round);
			for (const EncapSetup &s : setups) {
				const char *e = encap_name(s.encap), *f = family_name(s.family);
				const std::string at = std::string(e) + "/" + f + " ";
				row("encap", 0, e, f, "xdp_decap_to_port", round,
				    median_ns(at + "xdp_decap_to_port",
					      s.dp.program_fd(Program::xdp_underlay), true,
					      packet_ifindex("ul0"), decap_frame(s), XDP_PASS,
					      o.calls));
				if (s.frame == Encap::geneve)
					row("encap", 0, "geneve+2opts", f, "xdp_decap_to_port", round,
					    median_ns(at + "xdp_decap_to_port with options",
						      s.dp.program_fd(Program::xdp_underlay), true,
						      packet_ifindex("ul0"),
						      geneve_options_frame(s.family), XDP_PASS,
						      o.calls));
				row("encap", 0, e, f, "tc_encap_to_vtep", round,
				    median_ns(at + "tc_encap_to_vtep", s.dp.program_fd(Program::tc_port),
					      false, packet_ifindex("vm1"), to_remote, TC_ACT_REDIRECT,
					      o.calls));
			}
			std::fflush(stdout);
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "prog_cost: %s\n", e.what());
		return 2;
	}
	return 0;
}
