#include "tests/bpf/frame_builder.h"

#include <arpa/inet.h>

#include <cstdio>
#include <stdexcept>

namespace ovx::test {
namespace {

void put16(Bytes &b, std::uint16_t v)
{
	b.push_back(static_cast<std::uint8_t>(v >> 8));
	b.push_back(static_cast<std::uint8_t>(v));
}

void put32(Bytes &b, std::uint32_t v)
{
	put16(b, static_cast<std::uint16_t>(v >> 16));
	put16(b, static_cast<std::uint16_t>(v));
}

void put_mac(Bytes &b, MacAddr m)
{
	b.insert(b.end(), m.b, m.b + 6);
}

std::uint16_t csum(const std::uint8_t *p, std::size_t len)
{
	std::uint32_t sum = 0;
	for (std::size_t i = 0; i + 1 < len; i += 2)
		sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += static_cast<std::uint32_t>(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return static_cast<std::uint16_t>(~sum);
}

Bytes concat(Bytes head, const Bytes &tail)
{
	head.insert(head.end(), tail.begin(), tail.end());
	return head;
}

} // namespace

MacAddr mac(const std::string &text)
{
	MacAddr m{};
	unsigned v[6];
	if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
			&v[5]) != 6)
		throw std::invalid_argument("bad MAC " + text);
	for (int i = 0; i < 6; i++)
		m.b[i] = static_cast<std::uint8_t>(v[i]);
	return m;
}

std::uint32_t ipv4(const std::string &text)
{
	in_addr a{};
	if (inet_pton(AF_INET, text.c_str(), &a) != 1)
		throw std::invalid_argument("bad IPv4 " + text);
	return ntohl(a.s_addr);
}

Bytes eth(MacAddr dst, MacAddr src, std::uint16_t proto, const Bytes &payload)
{
	Bytes b;
	put_mac(b, dst);
	put_mac(b, src);
	put16(b, proto);
	return concat(b, payload);
}

Bytes ip4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, const Bytes &payload,
	  Ipv4Opts opts)
{
	Bytes b;
	b.push_back(0x45);
	b.push_back(0);
	put16(b, static_cast<std::uint16_t>(20 + payload.size()));
	put16(b, opts.id);
	put16(b, opts.frag);
	b.push_back(opts.ttl);
	b.push_back(proto);
	put16(b, 0);
	put32(b, src);
	put32(b, dst);
	const std::uint16_t c = csum(b.data(), b.size());
	b[10] = static_cast<std::uint8_t>(c >> 8);
	b[11] = static_cast<std::uint8_t>(c);
	return concat(b, payload);
}

Ip6Addr ipv6(const std::string &text)
{
	Ip6Addr a{};
	if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1)
		throw std::invalid_argument("bad IPv6 " + text);
	return a;
}

Bytes ip6(const Ip6Addr &src, const Ip6Addr &dst, std::uint8_t next, const Bytes &payload)
{
	Bytes b{0x60, 0, 0, 0};
	put16(b, static_cast<std::uint16_t>(payload.size()));
	b.push_back(next);
	b.push_back(64);
	b.insert(b.end(), src.begin(), src.end());
	b.insert(b.end(), dst.begin(), dst.end());
	return concat(b, payload);
}

Bytes geneve(std::uint32_t vni, const Bytes &inner, const Bytes &options, std::uint8_t flags,
	     std::uint16_t proto)
{
	Bytes b;
	b.push_back(static_cast<std::uint8_t>(options.size() / 4));
	b.push_back(flags);
	put16(b, proto);
	put32(b, vni << 8);
	return concat(concat(b, options), inner);
}

Bytes nvgre(std::uint32_t vsid, std::uint8_t flow_id, const Bytes &inner, std::uint16_t flags,
	    std::uint16_t proto)
{
	Bytes b;
	put16(b, flags);
	put16(b, proto);
	put32(b, vsid << 8 | flow_id);
	return concat(b, inner);
}

Bytes stt_segment(std::uint16_t sport, std::uint16_t frame_len, std::uint16_t offset,
		  std::uint32_t frame_id, const Bytes &chunk)
{
	Bytes b;
	put16(b, sport);
	put16(b, 7471);
	put16(b, frame_len);
	put16(b, offset);
	put32(b, frame_id);
	b.push_back(5 << 4);	// data offset: 20 bytes
	b.push_back(0x18);	// ACK | PSH
	put16(b, 0xffff);	// window
	put16(b, 0);		// checksum
	put16(b, 0);		// urgent pointer
	return concat(b, chunk);
}

Bytes stt_frame(std::uint64_t context_id, const Bytes &inner, std::uint8_t version)
{
	Bytes b{version, 0, 0, 0, 0, 0, 0, 0};
	put32(b, static_cast<std::uint32_t>(context_id >> 32));
	put32(b, static_cast<std::uint32_t>(context_id));
	put16(b, 0);
	return concat(b, inner);
}

