#!/usr/bin/env bash
# TCP throughput between blue VMs on two ovx hosts (iperf3, 5 s); the red VMs
# on the same hosts, with the same MACs and IPs, must see none of it.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${IPERF_SECS:-5}

e2e_init test_vxlan_iperf "iperf3 TCP between blue VMs over ovx, red untouched"
command -v iperf3 >/dev/null || e2e_fail "iperf3 not installed"
e2e_build_topology "ovx ovx" "blue:5001 red:5002"
e2e_apply_all
BLUE=$(topo_tenant_segment blue)

e2e_step "warm-up: b1 -> b2 and a full-size (1450 bytes, DF) ping"
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
got=$(topo_vm_exec b1 ping -n -q -M "do" -s $(($(topo_vm_mtu b1) - 28)) -c 3 -i 0.2 -W 1 \
	"$(topo_vm_ip b2)" 2>&1 | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
((${got:-0} >= 2)) || e2e_fail "full-size DF pings b1 -> b2: ${got:-0}/3 replies (MTU/overhead problem?)"
e2e_ok "full-size DF pings b1 -> b2: $got/3 replies"

e2e_step "iperf3 TCP ${SECS}s b1 (h1) -> b2 (h2), capturing on the red VMs"
e2e_stat tx0 h1 "$BLUE" tx_packets
e2e_stat rx0 h2 "$BLUE" rx_packets
topo_neigh_flush $(topo_vms red)
for vm in $(topo_vms red); do
	topo_capture_vm_start "red-$vm" "$vm" || e2e_fail "cannot capture on $vm"
done
topo_iperf_server b2 || e2e_fail "iperf3 server on b2 did not start"
gbps=$(topo_iperf_client b1 "$(topo_vm_ip b2)" "$SECS") ||
	e2e_fail "iperf3 b1 -> b2 failed: $gbps $(cat "$TOPO_DIR"/iperf-b1-*.json.err 2>/dev/null)"
for vm in $(topo_vms red); do topo_capture_stop "red-$vm"; done
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$gbps') > 0 else 1)" ||
	e2e_fail "iperf3 b1 -> b2: $gbps Gbit/s"
e2e_ok "iperf3 TCP b1 -> b2: $gbps Gbit/s"

e2e_step "red VMs saw nothing, counters moved"
for vm in $(topo_vms red); do
	e2e_expect_capture_empty "red-$vm" "red VM $vm during blue's iperf3"
done
e2e_stat tx1 h1 "$BLUE" tx_packets
e2e_stat rx1 h2 "$BLUE" rx_packets
((tx1 > tx0 && rx1 > rx0)) ||
	e2e_fail "ovx counters did not move: h1 tx_packets $tx0 -> $tx1, h2 rx_packets $rx0 -> $rx1"
e2e_ok "h1 $BLUE tx_packets +$((tx1 - tx0)), h2 $BLUE rx_packets +$((rx1 - rx0))"
for h in h1 h2; do e2e_print_seg_stats "$h" "$BLUE"; done

echo
echo "    RESULT: blue b1 -> b2 over ovx: $gbps Gbit/s (TCP, ${SECS}s)"
e2e_pass
