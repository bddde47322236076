// The offload program against the host's xdp_underlay, frame by frame, in the
// packet environment of tests/bpf (same namespace, same desired state, same
// frame builder). The offload program runs here on the host through
// BPF_PROG_TEST_RUN, like the host program.
//
// What must hold for every frame: when the offload program drops, the host
// program drops too and counts the same reason (the NIC never takes a frame
// the host would have delivered, and names it as the host would); when it
// passes, the frame is byte for byte what came in (the host sees what it
// would have seen without the NIC); when it relays (XDP_TX, relay on), the
// host would have dropped the frame as one for a remote MAC (split horizon).
// The pre-filter cases must be dropped on the NIC, not left to the host.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "agent/apply.h"
#include "agent/config.h"
#include "agent/desired.h"
#include "agent/offload.h"
#include "loader/dataplane.h"
#include "loader/offload.h"
#include "maps/stats.h"
#include "tests/bpf/frame_builder.h"
#include "tests/bpf/packet_env.h"

namespace ovx::test {
namespace {

struct XdpRun {
	int verdict = -1;
	Bytes out;
	std::size_t meta_len = 0;
};

XdpRun run_xdp(int prog_fd, const Bytes &frame)
{
	XdpRun r;
	r.out.resize(frame.size() + 256);
	xdp_md ctx{};
	ctx.data_end = static_cast<__u32>(frame.size());
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.out.data(),
		    .data_size_in = static_cast<__u32>(frame.size()),
		    .data_size_out = static_cast<__u32>(r.out.size()), .ctx_in = &ctx,
		    .ctx_out = &ctx, .ctx_size_in = sizeof(ctx), .ctx_size_out = sizeof(ctx),
		    .repeat = 1);
	EXPECT_EQ(bpf_prog_test_run_opts(prog_fd, &opts), 0) << std::strerror(errno);
	r.verdict = static_cast<int>(opts.retval);
	r.out.resize(opts.data_size_out);
	r.meta_len = ctx.data;
	r.out.erase(r.out.begin(), r.out.begin() + ctx.data);
	return r;
}

// Drops by reason, summed over every segment the environment has.
using Drops = std::array<std::uint64_t, OVX_DROP_MAX>;

class OffloadVsHost : public ::testing::Test {
protected:
	void SetUp() override { load(false); }

	void load(bool relay, const std::string &yaml = packet_config_text())
	{
		host_ = Dataplane::load_unpinned(4096);
		apply_config_text(*host_, yaml);
		const Config config = parse_config(yaml, "packet_env.yaml");
		const DesiredState desired = build_desired(config, resolve(config), host_->tables());
		segments_ = {0};
		for (const auto &[id, seg] : desired.segments)
			segments_.push_back(id);
		const RelayHops hops = underlay_hops(packet_ifindex("ul0"));
		offload_ = OffloadProgram::load();
		write_offload(offload_->tables(), offload_desired(desired, relay ? &hops : nullptr));
	}

	Drops host_drops() const
	{
		Drops d{};
		for (std::uint32_t seg : segments_) {
			const ovx_seg_stats s = sum_per_cpu(host_->tables().seg_stats.lookup(seg));
			for (unsigned r = 0; r < OVX_DROP_MAX; r++)
				d[r] += s.drops[r];
		}
		return d;
	}

	Drops offload_drops()
	{
		Drops d{};
		for (std::uint32_t r = 0; r < OVX_DROP_MAX; r++)
			d[r] = offload_->tables().drops.lookup(r).value_or(ovx_offload_counter{}).packets;
		return d;
	}

	static std::optional<unsigned> one_new(const Drops &before, const Drops &after)
	{
		std::optional<unsigned> reason;
		for (unsigned r = 0; r < OVX_DROP_MAX; r++) {
			if (after[r] == before[r])
				continue;
			if (reason || after[r] != before[r] + 1)
				return std::nullopt;
			reason = r;
		}
		return reason;
	}

	std::uint64_t relayed()
	{
		return offload_->tables().relayed.lookup(0).value_or(ovx_offload_counter{}).packets;
	}

