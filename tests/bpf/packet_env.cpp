#include "tests/bpf/packet_env.h"

#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "agent/apply.h"
#include "agent/config.h"
#include "agent/desired.h"
#include "agent/nexthops.h"
#include "agent/reconcile.h"
#include "maps/error.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "maps/ovx_abi.h"

namespace ovx::test {
namespace {

const char *const kConfig = R"(
underlay: {interface: ul0, address: 192.168.77.1}
segments:
  - name: blue
    tenant: blue
    id: 5001
    aging: 300
    flood: [192.168.77.2, 192.168.77.3]
    ports:
      - {interface: vm1, mac: "02:00:00:00:01:01"}
      - {interface: vm2, mac: "02:00:00:00:01:02"}
    remotes:
      - {mac: "02:00:00:00:02:01", vtep: 192.168.77.2}
  - name: red
    tenant: red
    id: 5002
    flood: [192.168.77.2]
    ports:
      - {interface: vm3, mac: "02:00:00:00:01:01"}
)";

void sh(const std::string &cmd)
{
	if (std::system(cmd.c_str()) != 0)
		throw std::runtime_error("setup command failed: " + cmd);
}

} // namespace

void setup_namespace()
{
	if (unshare(CLONE_NEWNET))
		throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") +
					 std::strerror(errno) + " (the bpf tests need root)");
	sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
	sh("ip link set lo up");
	sh("ip link add ul0 address 02:aa:00:00:00:01 type veth peer name ul0p "
	   "address 02:aa:00:00:00:02");
	sh("ip addr add 192.168.77.1/24 dev ul0");
	for (const char *vm : {"vm1", "vm2", "vm3"})
		sh(std::string("ip link add ") + vm + " type veth peer name " + vm + "p");
	for (const char *dev : {"ul0", "ul0p", "vm1", "vm1p", "vm2", "vm2p", "vm3", "vm3p"})
		sh(std::string("ip link set ") + dev + " up");
	// vm1's VM takes jumbo frames (STT carries them), vm2's and vm3's not.
	sh("ip link set vm1 mtu 4000");
	sh("ip link set vm1p mtu 4000");
	sh("ip neigh add 192.168.77.2 lladdr 02:bb:00:00:00:02 dev ul0 nud permanent");
	sh("ip neigh add 192.168.77.3 lladdr 02:bb:00:00:00:03 dev ul0 nud permanent");
	// The VTEPs of long flood lists (flood_config_text()), beyond a router at .2.
	sh("ip route add 198.18.0.0/16 via 192.168.77.2 dev ul0");
	sh("sysctl -qw net.ipv4.conf.ul0.forwarding=1");
	// IPv6 on the underlay only, and quiet: no multicast (MLD, router
	// solicitations) and no DAD, so that the captures see only ovx's frames,
	// and the link-local address is whole at once: its route, which DAD
	// would bring a second or two later, would wake the next-hop watch of
	// a test already running.
	sh("ip link set ul0 multicast off");
	sh("sysctl -qw net.ipv6.conf.ul0.accept_dad=0 net.ipv6.conf.ul0.disable_ipv6=0 "
	   "net.ipv6.conf.ul0.forwarding=1");
	sh("ip addr add fd00:77::1/64 dev ul0 nodad");
	sh("ip neigh add fd00:77::2 lladdr 02:bb:00:00:00:02 dev ul0 nud permanent");
	sh("ip neigh add fd00:77::3 lladdr 02:bb:00:00:00:03 dev ul0 nud permanent");
}

const char *packet_config_text()
{
	return kConfig;
}

int packet_ifindex(const std::string &name)
{
	int i = static_cast<int>(if_nametoindex(name.c_str()));
	if (!i)
		throw std::runtime_error("no interface " + name);
	return i;
}

RunResult test_run_xdp(const Dataplane &dp, const Bytes &frame)
{
	RunResult r;
	r.out.resize(frame.size() + 256);
	xdp_md ctx{};
	ctx.data_end = static_cast<__u32>(frame.size());
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
		    .data_out = r.out.data(), .data_size_in = static_cast<__u32>(frame.size()),
		    .data_size_out = static_cast<__u32>(r.out.size()), .ctx_in = &ctx,
		    .ctx_out = &ctx, .ctx_size_in = sizeof(ctx), .ctx_size_out = sizeof(ctx),
		    .repeat = 1);
	if (bpf_prog_test_run_opts(dp.program_fd(Program::xdp_underlay), &opts))
		throw SystemError("BPF_PROG_TEST_RUN of xdp_underlay", errno);
	r.retval = static_cast<int>(opts.retval);
	r.out.resize(opts.data_size_out);
	r.out.erase(r.out.begin(), r.out.begin() + ctx.data);
	return r;
}

