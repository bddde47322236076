// Builds the frames the packet tests feed in and expect out: one small
// builder, so every test states its frames in the same words.
#pragma once

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

Bytes eth(MacAddr dst, MacAddr src, std::uint16_t proto, const Bytes &payload);

struct Ipv4Opts {
	std::uint8_t ttl = 64;
	std::uint16_t frag = 0x4000; // DF
	std::uint16_t id = 0;
};
// A valid IPv4 header (checksum filled in) in front of @payload.
Bytes ip4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, const Bytes &payload,
	  Ipv4Opts opts = {});
Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes &payload); // checksum 0
Bytes vxlan(std::uint32_t vni, const Bytes &inner, std::uint32_t flags = 0x08000000);
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

} // namespace ovx::test