	// Both programs on @frame; the differential property, checked. Returns
	// what the offload program did.
	XdpRun compare_run(const Bytes &frame)
	{
		const Drops host_before = host_drops(), off_before = offload_drops();
		const std::uint64_t relayed_before = relayed();
		const XdpRun off = run_xdp(offload_->program_fd(), frame);
		const XdpRun host = run_xdp(host_->program_fd(Program::xdp_underlay), frame);
		const Drops host_after = host_drops(), off_after = offload_drops();
		EXPECT_TRUE(off.verdict == XDP_PASS || off.verdict == XDP_DROP || off.verdict == XDP_TX)
			<< "offload verdict " << off.verdict << " for " << hex(frame);
		if (off.verdict == XDP_TX) {
			EXPECT_EQ(host.verdict, XDP_DROP) << "the NIC relays what the host takes: " << hex(frame);
			EXPECT_EQ(one_new(host_before, host_after), OVX_DROP_SPLIT_HORIZON)
				<< "the NIC relays a frame the host drops for another reason: " << hex(frame);
			EXPECT_EQ(relayed(), relayed_before + 1);
			EXPECT_EQ(off_after, off_before);
		} else if (off.verdict == XDP_DROP) {
			EXPECT_EQ(host.verdict, XDP_DROP) << "the NIC drops what the host takes: " << hex(frame);
			const auto off_reason = one_new(off_before, off_after);
			EXPECT_TRUE(off_reason) << "offload drop not counted once: " << hex(frame);
			EXPECT_EQ(off_reason, one_new(host_before, host_after))
				<< "NIC and host name different drop reasons: " << hex(frame);
		} else {
			EXPECT_EQ(hex(off.out), hex(frame)) << "a passed frame changed on the NIC";
			EXPECT_EQ(off.meta_len, 0u);
			EXPECT_EQ(off_after, off_before) << "a passed frame was counted as a drop";
			EXPECT_EQ(relayed(), relayed_before);
		}
		return off;
	}

	int compare(const Bytes &frame) { return compare_run(frame).verdict; }

	// @n frames from @seeds with one or two bytes changed at positions
	// @pick chooses, one in eight cut short: the differential property on
	// each, and both verdicts at least @at_least times.
	void mutated_sweep(std::mt19937 &rng, const std::vector<Bytes> &seeds, int n, int at_least,
			   const std::function<std::size_t(const Bytes &)> &pick)
	{
		int drops = 0, passes = 0;
		for (int i = 0; i < n; i++) {
			Bytes f = seeds[rng() % seeds.size()];
			for (unsigned k = 1 + rng() % 2; k > 0; k--) {
				const std::size_t at = pick(f);
				f[at] = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : f[at] ^ (1u << (rng() % 8)));
			}
			if (rng() % 8 == 0)
				f.resize(14 + rng() % (f.size() - 14));
			(compare(f) == XDP_DROP ? drops : passes)++;
			if (HasFailure())
				FAIL() << "mutation " << i << " disagrees: " << hex(f);
		}
		EXPECT_GT(drops, at_least);
		EXPECT_GT(passes, at_least);
	}

	std::optional<Dataplane> host_;
	std::optional<OffloadProgram> offload_;
	std::vector<std::uint32_t> segments_; // the host's, and 0 for drops before one is known
};

const Bytes kInner = vm_ping(kVm1, kRemoteStatic, 2, 1);

Bytes from(std::uint32_t src, std::uint32_t dst, std::uint32_t vni, const Bytes &inner = kInner)
{
	return vxlan_frame(Underlay{.dst_mac = kUnderlayMac,
				    .src_mac = src == kVtep3 ? kVtep3Mac : kVtep2Mac,
				    .src_ip = src,
				    .dst_ip = dst,
				    .sport = 51000},
			   vni, inner);
}

struct Case {
	const char *name;
	std::function<Bytes()> frame;
	int offload_verdict; // what the NIC must do with it
};

void PrintTo(const Case &c, std::ostream *os)
{
	*os << c.name;
}

class Frames : public OffloadVsHost, public ::testing::WithParamInterface<Case> {};

TEST_P(Frames, SameVerdictAsTheHostForWhatTheNicHandles)
{
	EXPECT_EQ(compare(GetParam().frame()), GetParam().offload_verdict);
}

