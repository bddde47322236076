// The packet environment shared by the packet tests and the per-packet
// benchmark: a private network namespace with an underlay (ul0) and three
// VM ports (vm1..vm3), each a veth whose peer (ul0p, vm1p..) sees what the
// programs send, and a desired state applied by the same code `ovx apply` uses.
#pragma once

#include <optional>
#include <string>

#include "loader/dataplane.h"
#include "loader/segmenter.h"
#include "tests/bpf/frame_builder.h"

namespace ovx::test {

// The test namespace's fixed addresses (see fixture.cpp, setup_namespace()).
inline const MacAddr kUnderlayMac = mac("02:aa:00:00:00:01");
inline const MacAddr kVtep2Mac = mac("02:bb:00:00:00:02");
inline const MacAddr kVtep3Mac = mac("02:bb:00:00:00:03");
inline const std::uint32_t kLocalVtep = ipv4("192.168.77.1");
inline const std::uint32_t kVtep2 = ipv4("192.168.77.2");
inline const std::uint32_t kVtep3 = ipv4("192.168.77.3");
inline const Ip6Addr kLocalVtep6 = ipv6("fd00:77::1");
inline const Ip6Addr kVtep2v6 = ipv6("fd00:77::2");
inline const Ip6Addr kVtep3v6 = ipv6("fd00:77::3");

// blue (VNI 5001, segment 1): vm1, vm2; red (VNI 5002, segment 2): vm3,
// whose MAC is vm1's: tenants may overlap.
inline const MacAddr kVm1 = mac("02:00:00:00:01:01");
inline const MacAddr kVm2 = mac("02:00:00:00:01:02");
inline const MacAddr kVm3 = kVm1;
inline const MacAddr kRemoteStatic = mac("02:00:00:00:02:01"); // blue, behind .2
inline const MacAddr kBroadcast = mac("ff:ff:ff:ff:ff:ff");
inline constexpr std::uint32_t kBlue = 1, kRed = 2;
// The port indexes (struct ovx_port) apply_packet_config() gives them.
inline constexpr std::uint16_t kVm1Port = 1, kVm2Port = 2, kVm3Port = 3;
// The receive cookie of the environment's instance (ovx_config.cookie).
inline constexpr std::uint32_t kCookie[2] = {0x6f767833, 0x0c00c1e5};


struct RunResult {
	int retval = -1;
	Bytes out;  // the packet as the program left it
	std::uint32_t mark = 0; // skb->mark as the program left it
};

// skb fields a TC run starts with, beyond the frame and its interface.
struct SkbMeta {
	std::uint32_t mark = 0;
	std::uint32_t gso_size = 0; // a GSO (TSO) frame when set
	std::uint32_t gso_segs = 0;
};

// One BPF_PROG_TEST_RUN of @dp's XDP program (the frame as it left,
// from its new start), or of a TC program with @frame arriving on
// @ingress_ifindex. Throws SystemError when the kernel refuses the run.
RunResult test_run_xdp(const Dataplane &dp, const Bytes &frame);
RunResult test_run_tc(const Dataplane &dp, Program program, int ingress_ifindex,
		      const Bytes &frame, const SkbMeta &meta = {});

// What xdp_underlay leaves for tc_underlay: @inner behind the shim the
// host's stack drops (struct ovx_rx_shim), with the cookie and the decision
// (segment, local port and its index, 0 to flood, or OVX_SHIM_FORWARD).
Bytes decapsulated(const Bytes &inner, std::uint32_t segment, std::uint32_t ifindex,
		   std::uint16_t port = OVX_PORT_NONE, const std::uint32_t (&cookie)[2] = kCookie);

// Moves the process into a new network namespace (gone when it exits) and
// creates the interfaces there; needs root. Throws on failure.
void setup_namespace();

int packet_ifindex(const std::string &name);

// The environment's desired state (YAML): blue, then red.
const char *packet_config_text();

// Fills @dp's maps from the environment's desired state.
void apply_packet_config(Dataplane &dp);

// Makes @dp's maps match another desired state on the same interfaces, and
// fills the next-hop table from the namespace's neighbours, as `ovx apply` does;
// STT segments use @segmenter when given (see loader/segmenter.h).
void apply_config_text(Dataplane &dp, const std::string &yaml,
		       const std::optional<Segmenter> &segmenter = std::nullopt);

// The environment's desired state with blue flooding to @n VTEPs,
// flood_vtep(0..n-1), all reached through the router at 192.168.77.2.
std::string flood_config_text(std::uint32_t n);
std::uint32_t flood_vtep(std::uint32_t i);

// The environment's two tenants in @encap ("vxlan", "geneve", ...) with
// VTEPs of @family on a dual-stack underlay: blue (segment 1, id @blue_id:
// vm1, vm2, a static remote behind VTEP 2, flooding to VTEPs 2 and 3) and
// red (segment 2, id 6001: vm3).
std::string encap_config_text(const char *encap, std::uint64_t blue_id, int family);

} // namespace ovx::test
