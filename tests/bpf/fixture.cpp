#include "tests/bpf/fixture.h"

#include "maps/stats.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>


namespace ovx::test {

int DatapathTest::ifindex(const std::string &name)
{
	return packet_ifindex(name);
}

void DatapathTest::SetUp()
{
	dp_ = Dataplane::load_unpinned(4096);
	apply_packet_config(*dp_);

	for (const char *peer : {"ul0p", "vm1p", "vm2p", "vm3p"}) {
		int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
		ASSERT_GE(fd, 0) << std::strerror(errno);
		sockaddr_ll sll{};
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_ALL);
		sll.sll_ifindex = ifindex(peer);
		ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&sll), sizeof(sll)), 0);
		const int on = 1;
		ASSERT_EQ(setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on)), 0);
		captures_[std::string(peer, std::strlen(peer) - 1)] = UniqueFd(fd);
	}
}

RunResult DatapathTest::run_xdp(const Bytes &frame)
{
	return test_run_xdp(*dp_, frame);
}

RunResult DatapathTest::run_tc(Program program, const std::string &ingress, const Bytes &frame,
			       const SkbMeta &meta)
{
	return test_run_tc(*dp_, program, ifindex(ingress), frame, meta);
}

ovx_seg_stats DatapathTest::stats(std::uint32_t segment)
{
	return sum_per_cpu(dp_->tables().seg_stats.lookup(segment));
}

ovx_port_stats DatapathTest::port_stats(const std::string &name)
{
	return sum_per_cpu(dp_->tables().port_stats_of(static_cast<std::uint32_t>(ifindex(name))));
}

namespace {
ovx_fdb_key fdb_key(std::uint32_t segment, MacAddr m)
{
	ovx_fdb_key key{};
	key.segment = segment;
	std::memcpy(key.mac, m.b, 6);
	return key;
}
} // namespace

std::optional<ovx_fdb_entry> DatapathTest::fdb(std::uint32_t segment, MacAddr m)
{
	return dp_->tables().fdb.lookup(fdb_key(segment, m));
}

void DatapathTest::put_fdb(std::uint32_t segment, MacAddr m, const ovx_fdb_entry &e)
{
	dp_->tables().fdb.update(fdb_key(segment, m), e);
}

void DatapathTest::erase_fdb(std::uint32_t segment, MacAddr m)
{
	dp_->tables().fdb.erase(fdb_key(segment, m));
}

std::vector<Bytes> DatapathTest::captured(const std::string &ifname)
{
	std::vector<Bytes> frames;
	const int fd = captures_.at(ifname).get();
	pollfd p{fd, POLLIN, 0};
	// Clones are sent synchronously; a short wait covers the veth hop.
	while (poll(&p, 1, 50) > 0) {
		Bytes buf(9000);
		alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
		iovec iov{buf.data(), buf.size()};
		msghdr msg{};
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		ssize_t n = recvmsg(fd, &msg, 0);
		if (n <= 0)
			break;
		buf.resize(static_cast<std::size_t>(n));
		// The kernel's own IPv6 housekeeping on the underlay (MLD reports
		// to 33:33:..): ovx never sends to IPv6 multicast MACs.
		if (n >= 2 && buf[0] == 0x33 && buf[1] == 0x33)
			continue;
		// A VLAN tag the kernel carried beside the frame was on the wire:
		// put it back where it was, after the MACs (as libpcap does).
		for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			tpacket_auxdata aux;
			std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || buf.size() < 12)
				continue;
			const std::uint16_t tpid =
				aux.tp_status & TP_STATUS_VLAN_TPID_VALID ? aux.tp_vlan_tpid : 0x8100;
			const std::uint8_t tag[4] = {
				static_cast<std::uint8_t>(tpid >> 8), static_cast<std::uint8_t>(tpid),
				static_cast<std::uint8_t>(aux.tp_vlan_tci >> 8),
				static_cast<std::uint8_t>(aux.tp_vlan_tci)};
			buf.insert(buf.begin() + 12, tag, tag + 4);
		}
		frames.push_back(std::move(buf));
	}
	return frames;
}

void DatapathTest::send_from_peer(const std::string &ifname, const Bytes &frame)
{
	const ssize_t n = send(captures_.at(ifname).get(), frame.data(), frame.size(), 0);
	ASSERT_EQ(n, static_cast<ssize_t>(frame.size())) << std::strerror(errno);
}

void DatapathTest::attach_underlay()
{
	const int ul0 = ifindex("ul0");
	ASSERT_EQ(bpf_xdp_attach(ul0, dp_->program_fd(Program::xdp_underlay), XDP_FLAGS_DRV_MODE,
				 nullptr),
		  0)
		<< std::strerror(errno);
	dp_->attach_tc(ul0, Program::tc_underlay);
}

void DatapathTest::detach_underlay()
{
	const int ul0 = ifindex("ul0");
	dp_->detach_tc(ul0);
	bpf_xdp_detach(ul0, XDP_FLAGS_DRV_MODE, nullptr);
}

Underlay DatapathTest::to_vtep(std::uint32_t dst, std::uint16_t sport) const
{
	return Underlay{.dst_mac = dst == kVtep2 ? kVtep2Mac : kVtep3Mac,
			.src_mac = kUnderlayMac,
			.src_ip = kLocalVtep,
			.dst_ip = dst,
			.sport = sport};
}

} // namespace ovx::test

int main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);
	if (::testing::GTEST_FLAG(list_tests))
		return RUN_ALL_TESTS(); // test discovery at build time: no namespace needed
	try {
		ovx::test::setup_namespace();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "bpf_tests: %s\n", e.what());
		return 1;
	}
	return RUN_ALL_TESTS();
}