Bytes truncated()
{
	Bytes f = from(kVtep2, kLocalVtep, 5001);
	f.resize(14 + 20 + 8 + 8 + 10);
	return f;
}

INSTANTIATE_TEST_SUITE_P(
	Cases, Frames,
	::testing::Values(
		// The pre-filter: dropped on the NIC.
		Case{"UnknownVni", [] { return from(kVtep2, kLocalVtep, 7777); }, XDP_DROP},
		Case{"NotOurVtep", [] { return from(kVtep2, ipv4("192.168.77.9"), 5001); }, XDP_DROP},
		Case{"UnknownVtep", [] { return from(ipv4("192.168.77.99"), kLocalVtep, 5001); },
		     XDP_DROP},
		Case{"VtepOfAnotherSegment", [] { return from(kVtep3, kLocalVtep, 5002); }, XDP_DROP},
		Case{"Truncated", truncated, XDP_DROP},
		Case{"NoVniFlag",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					ip4(kVtep2, kLocalVtep, 17, udp(51000, 4789, vxlan(5001, kInner, 0))));
		     },
		     XDP_DROP},
		Case{"Fragment",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					ip4(kVtep2, kLocalVtep, 17, udp(51000, 4789, vxlan(5001, kInner)),
					    Ipv4Opts{.frag = 0x2000}));
		     },
		     XDP_DROP},
		// Overlay frames the host decapsulates, floods or drops later: the
		// NIC passes them untouched.
		Case{"ToALocalPort", [] { return from(kVtep2, kLocalVtep, 5001); }, XDP_PASS},
		Case{"OtherTenantSameMac", [] { return from(kVtep2, kLocalVtep, 5002); }, XDP_PASS},
		Case{"Broadcast",
		     [] {
			     return from(kVtep2, kLocalVtep, 5001,
					 eth(kBroadcast, kRemoteStatic, kEthArp,
					     arp_request(kRemoteStatic, ipv4("10.0.0.2"), ipv4("10.0.0.1"))));
		     },
		     XDP_PASS},
		Case{"ForARemoteMac",
		     [] { return from(kVtep3, kLocalVtep, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2)); },
		     XDP_PASS},
		// The host's own traffic.
		Case{"Arp",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthArp,
					arp_request(kVtep2Mac, kVtep2, kLocalVtep));
		     },
		     XDP_PASS},
		Case{"Dns",
		     [] {
			     return eth(kUnderlayMac, kVtep2Mac, kEthIp,
					ip4(kVtep2, kLocalVtep, 17, udp(5000, 53, {})));
		     },
		     XDP_PASS},
		Case{"Ping", [] { return vm_ping(kUnderlayMac, kVtep2Mac, kVtep2, kLocalVtep); }, XDP_PASS},
		Case{"NoIpHeader", [] { return eth(kUnderlayMac, kVtep2Mac, kEthIp, {}); }, XDP_PASS}),
	[](const auto &info) { return std::string(info.param.name); });

// Frames mutated at random in the bytes that decide (addresses, flags, VNI,
// ports, lengths): whatever the NIC drops, the host drops for the same reason.
TEST_F(OffloadVsHost, MutatedFramesNeverDisagree)
{
	std::mt19937 rng(7);
	const Bytes seeds[] = {from(kVtep2, kLocalVtep, 5001), from(kVtep3, kLocalVtep, 5002),
			       from(kVtep2, kLocalVtep, 5002,
				    eth(kBroadcast, kRemoteStatic, kEthArp,
					arp_request(kRemoteStatic, 2, 1)))};
	// Outer IP version/IHL, fragment bits, protocol, addresses; UDP port;
	// VXLAN flags and VNI; the inner destination MAC.
	const std::size_t hot[] = {12, 13, 14, 20, 21, 23, 26, 29, 30, 33, 36, 37, 42, 46, 47, 48, 50, 55};
	mutated_sweep(rng, std::vector<Bytes>(std::begin(seeds), std::end(seeds)), 600, 100,
		      [&](const Bytes &) { return hot[rng() % std::size(hot)]; });
}

