#!/usr/bin/env bash
# VXLAN (RFC 7348) over an IPv4 and then an IPv6 underlay: two ovx hosts,
# tenants blue (id 5001) and red (id 16777215) with the same MACs and IPs;
# pings within each tenant both ways (ARP flooded), nothing at the other
# tenant's VMs, tshark checks every frame on the underlay (VNI, UDP port 4789,
# zero UDP checksum over IPv6, inner ICMP), full-size DF pings, iperf3 TCP.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

encap_test vxlan 5001 16777215 "VXLAN (RFC 7348)"
