// A small-packet generator for the end-to-end benchmark: one UDP/IPv4 flow of
// fixed-size Ethernet frames, sent from inside a VM namespace through an
// AF_PACKET socket with PACKET_QDISC_BYPASS, sendmmsg() batches of 256.
//
// Why not iperf3 -u: each datagram is a sendmsg() through the UDP stack, which
// tops out near 70 kpps here. Why not xdp-trafficgen (Debian's xdp-tools
// 1.3.1): its BPF object attaches to the xdp_redirect_map_err tracepoint,
// which kernel 6.18 no longer has, so it fails to load. AF_PACKET with the
// qdisc bypassed hands each frame straight to the device's ndo_start_xmit,
// without the UDP/IP stack; on a veth that is a few hundred ns per frame.
//
// The loop is closed: a frame holds its share of the socket's send buffer
// until the receiver frees it, so with the default buffer (212,992 bytes, a
// few hundred 64-byte frames) the generator waits whenever that many are in
// flight. That is fewer than any queue on the path holds (a CPU's backlog
// takes 1,000), so no frame is lost half way and the rate is the path's.
// A larger buffer (SO_SNDBUFFORCE) only overruns those queues: frames are
// then dropped after the first host has spent its work on them, and fewer
// arrive (measured: 5-8x the buffer, a half to a third of the rate).
//
// Prints one line, key=value: frames handed to the device (sent), frames
// the device refused (ENOBUFS: dropped at the sender), the seconds and the
// send rate. Exit 1 on bad arguments, 2 when the kernel refuses, or when not
// a single frame could be sent.
#include <arpa/inet.h>
#include <netinet/ether.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "maps/error.h"
#include "maps/unique_fd.h"

using namespace ovx;

