#!/usr/bin/env bash
# VXLAN (RFC 7348) over an IPv4 and then an IPv6 underlay: two ovx hosts,
# tenants blue (id 5001) and red (id 16777215) with the same MACs and IPs;
# pings within each tenant both ways (ARP flooded), nothing at the other
# tenant's VMs, tshark checks every frame on the underlay (VNI, UDP port 4789,
# zero UDP checksum over IPv6, inner ICMP), full-size DF pings, iperf3 TCP.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

e2e_init test_encap_vxlan "VXLAN (RFC 7348) over IPv4 and IPv6 underlays"
encap_require
ENCAP_RESULTS=()
encap_run vxlan 4 5001 16777215
e2e_next_topology
encap_run vxlan 6 5001 16777215
encap_summary
e2e_pass
