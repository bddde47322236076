// libFuzzer: the receive and send programs (xdp_underlay then tc_underlay;
// tc_port) through BPF_PROG_TEST_RUN, on the packet environment of the
// packet tests (tests/bpf/packet_env.h) with a configuration of its own:
// two tenants whose MACs overlap, each with segments in VXLAN, Geneve and
// STT, one in NVGRE, over IPv4 and IPv6.
//
// Input: one byte that picks the path, then up to kMaxFrames frames, each
// behind its length (2 bytes, big endian; the last takes what remains):
//   byte % 4 == 0 or 3: receive, XDP then TC on what XDP passed on;
//   byte % 4 == 1:      receive in TC alone (mode tc, whole frames);
//   byte % 4 == 2:      send, from the port (byte / 4) % ports.
// Several frames reach STT reassembly. After every frame, the invariants a
// tenant boundary needs (violate(): abort, a libFuzzer crash):
//   - nothing is delivered, learned or counted in a segment other than the
//     one the frame's (encapsulation, id) names (STT: its first segment's);
//     on the send side, nothing leaves a port's segment, and what is
//     encapsulated carries that segment's encapsulation and id, from this
//     VTEP to a VTEP of the segment;
//   - every frame ovx takes is counted once: rx into one segment or one
//     drop under one reason (an STT segment held for reassembly: nothing,
//     until its frame completes); what it does not take is untouched and
//     counted nowhere; a frame XDP decapsulated never goes to the host;
//   - deliveries add up: a unicast is one port's tx, a flood as many port
//     tx as flood copies, all in the segment; a send is a local copy, an
//     encapsulated copy or a drop.
// The kernel's coverage is invisible to libFuzzer: each frame's outcome
// (path, encapsulation, verdicts, drop reason, kind of delivery) is a
// feature of its own in libFuzzer's extra counters.
//
// LLVMFuzzerCustomMutator keeps most mutants' outer lengths and IPv4
// checksums right, so that they get past the first checks.
// OVX_BPF_FUZZ_SEEDS=DIR writes the seed corpus (tests/fuzz/corpus/bpf).
// Needs root: it makes its network namespace and loads the programs.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/inspect.h"
#include "maps/stats.h"
#include "tests/bpf/packet_env.h"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t *data, std::size_t size, std::size_t max_size);

