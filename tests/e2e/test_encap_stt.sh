#!/usr/bin/env bash
# STT (draft-davie-stt-08) over an IPv4 and then an IPv6 underlay: two ovx
# hosts, tenants blue (id 4294972297) and red (id 18446744073709551615) with
# the same MACs and IPs; pings within each tenant both ways (ARP flooded),
# nothing at the other tenant's VMs, tshark checks every frame on the underlay
# (64-bit context ID, TCP port 7471, version 0, pkt_len/seg_off of one-segment
# frames, inner ICMP), full-size DF pings, iperf3 TCP. The iperf3 run sends
# MTU-sized frames (VM TSO/GSO/GRO off): TSO frames are
# test_stt_segmentation.sh's.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

encap_test stt 4294972297 18446744073709551615 "STT (draft-davie-stt-08)"
