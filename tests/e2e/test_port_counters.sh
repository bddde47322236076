#!/usr/bin/env bash
# Per-port counters (ovx_port_stats): pings count exactly on the sending and
# the receiving VM's port, packets and bytes both ways; frames a VM sends
# with another source MAC count as spoof drops of its port (and as frames it
# sent: rx counts every frame TC sees on the port).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

counters_topology test_port_counters "exact per-port counters and spoof drops"
PINGS=5
FRAME=98
P1=$(topo_vm_port b1)
P2=$(topo_vm_port b2)

e2e_step "$PINGS pings b1 (h1 $P1) -> b2 (h2 $P2)"
pings_exact "$BLUE" "$PINGS" "$FRAME" pings

e2e_step "b1 sends 4 frames with a MAC not its own"
h1_1=$(stats_snapshot h1 h1-1)
inject_from_vm b1 4 eth --src-mac 02:00:00:00:99:99 --dst-mac "$(topo_vm_mac b2)"
sleep 0.3
h1_2=$(stats_snapshot h1 h1-2)
expect_deltas h1 "$h1_1" "$h1_2" --ports "segment:$BLUE:drops.spoofed_src=4" \
	"port:$P1:spoof_drops=4" "port:$P1:rx_packets=4" "port:$P1:rx_bytes=$((4 * 74))"

e2e_step "ovx stats shows the ports"
ovx_run h1 stats || e2e_fail "ovx stats on h1: exit $OVX_RC: $OVX_OUT"
grep -E "^$P1 +$BLUE +$((PINGS + 4)) " <<<"$OVX_OUT" >/dev/null ||
	e2e_fail "ovx stats on h1: no port line '$P1 $BLUE $((PINGS + 4)) ...': $OVX_OUT"
e2e_ok "h1: $(grep -E "^$P1 " <<<"$OVX_OUT")"

e2e_pass