// Geneve and NVGRE segments and IPv6 VTEPs beside the environment's own,
// and an STT segment, whose frames stay the host's.
std::string every_encap_config()
{
	std::string yaml = packet_config_text();
	const std::string ul = "underlay: {interface: ul0, address: 192.168.77.1}";
	yaml.replace(yaml.find(ul), ul.size(),
		     "underlay: {interface: ul0, address: [192.168.77.1, \"fd00:77::1\"]}");
	return yaml + R"(  - {name: gen4, tenant: t, encap: geneve, id: 6001, flood: [192.168.77.2]}
  - {name: gre4, tenant: t, encap: nvgre, id: 6002, flood: [192.168.77.2]}
  - {name: vx6, tenant: t, id: 6003, flood: ["fd00:77::2"]}
  - {name: gen6, tenant: t, encap: geneve, id: 6004, flood: ["fd00:77::2"]}
  - {name: gre6, tenant: t, encap: nvgre, id: 6005, flood: ["fd00:77::2"]}
  - {name: stt4, tenant: t, encap: stt, id: 6006, flood: [192.168.77.3]}
)";
}

struct Flavour {
	const char *name;
	Encap encap;
	int family;
	std::uint32_t id;
};

const Flavour kFlavours[] = {
	{"geneve4", Encap::geneve, AF_INET, 6001}, {"nvgre4", Encap::nvgre, AF_INET, 6002},
	{"vxlan6", Encap::vxlan, AF_INET6, 6003},  {"geneve6", Encap::geneve, AF_INET6, 6004},
	{"nvgre6", Encap::nvgre, AF_INET6, 6005},
};

// Host @n of the underlay in @family: 192.168.77.n or fd00:77::n.
Ip6Addr host_addr(int family, std::uint8_t n)
{
	Ip6Addr a{};
	if (family == AF_INET)
		a = {192, 168, 77, n};
	else
		a = {0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n};
	return a;
}

Outer outer(int family, std::uint8_t src, std::uint8_t dst)
{
	return Outer{.dst_mac = kUnderlayMac,
		     .src_mac = kVtep2Mac,
		     .family = family,
		     .src = host_addr(family, src),
		     .dst = host_addr(family, dst),
		     .entropy = 51000};
}

class EveryEncap : public OffloadVsHost {
protected:
	void SetUp() override { load(false, every_encap_config()); }
};

TEST_F(EveryEncap, DropsWhatTheHostDropsOnTheNic)
{
	const Bytes geneve_options = {0x01, 0x02, 0x03, 0x00}; // one option, not critical
	for (const Flavour &fl : kFlavours) {
		SCOPED_TRACE(fl.name);
		const Outer o = outer(fl.family, 2, 1);
		const auto tunnel = [&](std::uint32_t id, const Bytes &inner) {
			return tunnel_frame(o, fl.encap, id, inner);
		};
		EXPECT_EQ(compare(tunnel(fl.id, kInner)), XDP_PASS) << "a member's frame";
		EXPECT_EQ(compare(tunnel(fl.id + 100, kInner)), XDP_DROP) << "unknown id";
		EXPECT_EQ(compare(tunnel_frame(outer(fl.family, 99, 1), fl.encap, fl.id, kInner)), XDP_DROP)
			<< "unknown VTEP";
		EXPECT_EQ(compare(tunnel_frame(outer(fl.family, 2, 9), fl.encap, fl.id, kInner)), XDP_DROP)
			<< "not our VTEP";
		// A member of another segment of the same encapsulation and family.
		EXPECT_EQ(compare(tunnel_frame(outer(fl.family, 3, 1), fl.encap, fl.id, kInner)), XDP_DROP)
			<< "VTEP of no such segment";
		Bytes cut = tunnel(fl.id, kInner);
		cut.resize(14 + outer_ip_len(fl.family) + 16 + 10);
		EXPECT_EQ(compare(cut), XDP_DROP) << "truncated";
		if (fl.encap == Encap::geneve) {
			const auto gen = [&](std::uint8_t flags, std::uint16_t proto, const Bytes &opts) {
				return ip_frame(o, 17, udp(51000, 6081, geneve(fl.id, kInner, opts, flags, proto)));
			};
			EXPECT_EQ(compare(gen(0x40, kEthTeb, {})), XDP_DROP) << "critical options";
			EXPECT_EQ(compare(gen(0x80, kEthTeb, {})), XDP_DROP) << "OAM";
			EXPECT_EQ(compare(gen(0, kEthIp, {})), XDP_DROP) << "not Ethernet";
			EXPECT_EQ(compare(gen(0, kEthTeb, geneve_options)), XDP_PASS)
				<< "options: the host walks them";
		}
		if (fl.encap == Encap::nvgre) {
			EXPECT_EQ(compare(ip_frame(o, 47, nvgre(fl.id, 1, kInner, 0x3000))), XDP_DROP)
				<< "GRE flags";
			EXPECT_EQ(compare(ip_frame(o, 47, nvgre(fl.id, 1, kInner, 0x2000, kEthIp))), XDP_DROP)
				<< "not Ethernet";
		}
	}
	// STT is the host's, whatever it carries.
	EXPECT_EQ(compare(tunnel_frame(outer(AF_INET, 3, 1), Encap::stt, 6006, kInner)), XDP_PASS);
	EXPECT_EQ(compare(tunnel_frame(outer(AF_INET, 3, 1), Encap::stt, 9999, kInner)), XDP_PASS);
}