namespace ovx::test {
namespace {

constexpr std::size_t kMaxFrames = 4;
// BPF_PROG_TEST_RUN takes a frame in one page (headroom and skb_shared_info
// aside); longer ones are not run.
constexpr std::size_t kMaxFrame = 3400;
// Its minimum for TC: an Ethernet header and room for an IPv6 header (it
// refuses IP frames shorter than their ethertype's header).
constexpr std::size_t kMinTc = 14 + 40;

// vm1..vm3 come from setup_namespace(); vm4..vm8 are made here.
const char *const kConfig = R"(
underlay: {interface: ul0, address: [192.168.77.1, "fd00:77::1"]}
segments:
  - {name: blue-vx, tenant: blue, encap: vxlan, id: 5001, flood: [192.168.77.2, 192.168.77.3],
     ports: [{interface: vm1, mac: "02:00:00:00:01:01"}, {interface: vm2, mac: "02:00:00:00:01:02"}],
     remotes: [{mac: "02:00:00:00:02:01", vtep: 192.168.77.2}]}
  - {name: red-vx, tenant: red, encap: vxlan, id: 5002, flood: [192.168.77.2],
     ports: [{interface: vm3, mac: "02:00:00:00:01:01"}]}
  - {name: blue-gn, tenant: blue, encap: geneve, id: 5002, flood: ["fd00:77::2", "fd00:77::3"],
     ports: [{interface: vm4, mac: "02:00:00:00:01:01"}],
     remotes: [{mac: "02:00:00:00:02:01", vtep: "fd00:77::3"}]}
  - {name: red-gn, tenant: red, encap: geneve, id: 5001, flood: ["fd00:77::2"],
     ports: [{interface: vm5, mac: "02:00:00:00:01:02"}]}
  - {name: red-nv, tenant: red, encap: nvgre, id: 5001, flood: [192.168.77.3],
     ports: [{interface: vm6, mac: "02:00:00:00:01:01"}]}
  - {name: blue-stt, tenant: blue, encap: stt, id: 5001, flood: [192.168.77.2, 192.168.77.3],
     ports: [{interface: vm7, mac: "02:00:00:00:01:01"}]}
  - {name: red-stt, tenant: red, encap: stt, id: 5002, flood: ["fd00:77::2"],
     ports: [{interface: vm8, mac: "02:00:00:00:01:01"}]}
)";

[[noreturn]] void violate(const std::string &what, const Bytes &frame)
{
	std::fprintf(stderr, "bpf_fuzz: invariant broken: %s\n  frame %s\n", what.c_str(),
		     hex(frame).c_str());
	std::abort();
}

// Outcome features for libFuzzer (see the header comment).
__attribute__((used, section("__libfuzzer_extra_counters"))) std::uint8_t g_features[1 << 12];

void feature(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d)
{
	const std::uint32_t h = ((a * 31 + b) * 31 + c) * 131 + d;
	std::uint8_t &f = g_features[(h * 2654435761u) >> 20];
	if (f < 255)
		f++;
}

std::uint16_t get16(const Bytes &b, std::size_t at)
{
	return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

std::uint32_t get32(const Bytes &b, std::size_t at)
{
	return static_cast<std::uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}

// What the programs read of an overlay frame's outer headers, where they
// read it (bpf/include/ovx_rx.h, rx_parse); nullopt for other frames.
struct Wire {
	std::uint8_t encap = 0;
	std::optional<std::uint64_t> id; // not in STT segments after the first
	ovx_addr src{}, dst{};
	bool stt_first = false; // the STT segment at offset 0 (holds the id)
	std::uint32_t stt_frame = 0;
	std::size_t inner_off = 0; // where the inner frame starts; 0: unknown
};

std::optional<Wire> wire(const Bytes &f)
{
	Wire w;
	std::size_t l4;
	std::uint8_t proto;
	if (f.size() < 14)
		return std::nullopt;
	const std::uint16_t type = get16(f, 12);
	if (type == kEthIp && f.size() >= 34) {
		const std::size_t ihl = (f[14] & 0x0fu) * 4;
		if (ihl < 20)
			return std::nullopt;
		proto = f[23];
		l4 = 14 + ihl;
		w.src.family = w.dst.family = AF_INET;
		std::memcpy(w.src.a, &f[26], 4);
		std::memcpy(w.dst.a, &f[30], 4);
	} else if (type == kEthIp6 && f.size() >= 54) {
		proto = f[20];
		l4 = 54;
		w.src.family = w.dst.family = AF_INET6;
		std::memcpy(w.src.a, &f[22], 16);
		std::memcpy(w.dst.a, &f[38], 16);
	} else {
		return std::nullopt;
	}
	if (proto == 17 && f.size() >= l4 + 8) {
		const std::uint16_t dport = get16(f, l4 + 2);
		if (dport != 4789 && dport != 6081)
			return std::nullopt;
		w.encap = dport == 4789 ? OVX_ENCAP_VXLAN : OVX_ENCAP_GENEVE;
		if (f.size() >= l4 + 16) {
			w.id = get32(f, l4 + 12) >> 8;
			w.inner_off = l4 + 16 + (dport == 4789 ? 0 : (f[l4 + 8] & 0x3fu) * 4);
		}
	} else if (proto == 47) {
		w.encap = OVX_ENCAP_NVGRE;
		if (f.size() >= l4 + 8) {
			w.id = get32(f, l4 + 4) >> 8;
			w.inner_off = l4 + 8;
		}
	} else if (proto == 6 && f.size() >= l4 + 20 && get16(f, l4 + 2) == OVX_STT_PORT) {
		w.encap = OVX_ENCAP_STT;
		w.stt_first = get16(f, l4 + 6) == 0;
		w.stt_frame = get32(f, l4 + 8);
		const std::size_t payload = l4 + (f[l4 + 12] >> 4) * 4u;
		if (w.stt_first && f.size() >= payload + 18) {
			w.id = static_cast<std::uint64_t>(get32(f, payload + 8)) << 32 |
			       get32(f, payload + 12);
			w.inner_off = payload + 18;
		}
	} else {
		return std::nullopt;
	}
	return w;
}

// The custom mutator's repair: outer IP and UDP lengths that match the
// frame, a right IPv4 header checksum.
void fix_outer(std::uint8_t *f, std::size_t n)
{
	auto put16 = [&](std::size_t at, std::size_t v) {
		f[at] = static_cast<std::uint8_t>(v >> 8);
		f[at + 1] = static_cast<std::uint8_t>(v);
	};
	if (n < 14)
		return;
	const unsigned type = f[12] << 8 | f[13];
	std::size_t l4;
	if (type == kEthIp && n >= 34) {
		const std::size_t ihl = (f[14] & 0x0fu) * 4;
		if (ihl < 20 || n < 14 + ihl)
			return;
		f[14] = static_cast<std::uint8_t>(0x40 | ihl / 4);
		put16(16, n - 14);
		put16(24, 0);
		std::uint32_t sum = 0;
		for (std::size_t i = 14; i < 14 + ihl; i += 2)
			sum += f[i] << 8 | f[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(24, ~sum & 0xffff);
		l4 = 14 + ihl;
		if (f[23] != 17)
			return;
	} else if (type == kEthIp6 && n >= 54) {
		f[14] = static_cast<std::uint8_t>(0x60 | (f[14] & 0x0f));
		put16(18, n - 54);
		l4 = 54;
		if (f[20] != 17)
			return;
	} else {
		return;
	}
	if (n >= l4 + 8)
		put16(l4 + 4, n - l4);
}

// Frames of an input, as (offset, length) into it.
std::vector<std::pair<std::size_t, std::size_t>> split(const std::uint8_t *data, std::size_t size)
{
	std::vector<std::pair<std::size_t, std::size_t>> frames;
	std::size_t at = 1;
	while (at + 2 <= size && frames.size() < kMaxFrames) {
		std::size_t len = static_cast<std::size_t>(data[at] << 8 | data[at + 1]);
		at += 2;
		if (len > size - at || frames.size() + 1 == kMaxFrames)
			len = size - at;
		frames.emplace_back(at, len);
		at += len;
	}
	return frames;
}

struct Counters {
	std::map<std::uint32_t, ovx_seg_stats> seg;
	std::map<int, ovx_port_stats> port;
};

struct SegDelta {
	std::uint64_t rx = 0, tx = 0, local = 0, flood = 0, learned = 0, refused = 0, drops = 0;
	int reason = -1; // the last reason that counted
	unsigned reasons = 0;
	bool any = false;
};

class Harness {
public:
	Harness()
	{
		setup_namespace();
		for (int i = 4; i <= 8; i++) {
			const std::string vm = "vm" + std::to_string(i);
			if (std::system(("ip link add " + vm + " type veth peer name " + vm + "p && ip link set " +
					 vm + " up && ip link set " + vm + "p up")
						.c_str()))
				throw std::runtime_error("cannot create " + vm);
		}
		dp_.emplace(Dataplane::load_unpinned(4096));
		apply_config_text(*dp_, kConfig);
		Tables &t = dp_->tables();
		for (auto &[key, sid] : t.vni.dump()) {
			by_id_[{key.encap, key.id}] = sid;
			segment_[sid] = *t.segments.lookup(sid);
		}
		for (auto &[ifindex, port] : t.ports.dump()) {
			port_segment_[static_cast<int>(ifindex)] = port.segment;
			ports_.push_back(static_cast<int>(ifindex));
		}
		std::sort(ports_.begin(), ports_.end()); // vm1..vm8, as the seeds name them
		if (by_id_.size() != 7 || ports_.size() != 8)
			throw std::runtime_error("the fuzz configuration did not apply whole");
		ul0_ = packet_ifindex("ul0");
		vtep4_ = t.config.lookup(0)->vtep4;
		vtep6_ = t.config.lookup(0)->vtep6;
	}

	~Harness()
	{
		for (auto &[what, n] : notes_)
			std::fprintf(stderr, "%8llu  %s\n", static_cast<unsigned long long>(n), what.c_str());
	}

	void run(const std::uint8_t *data, std::size_t size)
	{
		if (size < 1)
			return;
		const unsigned path = data[0] % 4;
		stt_first_.clear();
		held_ = false;
		for (auto [at, len] : split(data, size)) {
			const Bytes f(data + at, data + at + len);
			if (path == 2)
				send(ports_[(data[0] / 4) % ports_.size()], f);
			else
				receive(f, path != 1);
		}
		// A frame held for reassembly would time out under a later input
		// and be counted there: every input starts with empty slots.
		if (held_)
			clear_stt_slots();
	}

private:
	Counters read() const
	{
		Counters c;
		const Tables &t = dp_->tables();
		c.seg[0] = sum_per_cpu(t.seg_stats.lookup(0));
		for (auto &[sid, seg] : segment_)
			c.seg[sid] = sum_per_cpu(t.seg_stats.lookup(sid));
		for (int p : ports_)
			c.port[p] = sum_per_cpu(t.port_stats_of(static_cast<std::uint32_t>(p)));
		return c;
	}

	static std::map<std::uint32_t, SegDelta> seg_delta(const Counters &a, const Counters &b)
	{
		std::map<std::uint32_t, SegDelta> out;
		for (auto &[sid, x] : b.seg) {
			const ovx_seg_stats &y = a.seg.at(sid);
			SegDelta d;
			d.rx = x.rx_packets - y.rx_packets;
			d.tx = x.tx_packets - y.tx_packets;
			d.local = x.local_packets - y.local_packets;
			d.flood = x.flood_copies - y.flood_copies;
			d.learned = x.learned - y.learned;
			d.refused = x.learn_refused - y.learn_refused;
			for (unsigned r = 0; r < OVX_DROP_MAX; r++) {
				if (x.drops[r] != y.drops[r]) {
					d.drops += x.drops[r] - y.drops[r];
					d.reason = static_cast<int>(r);
					d.reasons++;
				}
			}
			d.any = d.rx || d.tx || d.local || d.flood || d.learned || d.refused || d.drops ||
				x.stt_reassembled != y.stt_reassembled || x.stt_segments != y.stt_segments;
			out[sid] = d;
		}
		return out;
	}

	std::uint32_t segment_of(std::uint8_t encap, std::uint64_t id) const
	{
		auto it = by_id_.find({encap, id});
		return it == by_id_.end() ? 0 : it->second;
	}

	// The segments a receive frame may touch besides segment 0.
	std::set<std::uint32_t> allowed(const std::optional<Wire> &w) const
	{
		if (!w)
			return {};
		if (w->encap == OVX_ENCAP_STT) {
			auto it = stt_first_.find(w->stt_frame);
			std::set<std::uint32_t> s = it == stt_first_.end() ? std::set<std::uint32_t>{}
									   : it->second;
			if (w->id)
				s.insert(segment_of(w->encap, *w->id));
			s.erase(0);
			return s;
		}
		if (!w->id)
			return {};
		const std::uint32_t sid = segment_of(w->encap, *w->id);
		if (!sid)
			return {};
		return {sid};
	}

	// Port tx deltas: all on ports of @segment; their sum.
	std::uint64_t port_tx(const Counters &a, const Counters &b, std::uint32_t segment, int except,
			      const Bytes &f) const
	{
		std::uint64_t n = 0;
		for (int p : ports_) {
			const std::uint64_t d = b.port.at(p).tx_packets - a.port.at(p).tx_packets;
			if (!d)
				continue;
			if (port_segment_.at(p) != segment || p == except)
				violate("a frame was handed to port " + std::to_string(p) + " of segment " +
						std::to_string(port_segment_.at(p)) + ", not of segment " +
						std::to_string(segment),
					f);
			n += d;
		}
		return n;
	}

	void receive(const Bytes &f, bool xdp)
	{
		if (f.size() < (xdp ? 14u : kMinTc) || f.size() > kMaxFrame)
			return;
		// A shim with this instance's cookie, forged: the cookie is a secret
		// of the host (the threat model's attackers do not have it), but
		// libFuzzer learns it from the harness's comparisons of what XDP
		// made. In mode tc such a frame is delivered as its shim says.
		if (!xdp && forged_shim(f))
			return;
		const std::optional<Wire> w = wire(f);
		if (w && w->encap == OVX_ENCAP_STT && w->stt_first && w->id)
			stt_first_[w->stt_frame].insert(segment_of(w->encap, *w->id));
		const std::set<std::uint32_t> ok = allowed(w);
		const Counters before = read();

		int xdp_rc = -1;
		std::optional<std::uint32_t> shim_segment;
		Bytes tc_in = f;
		if (xdp) {
			const RunResult x = test_run_xdp(*dp_, f);
			xdp_rc = x.retval;
			if (x.retval == XDP_DROP) {
				tc_in.clear();
			} else if (x.retval != XDP_PASS) {
				violate("xdp_underlay returned " + std::to_string(x.retval), f);
			} else if (x.out != f) {
				ovx_rx_shim shim;
				if (x.out.size() < 14 + sizeof(shim) || x.out[0] != 0x01 || x.out[1] != 0x80 ||
				    x.out[2] != 0xc2)
					violate("XDP passed a changed frame without its shim: " + hex(x.out), f);
				std::memcpy(&shim, x.out.data() + 14, sizeof(shim));
				if (!ok.count(shim.segment))
					violate("XDP decapsulated into segment " +
							std::to_string(shim.segment),
						f);
				if (shim.ifindex && port_segment_.at(static_cast<int>(shim.ifindex)) !=
							    shim.segment)
					violate("XDP chose port " + std::to_string(shim.ifindex) +
							" outside segment " + std::to_string(shim.segment),
						f);
				shim_segment = shim.segment;
				tc_in = x.out;
			}
		}
		int tc_rc = -1;
		Bytes tc_out;
		if (tc_in.size() >= kMinTc) {
			const RunResult t = test_run_tc(*dp_, Program::tc_underlay, ul0_, tc_in);
			tc_rc = t.retval;
			tc_out = t.out;
		} else if (!tc_in.empty()) {
			// XDP passed a frame too short for a TC run: as if TC passed it.
			tc_rc = TC_ACT_OK;
			tc_out = tc_in;
		}
		const Counters after = read();
		const auto d = seg_delta(before, after);

		std::uint64_t rx = 0, drops = 0, reasons = 0;
		std::uint32_t rx_segment = 0;
		int reason = -1;
		for (auto &[sid, x] : d) {
			if (x.any && sid && !ok.count(sid))
				violate("segment " + std::to_string(sid) + "'s counters moved", f);
			if (x.tx || x.local)
				violate("the receive side sent or switched a frame", f);
			if (x.learned > 1)
				violate("one frame learned twice", f);
			rx += x.rx;
			drops += x.drops;
			reasons += x.reasons;
			if (x.rx)
				rx_segment = sid;
			if (x.drops)
				reason = x.reason;
		}
		if (reasons > 1 || drops > 1)
			violate("a drop counted " + std::to_string(drops) + " times under " +
					std::to_string(reasons) + " reasons",
				f);
		feature(xdp ? 1 : 2, w ? w->encap + 1u : 0, static_cast<std::uint32_t>(xdp_rc + 1),
			static_cast<std::uint32_t>(tc_rc + 1) * 64 + static_cast<std::uint32_t>(reason + 1));
		if (outcomes_)
			note(std::string(xdp ? "receive, XDP+TC, " : "receive, TC only, ") +
			     (w ? encap_name(static_cast<ovx_encap>(w->encap)) : "not overlay") + ": " +
			     (drops ? std::string(rx ? "rx and drop " : "drop ") + drop_reason_name(reason)
			      : rx ? "delivered"
			      : tc_rc == TC_ACT_STOLEN ? "held for reassembly" : "the host's"));

		if (xdp_rc == XDP_DROP) {
			if (drops != 1 || rx)
				violate("XDP_DROP without one drop counted", f);
			return;
		}
		switch (tc_rc) {
		case TC_ACT_OK:
			if (shim_segment)
				violate("a decapsulated frame was passed to the host", f);
			if (rx || drops || tc_out != tc_in)
				violate("a frame passed to the host was counted or changed", f);
			return;
		case TC_ACT_STOLEN:
			if (!w || w->encap != OVX_ENCAP_STT || rx || drops)
				violate("a frame held that is no STT segment, or held and counted", f);
			held_ = true;
			return;
		case TC_ACT_SHOT:
			if (drops != 1 || rx)
				violate("a frame dropped with " + std::to_string(drops) + " drops (reason " +
						std::to_string(reason) + ") and " + std::to_string(rx) +
						" rx counted",
					f);
			return;
		case TC_ACT_REDIRECT:
			break;
		default:
			violate("tc_underlay returned " + std::to_string(tc_rc), f);
		}
		if (rx != 1 || drops)
			violate("a delivery with " + std::to_string(rx) + " rx and " + std::to_string(drops) +
					" drops counted",
				f);
		if (shim_segment && *shim_segment != rx_segment)
			violate("XDP's segment is not the one counted", f);
		const SegDelta &s = d.at(rx_segment);
		const std::uint64_t copies = port_tx(before, after, rx_segment, 0, f);
		if (s.flood ? copies != s.flood : copies != 1)
			violate(std::to_string(copies) + " port copies for " + std::to_string(s.flood) +
					" flood copies",
				f);
		feature(3, rx_segment, s.flood ? 1 : 0, static_cast<std::uint32_t>(s.learned * 2 + s.refused));
		if (s.learned)
			check_learned(f, rx_segment, *w);
	}

	static bool forged_shim(const Bytes &f)
	{
		ovx_rx_shim shim;
		if (f.size() < 14 + sizeof(shim) || f[0] != 0x01 || f[1] != 0x80 || f[2] != 0xc2)
			return false;
		std::memcpy(&shim, f.data() + 14, sizeof(shim));
		return shim.cookie[0] == kCookie[0] && shim.cookie[1] == kCookie[1];
	}

	// What the frame taught: its inner source MAC, behind its sender, in
	// its own segment.
	void check_learned(const Bytes &f, std::uint32_t segment, const Wire &w)
	{
		for (auto &[key, e] : dp_->tables().fdb.dump()) {
			if (!(e.flags & OVX_FDB_LEARNED) || key.segment != segment)
				continue;
			if (e.vtep.family == w.src.family &&
			    !std::memcmp(e.vtep.a, w.src.a, sizeof(e.vtep.a)))
				return;
		}
		violate("learned, but no entry of the segment points at the sender", f);
	}

	void send(int port, const Bytes &f)
	{
		if (f.size() < kMinTc || f.size() > kMaxFrame)
			return;
		const std::uint32_t segment = port_segment_.at(port);
		const ovx_segment &seg = segment_.at(segment);
		const Counters before = read();
		const RunResult r = test_run_tc(*dp_, Program::tc_port, port, f);
		const Counters after = read();
		const auto d = seg_delta(before, after);
		for (auto &[sid, x] : d) {
			if (x.any && sid != segment)
				violate("port " + std::to_string(port) + "'s frame moved segment " +
						std::to_string(sid) + "'s counters",
					f);
		}
		const SegDelta &s = d.at(segment);
		feature(4, segment, static_cast<std::uint32_t>(r.retval + 1),
			static_cast<std::uint32_t>(s.reason + 1) * 8 + (s.local ? 1 : 0) + (s.tx ? 2 : 0) +
				(s.flood ? 4 : 0));
		if (outcomes_)
			note("send, " + std::string(encap_name(static_cast<ovx_encap>(seg.encap))) + ": " +
			     (s.drops ? std::string("drop ") + drop_reason_name(s.reason)
			      : s.tx ? (s.flood ? "flooded" : "encapsulated")
			      : s.local ? (s.flood ? "flooded locally" : "to a local port") : "nowhere"));
		if (s.rx || s.learned)
			violate("the send side counted a receive or learned", f);
		if (s.drops > 1)
			violate("one frame dropped twice", f);
		port_tx(before, after, segment, port, f);
		if (r.retval == TC_ACT_SHOT) {
			if (s.drops != 1)
				violate("a frame dropped with " + std::to_string(s.drops) + " drops counted", f);
			return;
		}
		if (r.retval != TC_ACT_REDIRECT)
			violate("tc_port returned " + std::to_string(r.retval), f);
		if (s.drops || s.tx + s.local == 0)
			violate("a frame sent nowhere, or sent and dropped", f);
		if (r.out == f)
			return; // to a local port, untouched
		const std::optional<Wire> w = wire(r.out);
		if (!w || w->encap != seg.encap || !w->id || *w->id != seg.id)
			violate("encapsulated in another segment's encapsulation or id: " + hex(r.out), f);
		const ovx_addr &self = w->src.family == AF_INET6 ? vtep6_ : vtep4_;
		ovx_vtep_key to{};
		to.segment = segment;
		to.addr = w->dst;
		if (std::memcmp(self.a, w->src.a, sizeof(self.a)) ||
		    !dp_->tables().vteps.lookup(to))
			violate("encapsulated from another address than ours or to a non-member: " +
					hex(r.out),
				f);
	}

	void clear_stt_slots()
	{
		RawMap &slots = dp_->tables().stt_slots;
		const std::vector<std::uint8_t> zero(slots.value_size());
		for (std::uint32_t i = 0; i < slots.max_entries(); i++)
			slots.update(&i, zero.data(), 0);
	}

	std::optional<Dataplane> dp_;
	std::map<std::pair<std::uint8_t, std::uint64_t>, std::uint32_t> by_id_;
	std::map<std::uint32_t, ovx_segment> segment_;
	std::map<int, std::uint32_t> port_segment_;
	std::vector<int> ports_;
	int ul0_ = 0;
	ovx_addr vtep4_{}, vtep6_{};
	// STT frame ids (the ack field) of this input's first segments -> segments.
	std::map<std::uint32_t, std::set<std::uint32_t>> stt_first_;
	bool held_ = false;
	// OVX_BPF_FUZZ_OUTCOMES=1: what the frames met, counted, printed at exit
	// (run over a corpus with -runs=0 to see what it reaches).
	const bool outcomes_ = std::getenv("OVX_BPF_FUZZ_OUTCOMES") != nullptr;
	std::map<std::string, std::uint64_t> notes_;
	void note(const std::string &what) { notes_[what]++; }
};

Harness *g_harness;

// The seed corpus: for every segment, frames from a member VTEP and from
// an outsider, unicast, broadcast and to a remote's MAC; Geneve with an
// option; STT whole and in two segments; the send side from every port.
void write_seeds(const std::string &dir)
{
	int n = 0;
	auto save = [&](std::uint8_t path, const std::vector<Bytes> &frames) {
		Bytes in{path};
		for (const Bytes &f : frames) {
			in.push_back(static_cast<std::uint8_t>(f.size() >> 8));
			in.push_back(static_cast<std::uint8_t>(f.size()));
			in.insert(in.end(), f.begin(), f.end());
		}
		char name[32];
		std::snprintf(name, sizeof(name), "/seed-%03d", n++);
		std::ofstream(dir + name, std::ios::binary)
			.write(reinterpret_cast<const char *>(in.data()), static_cast<long>(in.size()));
	};
	const MacAddr vm1 = mac("02:00:00:00:01:01"), vm2 = mac("02:00:00:00:01:02");
	const MacAddr remote = mac("02:00:00:00:02:01"), learnt = mac("02:00:00:00:03:07");
	const Bytes to_vm1 = vm_ping(vm1, remote, ipv4("10.0.0.2"), ipv4("10.0.0.1"));
	const Bytes to_vm2 = vm_ping(vm2, learnt, ipv4("10.0.0.3"), ipv4("10.0.0.1"), 1200);
	const Bytes to_remote = vm_ping(remote, learnt, ipv4("10.0.0.3"), ipv4("10.0.0.2"));
	const Bytes arp = eth(mac("ff:ff:ff:ff:ff:ff"), learnt, kEthArp,
			      arp_request(learnt, ipv4("10.0.0.3"), ipv4("10.0.0.1")));
	auto outer = [&](int family, int vtep) {
		Outer o{kUnderlayMac, vtep == 2 ? kVtep2Mac : kVtep3Mac, family, {}, {}};
		if (family == AF_INET6) {
			o.src = vtep == 2 ? kVtep2v6 : kVtep3v6;
			o.dst = kLocalVtep6;
		} else {
			const std::uint32_t s = vtep == 2 ? kVtep2 : kVtep3;
			for (int i = 0; i < 4; i++) {
				o.src[i] = static_cast<std::uint8_t>(s >> (24 - 8 * i));
				o.dst[i] = static_cast<std::uint8_t>(kLocalVtep >> (24 - 8 * i));
			}
		}
		o.stt_frame_id = 0x1000;
		return o;
	};
	struct S {
		Encap encap;
		std::uint64_t id;
		int family;
	};
	const S segs[] = {{Encap::vxlan, 5001, AF_INET},  {Encap::vxlan, 5002, AF_INET},
			  {Encap::geneve, 5002, AF_INET6}, {Encap::geneve, 5001, AF_INET6},
			  {Encap::nvgre, 5001, AF_INET},   {Encap::stt, 5001, AF_INET},
			  {Encap::stt, 5002, AF_INET6}};
	for (const S &s : segs) {
		for (int vtep : {2, 3}) {
			const Outer o = outer(s.family, vtep);
			for (const Bytes *inner : {&to_vm1, &to_vm2, &to_remote, &arp})
				save(0, {tunnel_frame(o, s.encap, s.id, *inner)});
			save(1, {tunnel_frame(o, s.encap, s.id, arp)});
		}
	}
	// Geneve with a (non-critical) option, in front of a frame for vm4.
	{
		const Outer o = outer(AF_INET6, 2);
		const Bytes opt{0x01, 0x02, 0x03, 0x01, 0xde, 0xad, 0xbe, 0xef};
		save(0, {ip_frame(o, 17, udp(o.entropy, 6081, geneve(5002, to_vm1, opt)))});
	}
	// STT frames in two segments, in order and the other way round.
	for (const S &s : {segs[5], segs[6]}) {
		const Outer o = outer(s.family, 2);
		const Bytes frame = stt_frame(s.id, to_vm2);
		const auto len = static_cast<std::uint16_t>(frame.size());
		const Bytes a(frame.begin(), frame.begin() + 600), b(frame.begin() + 600, frame.end());
		const Bytes first = ip_frame(o, 6, stt_segment(o.entropy, len, 0, 0x2000, a));
		const Bytes second = ip_frame(o, 6, stt_segment(o.entropy, len, 600, 0x2000, b));
		save(0, {first, second});
		save(1, {second, first});
	}
	// The send side, from each port: to a local port, to the remote,
	// broadcast, unknown unicast.
	for (std::uint8_t p = 0; p < 8; p++) {
		const MacAddr self = p == 1 || p == 4 ? vm2 : vm1; // the port's MAC, by ifindex order
		const std::uint8_t path = static_cast<std::uint8_t>(2 + 4 * p);
		save(path, {vm_ping(vm2, self, ipv4("10.0.0.1"), ipv4("10.0.0.2"))});
		save(path, {vm_ping(remote, self, ipv4("10.0.0.1"), ipv4("10.0.0.3"))});
		save(path, {eth(mac("ff:ff:ff:ff:ff:ff"), self, kEthArp,
				arp_request(self, ipv4("10.0.0.1"), ipv4("10.0.0.9")))});
		save(path, {vm_ping(learnt, self, ipv4("10.0.0.1"), ipv4("10.0.0.4"))});
	}
	std::printf("%d seeds in %s\n", n, dir.c_str());
}

} // namespace
} // namespace ovx::test

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	libbpf_set_print(nullptr);
	try {
		if (const char *dir = std::getenv("OVX_BPF_FUZZ_SEEDS")) {
			ovx::test::write_seeds(dir);
			std::exit(0);
		}
		static ovx::test::Harness harness;
		ovx::test::g_harness = &harness;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "bpf_fuzz: %s (needs root)\n", e.what());
		std::exit(1);
	}
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	ovx::test::g_harness->run(data, size);
	return 0;
}

// libFuzzer's mutation, then (three times in four) outer headers made
// consistent again, frame by frame.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t *data, std::size_t size,
					       std::size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 4 == 0)
		return size;
	for (auto [at, len] : ovx::test::split(data, size))
		ovx::test::fix_outer(data + at, len);
	return size;
}