std::size_t outer_ip_len(int family)
{
	return family == AF_INET6 ? 40 : 20;
}

Bytes ip_frame(const Outer &o, std::uint8_t proto, const Bytes &l4)
{
	// STT's TCP-like header gets a real checksum (RFC 9293 3.1): the
	// pseudo-header of the outer addresses, the header, the payload.
	Bytes seg = l4;
	if (proto == 6 && seg.size() >= 20) {
		const std::size_t alen = o.family == AF_INET6 ? 16 : 4;
		Bytes pseudo(o.src.begin(), o.src.begin() + static_cast<long>(alen));
		pseudo.insert(pseudo.end(), o.dst.begin(), o.dst.begin() + static_cast<long>(alen));
		put32(pseudo, static_cast<std::uint32_t>(seg.size()));
		put32(pseudo, proto);
		seg[16] = seg[17] = 0;
		const Bytes all = concat(pseudo, seg);
		const std::uint16_t c = csum(all.data(), all.size());
		seg[16] = static_cast<std::uint8_t>(c >> 8);
		seg[17] = static_cast<std::uint8_t>(c);
	}
	if (o.family == AF_INET6)
		return eth(o.dst_mac, o.src_mac, kEthIp6, ip6(o.src, o.dst, proto, seg));
	const auto v4 = [](const Ip6Addr &a) {
		return static_cast<std::uint32_t>(a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]);
	};
	return eth(o.dst_mac, o.src_mac, kEthIp, ip4(v4(o.src), v4(o.dst), proto, seg));
}

Bytes tunnel_frame(const Outer &o, Encap encap, std::uint64_t id, const Bytes &inner)
{
	const auto vni = static_cast<std::uint32_t>(id);
	switch (encap) {
	case Encap::vxlan:
		return ip_frame(o, 17, udp(o.entropy, 4789, vxlan(vni, inner)));
	case Encap::geneve:
		return ip_frame(o, 17, udp(o.entropy, 6081, geneve(vni, inner)));
	case Encap::nvgre:
		return ip_frame(o, 47, nvgre(vni, static_cast<std::uint8_t>(o.entropy), inner));
	case Encap::stt: {
		const Bytes frame = stt_frame(id, inner);
		return ip_frame(o, 6,
				stt_segment(o.entropy, static_cast<std::uint16_t>(frame.size()), 0,
					    o.stt_frame_id, frame));
	}
	}
	throw std::invalid_argument("unknown encapsulation");
}

Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes &payload)
{
	Bytes b;
	put16(b, sport);
	put16(b, dport);
	put16(b, static_cast<std::uint16_t>(8 + payload.size()));
	put16(b, 0);
	return concat(b, payload);
}

Bytes vxlan(std::uint32_t vni, const Bytes &inner, std::uint32_t flags)
{
	Bytes b;
	put32(b, flags);
	put32(b, vni << 8);
	return concat(b, inner);
}

Bytes icmp_echo(std::uint16_t id, std::uint16_t seq, std::size_t payload_len)
{
	Bytes b{8, 0, 0, 0};
	put16(b, id);
	put16(b, seq);
	for (std::size_t i = 0; i < payload_len; i++)
		b.push_back(static_cast<std::uint8_t>(i));
	const std::uint16_t c = csum(b.data(), b.size());
	b[2] = static_cast<std::uint8_t>(c >> 8);
	b[3] = static_cast<std::uint8_t>(c);
	return b;
}

Bytes arp_request(MacAddr sha, std::uint32_t spa, std::uint32_t tpa)
{
	Bytes b;
	put16(b, 1);	  // Ethernet
	put16(b, kEthIp); // IPv4
	b.push_back(6);
	b.push_back(4);
	put16(b, 1); // request
	put_mac(b, sha);
	put32(b, spa);
	put_mac(b, MacAddr{});
	put32(b, tpa);
	return b;
}

Bytes vm_ping(MacAddr dst, MacAddr src, std::uint32_t sip, std::uint32_t dip,
	      std::size_t payload_len)
{
	return eth(dst, src, kEthIp, ip4(sip, dip, 1, icmp_echo(0x77, 1, payload_len)));
}

Bytes vxlan_frame(const Underlay &u, std::uint32_t vni, const Bytes &inner)
{
	return eth(u.dst_mac, u.src_mac, kEthIp,
		   ip4(u.src_ip, u.dst_ip, 17, udp(u.sport, u.dport, vxlan(vni, inner))));
}

std::string hex(const Bytes &b)
{
	std::string out;
	char buf[4];
	for (std::size_t i = 0; i < b.size(); i++) {
		std::snprintf(buf, sizeof(buf), "%02x", b[i]);
		out += buf;
		if (i % 16 == 15)
			out += '\n';
		else if (i + 1 < b.size())
			out += ' ';
	}
	return out;
}

} // namespace ovx::test
