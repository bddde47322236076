// Per-CPU counter values, summed the one way every reader needs.
#pragma once

#include <vector>

#include "maps/ovx_abi.h"

namespace ovx {

inline ovx_seg_stats sum_per_cpu(const std::vector<ovx_seg_stats> &per_cpu)
{
	ovx_seg_stats total{};
	for (const auto &s : per_cpu) {
		total.rx_packets += s.rx_packets;
		total.rx_bytes += s.rx_bytes;
		total.tx_packets += s.tx_packets;
		total.tx_bytes += s.tx_bytes;
		total.local_packets += s.local_packets;
		total.local_bytes += s.local_bytes;
		total.flood_copies += s.flood_copies;
		total.learned += s.learned;
		total.learn_refused += s.learn_refused;
		total.stt_segments += s.stt_segments;
		total.stt_reassembled += s.stt_reassembled;
		total.forwarded += s.forwarded;
		for (unsigned r = 0; r < OVX_DROP_MAX; r++)
			total.drops[r] += s.drops[r];
	}
	return total;
}

inline ovx_port_stats sum_per_cpu(const std::vector<ovx_port_stats> &per_cpu)
{
	ovx_port_stats total{};
	for (const auto &s : per_cpu) {
		total.rx_packets += s.rx_packets;
		total.rx_bytes += s.rx_bytes;
		total.tx_packets += s.tx_packets;
		total.tx_bytes += s.tx_bytes;
		total.spoof_drops += s.spoof_drops;
	}
	return total;
}

inline ovx_dp_stats sum_per_cpu(const std::vector<ovx_dp_stats> &per_cpu)
{
	ovx_dp_stats total{};
	for (const auto &s : per_cpu) {
		total.nexthop_miss += s.nexthop_miss;
		total.nexthop_stale += s.nexthop_stale;
	}
	return total;
}

} // namespace ovx