namespace {

constexpr unsigned kBatch = 256;
constexpr std::size_t kHeaders = sizeof(ether_header) + sizeof(iphdr) + sizeof(udphdr);

struct Options {
	std::string iface = "eth0";
	std::string dst_mac;
	std::string src_ip, dst_ip;
	unsigned size = 64;     // Ethernet frame as the interfaces count it (no FCS)
	double seconds = 5;
	unsigned long count = 0; // stop after this many frames (0: after @seconds)
	unsigned dport = 9;     // discard
};

std::uint16_t ip_checksum(const void *data, std::size_t len)
{
	const auto *p = static_cast<const std::uint8_t *>(data);
	std::uint32_t sum = 0;
	for (std::size_t i = 0; i + 1 < len; i += 2)
		sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(static_cast<std::uint16_t>(~sum));
}

in_addr parse_ip(const std::string &s, const char *what)
{
	in_addr a{};
	if (inet_pton(AF_INET, s.c_str(), &a) != 1)
		throw ConfigError(std::string(what) + ": not an IPv4 address: " + s);
	return a;
}

// The frame: the interface's own MAC as the source, UDP checksum 0 (allowed
// over IPv4), zero payload.
std::vector<std::uint8_t> build_frame(const Options &o, const ether_addr &src_mac)
{
	const ether_addr *dst = ether_aton(o.dst_mac.c_str());
	if (!dst)
		throw ConfigError("--dst-mac: not a MAC address: " + o.dst_mac);
	std::vector<std::uint8_t> f(o.size, 0);
	auto *eth = reinterpret_cast<ether_header *>(f.data());
	std::memcpy(eth->ether_dhost, dst, ETH_ALEN);
	std::memcpy(eth->ether_shost, &src_mac, ETH_ALEN);
	eth->ether_type = htons(ETHERTYPE_IP);
	auto *ip = reinterpret_cast<iphdr *>(eth + 1);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(static_cast<std::uint16_t>(o.size - sizeof(ether_header)));
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = parse_ip(o.src_ip, "--src-ip").s_addr;
	ip->daddr = parse_ip(o.dst_ip, "--dst-ip").s_addr;
	ip->check = ip_checksum(ip, sizeof(*ip));
	auto *udp = reinterpret_cast<udphdr *>(ip + 1);
	udp->source = htons(40000);
	udp->dest = htons(static_cast<std::uint16_t>(o.dport));
	udp->len = htons(static_cast<std::uint16_t>(o.size - sizeof(ether_header) - sizeof(iphdr)));
	return f;
}

struct Result {
	unsigned long sent = 0, dropped = 0;
	double seconds = 0;
};

Result run(const Options &o)
{
	UniqueFd fd(socket(AF_PACKET, SOCK_RAW, 0)); // protocol 0: receives nothing
	if (!fd)
		throw SystemError("AF_PACKET socket", errno);
	const unsigned ifindex = if_nametoindex(o.iface.c_str());
	if (!ifindex)
		throw SystemError("interface " + o.iface, errno);
	int one = 1;
	if (setsockopt(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0)
		throw SystemError("PACKET_QDISC_BYPASS on " + o.iface, errno);
	ifreq ifr{};
	std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o.iface.c_str());
	if (ioctl(fd.get(), SIOCGIFHWADDR, &ifr) != 0)
		throw SystemError("MAC address of " + o.iface, errno);
	ether_addr src_mac;
	std::memcpy(&src_mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	std::vector<std::uint8_t> frame = build_frame(o, src_mac);

	sockaddr_ll to{};
	to.sll_family = AF_PACKET;
	to.sll_protocol = htons(ETH_P_IP);
	to.sll_ifindex = static_cast<int>(ifindex);
	iovec iov{frame.data(), frame.size()};
	std::vector<mmsghdr> msgs(kBatch);
	for (mmsghdr &m : msgs) {
		m.msg_hdr.msg_name = &to;
		m.msg_hdr.msg_namelen = sizeof(to);
		m.msg_hdr.msg_iov = &iov;
		m.msg_hdr.msg_iovlen = 1;
	}

	using clock = std::chrono::steady_clock;
	const auto start = clock::now();
	const auto deadline = start + std::chrono::duration<double>(o.seconds);
	Result r;
	for (auto now = start; now < deadline; now = clock::now()) {
		unsigned long left = o.count ? o.count - r.sent : kBatch;
		if (o.count && left == 0)
			break;
		const unsigned n = left < kBatch ? static_cast<unsigned>(left) : kBatch;
		int done = sendmmsg(fd.get(), msgs.data(), n, 0);
		if (done < 0) {
			// The device's queue was full (a veth's ring): this frame is lost
			// at the sender, which the report shows as dropped.
			if (errno != ENOBUFS && errno != EAGAIN)
				throw SystemError("sendmmsg on " + o.iface, errno);
			r.dropped++;
			continue;
		}
		r.sent += static_cast<unsigned long>(done);
	}
	r.seconds = std::chrono::duration<double>(clock::now() - start).count();
	return r;
}

} // namespace

int main(int argc, char **argv)
{
	Options o;
	CLI::App app{"ovx benchmark: UDP/IPv4 small-frame generator (AF_PACKET)"};
	app.add_option("--iface", o.iface, "interface to send on")->capture_default_str();
	app.add_option("--dst-mac", o.dst_mac, "destination MAC")->required();
	app.add_option("--src-ip", o.src_ip, "source IPv4 address")->required();
	app.add_option("--dst-ip", o.dst_ip, "destination IPv4 address")->required();
	app.add_option("--dport", o.dport, "destination UDP port")->capture_default_str();
	app.add_option("--size", o.size, "frame size in bytes, without FCS")
		->check(CLI::Range(static_cast<unsigned>(kHeaders), 1514u))
		->capture_default_str();
	app.add_option("--seconds", o.seconds, "send for this long")->capture_default_str();
	app.add_option("--count", o.count, "stop after this many frames (0: no limit)");
	CLI11_PARSE(app, argc, argv);
	try {
		Result r = run(o);
		std::printf("sent=%lu dropped=%lu seconds=%.3f pps=%.0f\n", r.sent, r.dropped,
			    r.seconds, r.sent / r.seconds);
		if (r.sent == 0) {
			std::fprintf(stderr, "pps_gen: %s took no frame\n", o.iface.c_str());
			return kExitSystem;
		}
	} catch (const ConfigError &e) {
		std::fprintf(stderr, "pps_gen: %s\n", e.what());
		return kExitInvalid;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "pps_gen: %s\n", e.what());
		return kExitSystem;
	}
	return kExitOk;
}
