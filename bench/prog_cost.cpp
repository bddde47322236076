// Per-packet cost of each ovx program path, from BPF_PROG_TEST_RUN, next to
// the floor (an empty XDP and an empty TC program) measured in the same run.
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
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "loader/dataplane.h"
#include "maps/error.h"
#include "tests/bpf/packet_env.h"

using namespace ovx;
using namespace ovx::test;

namespace {

struct Options {
	int calls = 100000; // calls per round
	int rounds = 5;
	std::vector<std::uint32_t> fdb_sizes = {1000, 100000, 1000000};
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

// Median of per-call durations (ns) for one frame through one program.
double median_ns(int prog_fd, bool xdp, int ingress, const Bytes &frame, int calls)
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
			throw SystemError("BPF_PROG_TEST_RUN failed", errno);
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
};

std::vector<Case> cases()
{
	const Bytes ping_to_vm1 = vm_ping(kVm1, kRemoteStatic, 2, 1);
	const Underlay from2{kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep, 51000, 4789};
	const Bytes arp = eth(kBroadcast, kVm1, kEthArp, arp_request(kVm1, 1, 9));
	return {
		{"xdp_decap_to_port", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from2, 5001, ping_to_vm1)},
		{"xdp_drop_unknown_vni", Program::xdp_underlay, true, "ul0",
		 vxlan_frame(from2, 7777, ping_to_vm1)},
		{"tc_encap_to_vtep", Program::tc_port, false, "vm1",
		 vm_ping(kRemoteStatic, kVm1, 1, 3)},
		{"tc_local_switch", Program::tc_port, false, "vm1", vm_ping(kVm2, kVm1, 1, 2)},
		{"tc_flood_1port_2vteps", Program::tc_port, false, "vm1", arp},
		{"tc_drop_spoofed", Program::tc_port, false, "vm2", vm_ping(kVm2, kVm1, 1, 2)},
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

} // namespace

int main(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		if (std::strcmp(argv[i], "--quick") == 0) {
			o.calls = 2000;
			o.rounds = 3;
			o.fdb_sizes = {1000, 10000};
		} else {
			std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 1;
		}
	}
	try {
		setup_namespace();
		UniqueFd xdp_floor = empty_program(BPF_PROG_TYPE_XDP, XDP_PASS);
		UniqueFd tc_floor = empty_program(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
		const Bytes any = vm_ping(kVm2, kVm1, 1, 2);

		// One CSV row per (fdb size, case, round): the report takes medians.
		std::printf("fdb_entries,case,round,median_ns\n");
		for (std::uint32_t size : o.fdb_sizes) {
			Dataplane dp = Dataplane::load_unpinned(std::max<std::uint32_t>(size + 64, 4096));
			apply_packet_config(dp);
			fill_fdb(dp, size);
			for (int round = 0; round < o.rounds; round++) {
				std::printf("%u,floor_xdp,%d,%.0f\n", size, round,
					    median_ns(xdp_floor.get(), true, 0, any, o.calls));
				std::printf("%u,floor_tc,%d,%.0f\n", size, round,
					    median_ns(tc_floor.get(), false, packet_ifindex("vm1"), any,
						      o.calls));
				for (const Case &c : cases())
					std::printf("%u,%s,%d,%.0f\n", size, c.name.c_str(), round,
						    median_ns(dp.program_fd(c.program), c.xdp,
							      packet_ifindex(c.ingress), c.frame,
							      o.calls));
				std::fflush(stdout);
			}
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "prog_cost: %s\n", e.what());
		return 2;
	}
	return 0;
}