// Every encapsulation and family, mutated at random in the outer headers,
// the tunnel header and the inner destination MAC.
TEST_F(EveryEncap, MutatedFramesNeverDisagree)
{
	std::mt19937 rng(17);
	std::vector<Bytes> seeds;
	for (const Flavour &fl : kFlavours)
		seeds.push_back(tunnel_frame(outer(fl.family, 2, 1), fl.encap, fl.id, kInner));
	seeds.push_back(tunnel_frame(outer(AF_INET, 3, 1), Encap::stt, 6006, kInner));
	// From the EtherType to the inner destination MAC.
	mutated_sweep(rng, seeds, 1500, 300, [&](const Bytes &f) {
		return 12 + rng() % ((f[12] == 0x86 ? 40u : 20u) + 16 + 6 + 2);
	});
}

class Relay : public OffloadVsHost {
protected:
	void SetUp() override { load(true); }
};

// A VXLAN frame on the underlay with the outer IPv4 header's TTL and
// identification (the relay's hop budget and mark) as given.
Bytes vxlan_with(MacAddr dst_mac, MacAddr src_mac, std::uint32_t src, std::uint32_t dst,
		 std::uint32_t vni, const Bytes &inner, Ipv4Opts opts)
{
	return eth(dst_mac, src_mac, kEthIp, ip4(src, dst, 17, udp(51000, 4789, vxlan(vni, inner)), opts));
}

TEST_F(Relay, SendsAFrameForARemoteMacStraightToItsVtep)
{
	// kRemoteStatic sits behind .2 (static); .3 sends a frame for it. It
	// leaves from .3 still (receivers learn the MAC behind its sender),
	// one hop poorer and marked as relayed.
	const Bytes inner = vm_ping(kRemoteStatic, kVm2, 1, 2);
	const XdpRun r = compare_run(
		vxlan_with(kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 5001, inner, {.ttl = 9}));
	ASSERT_EQ(r.verdict, XDP_TX);
	EXPECT_EQ(hex(r.out), hex(vxlan_with(kVtep2Mac, kUnderlayMac, kVtep3, kVtep2, 5001, inner,
					     {.ttl = 8, .id = OVX_FWD_IPV4_ID})));
}

TEST_F(Relay, NeverARelayedFrameAgain)
{
	// The mark a forwarding pointer or a relay leaves: the host's to drop.
	EXPECT_EQ(compare(vxlan_with(kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 5001,
				     vm_ping(kRemoteStatic, kVm2, 1, 2), {.id = OVX_FWD_IPV4_ID})),
		  XDP_PASS);
}

TEST_F(Relay, NeverWithoutAHopLeft)
{
	for (std::uint8_t ttl : {0, 1})
		EXPECT_EQ(compare(vxlan_with(kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 5001,
					     vm_ping(kRemoteStatic, kVm2, 1, 2), {.ttl = ttl})),
			  XDP_PASS)
			<< "TTL " << int{ttl};
	EXPECT_EQ(compare(vxlan_with(kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 5001,
				     vm_ping(kRemoteStatic, kVm2, 1, 2), {.ttl = 2})),
		  XDP_TX);
}