RunResult test_run_tc(const Dataplane &dp, Program program, int ingress_ifindex,
		      const Bytes &frame, const SkbMeta &meta)
{
	RunResult r;
	// Room for what a program may build: a whole reassembled STT frame.
	r.out.resize(frame.size() + 65536);
	__sk_buff skb{}, skb_out{};
	skb.ifindex = static_cast<__u32>(ingress_ifindex);
	skb.mark = meta.mark;
	skb.gso_size = meta.gso_size;
	skb.gso_segs = meta.gso_segs;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
		    .data_out = r.out.data(), .data_size_in = static_cast<__u32>(frame.size()),
		    .data_size_out = static_cast<__u32>(r.out.size()), .ctx_in = &skb,
		    .ctx_out = &skb_out, .ctx_size_in = sizeof(skb),
		    .ctx_size_out = sizeof(skb_out), .repeat = 1);
	if (bpf_prog_test_run_opts(dp.program_fd(program), &opts))
		throw SystemError("BPF_PROG_TEST_RUN of a TC program", errno);
	r.retval = static_cast<int>(opts.retval);
	r.out.resize(opts.data_size_out);
	r.mark = skb_out.mark;
	return r;
}

void apply_packet_config(Dataplane &dp)
{
	apply_config_text(dp, kConfig);
}

std::uint32_t flood_vtep(std::uint32_t i)
{
	return ipv4("198.18.0.0") + (i / 250) * 256 + i % 250 + 1;
}

std::string flood_config_text(std::uint32_t n)
{
	std::string list;
	for (std::uint32_t i = 0; i < n; i++) {
		const std::uint32_t a = flood_vtep(i);
		list += (i ? ", " : "") + std::to_string(a >> 24) + "." +
			std::to_string(a >> 16 & 0xff) + "." + std::to_string(a >> 8 & 0xff) + "." +
			std::to_string(a & 0xff);
	}
	std::string yaml = kConfig;
	const std::string two = "flood: [192.168.77.2, 192.168.77.3]";
	yaml.replace(yaml.find(two), two.size(), "flood: [" + list + "]");
	return yaml;
}

std::string encap_config_text(const char *encap, std::uint64_t blue_id, int family)
{
	const bool v6 = family == AF_INET6;
	const char *v2 = v6 ? "\"fd00:77::2\"" : "192.168.77.2";
	const char *v3 = v6 ? "\"fd00:77::3\"" : "192.168.77.3";
	char yaml[1024];
	std::snprintf(yaml, sizeof(yaml), R"(
underlay: {interface: ul0, address: [192.168.77.1, "fd00:77::1"]}
segments:
  - name: blue
    tenant: blue
    encap: %s
    id: %llu
    flood: [%s, %s]
    ports:
      - {interface: vm1, mac: "02:00:00:00:01:01"}
      - {interface: vm2, mac: "02:00:00:00:01:02"}
    remotes:
      - {mac: "02:00:00:00:02:01", vtep: %s}
  - name: red
    tenant: red
    encap: %s
    id: 6001
    flood: [%s]
    ports: [{interface: vm3, mac: "02:00:00:00:01:01"}]
)",
		      encap, static_cast<unsigned long long>(blue_id), v2, v3, v2, encap, v2);
	return yaml;
}

void apply_config_text(Dataplane &dp, const std::string &yaml,
		       const std::optional<Segmenter> &segmenter)
{
	Config config = parse_config(yaml, "packet_env.yaml");
	config.limits.fdb_entries = dp.tables().fdb.max_entries(); // as `ovx apply` makes it
	Resolved r{.underlay_ifindex = packet_ifindex("ul0"), .underlay_mtu = 1500, .port_ifindex = {}};
	for (const Segment &s : config.segments)
		for (const Port &p : s.ports)
			r.port_ifindex[p.interface] = packet_ifindex(p.interface);
	// Ports keep their indexes, as `ovx apply` keeps them.
	DesiredState want = build_desired(config, r, {}, {}, port_indexes(dp.tables().ports.dump()));
	want.config.cookie[0] = kCookie[0];
	want.config.cookie[1] = kCookie[1];
	if (segmenter)
		use_segmenter(want, *segmenter);
	reconcile(dp.tables(), want, monotonic_ns());
	refresh_nexthops(dp.tables(), monotonic_ns()); // as `ovx apply` does after its commit
}

Bytes decapsulated(const Bytes &inner, std::uint32_t segment, std::uint32_t ifindex,
		   std::uint16_t port, const std::uint32_t (&cookie)[2])
{
	ovx_rx_shim shim{};
	shim.ver_ihl = 0x45;
	shim.protocol = OVX_HIDDEN_IPPROTO;
	shim.cookie[0] = cookie[0];
	shim.cookie[1] = cookie[1];
	shim.segment = segment;
	shim.ifindex = ifindex;
	shim.port = port;
	Bytes payload(sizeof(shim) + inner.size());
	std::memcpy(payload.data(), &shim, sizeof(shim));
	std::copy(inner.begin(), inner.end(), payload.begin() + sizeof(shim));
	return eth(mac("01:80:c2:00:00:01"), mac("00:00:00:00:00:00"), kEthIp, payload);
}

} // namespace ovx::test
