#!/usr/bin/env bash
# NVGRE (RFC 7637) over an IPv4 and then an IPv6 underlay: two ovx hosts,
# tenants blue (id 4096) and red (id 16777214) with the same MACs and IPs;
# pings within each tenant both ways (ARP flooded), nothing at the other
# tenant's VMs, tshark checks every frame on the underlay (GRE key bit only,
# protocol 0x6558, VSID = key >> 8, one FlowID per inner flow, inner ICMP),
# full-size DF pings, iperf3 TCP.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

encap_test nvgre 4096 16777214 "NVGRE (RFC 7637)"
