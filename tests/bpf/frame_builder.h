// Builds the frames the packet tests feed in and expect out: one small
// builder, so every test states its frames in the same words.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ovx::test {

using Bytes = std::vector<std::uint8_t>;

struct MacAddr {
	std::uint8_t b[6];
};

MacAddr mac(const std::string &text);
std::uint32_t ipv4(const std::string &text); // host order

inline constexpr std::uint16_t kEthIp = 0x0800;
inline constexpr std::uint16_t kEthArp = 0x0806;
inline constexpr std::uint16_t kEthIp6 = 0x86dd;
inline constexpr std::uint16_t kEthTeb = 0x6558; // transparent Ethernet bridging

using Ip6Addr = std::array<std::uint8_t, 16>;
Ip6Addr ipv6(const std::string &text);

Bytes eth(MacAddr dst, MacAddr src, std::uint16_t proto, const Bytes &payload);

struct Ipv4Opts {
	std::uint8_t ttl = 64;
	std::uint16_t frag = 0x4000; // DF
	std::uint16_t id = 0;
};
// A valid IPv4 header (checksum filled in) in front of @payload.
Bytes ip4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, const Bytes &payload,
	  Ipv4Opts opts = {});
// IPv6 without extension headers, hop limit 64.
Bytes ip6(const Ip6Addr &src, const Ip6Addr &dst, std::uint8_t next, const Bytes &payload);
Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes &payload); // checksum 0
Bytes vxlan(std::uint32_t vni, const Bytes &inner, std::uint32_t flags = 0x08000000);
// Geneve (RFC 8926): @options are whole 4-byte words, @flags the O/C byte.
Bytes geneve(std::uint32_t vni, const Bytes &inner, const Bytes &options = {},
	     std::uint8_t flags = 0, std::uint16_t proto = kEthTeb);
// NVGRE (RFC 7637): GRE with the key bit, key = VSID << 8 | FlowID.
Bytes nvgre(std::uint32_t vsid, std::uint8_t flow_id, const Bytes &inner,
	    std::uint16_t flags = 0x2000, std::uint16_t proto = kEthTeb);
// One STT segment: the TCP-like header (ACK|PSH, window 65535, checksum 0)
// whose sequence number is the frame's length and this segment's offset.
Bytes stt_segment(std::uint16_t sport, std::uint16_t frame_len, std::uint16_t offset,
		  std::uint32_t frame_id, const Bytes &chunk);
// An STT frame: the 18-byte STT header (version 0, no offloads) + @inner.
Bytes stt_frame(std::uint64_t context_id, const Bytes &inner, std::uint8_t version = 0);
Bytes icmp_echo(std::uint16_t id, std::uint16_t seq, std::size_t payload_len = 32);
Bytes arp_request(MacAddr sha, std::uint32_t spa, std::uint32_t tpa);

// A VM's frame: Ethernet + IPv4 + ICMP echo of @payload_len bytes.
Bytes vm_ping(MacAddr dst, MacAddr src, std::uint32_t sip, std::uint32_t dip,
	      std::size_t payload_len = 32);

// The frame a VTEP puts on the underlay for @inner (VXLAN over IPv4).
struct Underlay {
	MacAddr dst_mac, src_mac;
	std::uint32_t src_ip, dst_ip;
	std::uint16_t sport = 0xc000;
	std::uint16_t dport = 4789;
};
Bytes vxlan_frame(const Underlay &u, std::uint32_t vni, const Bytes &inner);

std::string hex(const Bytes &b);

// Frames between VTEPs in any of ovx's encapsulations and underlay families.
enum class Encap { vxlan, geneve, nvgre, stt };
struct Outer {
	MacAddr dst_mac, src_mac;
	int family; // AF_INET or AF_INET6
	Ip6Addr src, dst; // IPv4 in the first four bytes
	std::uint16_t entropy = 0xc000; // UDP/TCP source port, or NVGRE FlowID
	std::uint32_t stt_frame_id = 0;
};
Bytes tunnel_frame(const Outer &o, Encap encap, std::uint64_t id, const Bytes &inner);
Bytes ip_frame(const Outer &o, std::uint8_t proto, const Bytes &l4);
std::size_t outer_ip_len(int family);

} // namespace ovx::test