// The NIC of one of three hosts (.1, .2, .3, all members of blue), with
// relay entries for @statics (MAC -> the VTEP it sits behind): what
// offload_desired() makes of that host's file, written by hand so that the
// three can disagree.
MacAddr underlay_mac(std::uint32_t vtep)
{
	return vtep == kLocalVtep ? kUnderlayMac : vtep == kVtep2 ? kVtep2Mac : kVtep3Mac;
}

OffloadProgram nic_of(std::uint32_t vtep, const std::vector<std::pair<MacAddr, std::uint32_t>> &statics)
{
	OffloadDesired d;
	d.config.vtep4 = htonl(vtep);
	d.config.vxlan_port = htons(4789);
	d.config.encaps = 1u << OVX_ENCAP_VXLAN;
	ovx_vni_key vk{};
	vk.id = 5001;
	vk.encap = OVX_ENCAP_VXLAN;
	d.vni[vk] = kBlue;
	for (std::uint32_t member : {kLocalVtep, kVtep2, kVtep3}) {
		ovx_vtep_key tk{};
		tk.segment = kBlue;
		tk.addr.family = AF_INET;
		tk.addr.a[0] = htonl(member);
		d.vteps[tk] = 1;
	}
	for (const auto &[m, behind] : statics) {
		ovx_fdb_key k{};
		k.segment = kBlue;
		std::memcpy(k.mac, m.b, 6);
		ovx_offload_relay r{};
		r.vtep4 = htonl(behind);
		std::memcpy(r.dst_mac, underlay_mac(behind).b, 6);
		std::memcpy(r.src_mac, underlay_mac(vtep).b, 6);
		d.relay[k] = r;
	}
	OffloadProgram p = OffloadProgram::load();
	write_offload(p.tables(), d);
	return p;
}

std::uint32_t outer_dst(const Bytes &f)
{
	return std::uint32_t{f[30]} << 24 | std::uint32_t{f[31]} << 16 | std::uint32_t{f[32]} << 8 | f[33];
}

TEST(ThreeHosts, InconsistentStaticEntriesNeverLoop)
{
	// .1 puts M behind .2, .2 behind .3, .3 behind .1: each would pass the
	// frame on to the next, and none back to the VTEP it came from.
	const MacAddr m = mac("02:00:00:00:09:09");
	std::map<std::uint32_t, OffloadProgram> nics;
	nics.emplace(kLocalVtep, nic_of(kLocalVtep, {{m, kVtep2}}));
	nics.emplace(kVtep2, nic_of(kVtep2, {{m, kVtep3}}));
	nics.emplace(kVtep3, nic_of(kVtep3, {{m, kLocalVtep}}));
	for (std::uint8_t ttl : {64, 255}) {
		Bytes f = vxlan_with(kUnderlayMac, kVtep3Mac, kVtep3, kLocalVtep, 5001,
				     vm_ping(m, kVm2, 1, 2), {.ttl = ttl});
		int relays = 0, verdict = XDP_TX;
		for (int hop = 0; hop < 300 && verdict == XDP_TX; hop++) {
			const XdpRun r = run_xdp(nics.at(outer_dst(f)).program_fd(), f);
			verdict = r.verdict;
			if (verdict == XDP_TX) {
				relays++;
				f = r.out;
			}
		}
		// One relay (.1 -> .2), then .2's host has it: no second hop.
		EXPECT_EQ(relays, 1) << "TTL " << int{ttl};
		EXPECT_EQ(verdict, XDP_PASS);
		EXPECT_EQ(outer_dst(f), kVtep2);
	}
}

