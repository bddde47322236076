#!/usr/bin/env bash
# Geneve (RFC 8926) over an IPv4 and then an IPv6 underlay: two ovx hosts,
# tenants blue and red with the same MACs and IPs; pings within each tenant
# both ways (ARP flooded), nothing at the other tenant's VMs, tshark checks
# every frame on the underlay (VNI, protocol type, no options, port 6081,
# zero UDP checksum over IPv6, inner ICMP), full-size DF pings, iperf3 TCP.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

encap_test geneve 5001 5002 "Geneve"