TEST_F(Relay, RepliesToARelayedFrameGoStraightToItsSender)
{
	// .2 relays to us a frame from .3 for vm1 (.2's static entry puts vm1
	// behind us); .2 has no entry for the sender's MAC.
	const MacAddr far = mac("02:00:00:00:03:03");
	OffloadProgram b = nic_of(kVtep2, {{kVm1, kLocalVtep}});
	const XdpRun relayed = run_xdp(
		b.program_fd(), vxlan_with(kVtep2Mac, kVtep3Mac, kVtep3, kVtep2, 5001,
					   vm_ping(kVm1, far, 3, 1), {}));
	ASSERT_EQ(relayed.verdict, XDP_TX);
	// We deliver it and learn its sender's MAC behind .3, its sender...
	EXPECT_EQ(run_xdp(host_->program_fd(Program::xdp_underlay), relayed.out).verdict, XDP_PASS);
	ovx_fdb_key k{};
	k.segment = kBlue;
	std::memcpy(k.mac, far.b, 6);
	const auto learned = host_->tables().fdb.lookup(k);
	ASSERT_TRUE(learned);
	EXPECT_EQ(learned->vtep.a[0], htonl(kVtep3));
	// ...so that vm1's reply goes to .3, not to .2, whose host would drop
	// it (split horizon: a frame from the overlay for a remote MAC).
	const RunResult reply = test_run_tc(*host_, Program::tc_port, packet_ifindex("vm1"),
					    vm_ping(far, kVm1, 1, 3));
	ASSERT_EQ(reply.retval, TC_ACT_REDIRECT);
	ASSERT_GT(reply.out.size(), 34u);
	EXPECT_EQ(outer_dst(reply.out), kVtep3);
}

TEST_F(Relay, NeverBackToTheSender)
{
	EXPECT_EQ(compare(from(kVtep2, kLocalVtep, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2))), XDP_PASS);
}

TEST_F(Relay, OnlyWithinTheSegment)
{
	// red has no entry for kRemoteStatic: the same MAC there is the host's.
	EXPECT_EQ(compare(from(kVtep2, kLocalVtep, 5002, vm_ping(kRemoteStatic, kVm3, 1, 2))), XDP_PASS);
	EXPECT_EQ(compare(from(kVtep3, kLocalVtep, 5001, vm_ping(kVm1, kRemoteStatic, 1, 2))), XDP_PASS);
}

TEST_F(Relay, MutatedFramesNeverDisagree)
{
	std::mt19937 rng(11);
	const Bytes seed = from(kVtep3, kLocalVtep, 5001, vm_ping(kRemoteStatic, kVm2, 1, 2));
	const std::size_t hot[] = {26, 29, 30, 33, 42, 46, 47, 48, 50, 55};
	int relays = 0;
	for (int i = 0; i < 300; i++) {
		Bytes f = seed;
		const std::size_t at = hot[rng() % std::size(hot)];
		f[at] = static_cast<std::uint8_t>(f[at] ^ (1u << (rng() % 8)));
		relays += compare(f) == XDP_TX;
		if (HasFailure())
			FAIL() << "mutation " << i << " disagrees: " << hex(f);
	}
	EXPECT_GT(relays, 0);
}

TEST_F(OffloadVsHost, UnconfiguredOffloadPassesEverything)
{
	OffloadProgram empty = OffloadProgram::load();
	for (const Bytes &f : {from(kVtep2, kLocalVtep, 7777), truncated()}) {
		const XdpRun r = run_xdp(empty.program_fd(), f);
		EXPECT_EQ(r.verdict, XDP_PASS);
		EXPECT_EQ(hex(r.out), hex(f));
	}
}

TEST_F(OffloadVsHost, CountsBytesOfDroppedFrames)
{
	const Bytes f = from(kVtep2, kLocalVtep, 7777);
	ASSERT_EQ(compare(f), XDP_DROP);
	const auto c = offload_->tables().drops.lookup(OVX_DROP_UNKNOWN_VNI);
	ASSERT_TRUE(c);
	EXPECT_EQ(c->packets, 1u);
	EXPECT_EQ(c->bytes, f.size());
}

} // namespace
} // namespace ovx::test

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	if (::testing::GTEST_FLAG(list_tests))
		return RUN_ALL_TESTS(); // discovery at build time: no namespace needed
	try {
		ovx::test::setup_namespace();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "offload_diff_tests: %s\n", e.what());
		return 1;
	}
	return RUN_ALL_TESTS();
}
