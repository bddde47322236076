#!/usr/bin/env bash
# Port-to-port switching on one host counted exactly: two blue VMs on h1
# (and a red one with the same MAC and IP as one of them); N pings between
# the blue ones are 2N local frames of blue on h1, nothing crosses the
# underlay, nothing counts in red or on h2.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

export TOPO_STATIC_REMOTES=1
e2e_init test_counters_local "exact local switching counters"
e2e_step "topology: h1 with b1, c1 (blue) and r1 (red); h2 with b2 (blue)"
topo_add_underlay
topo_add_tenant blue 5001
topo_add_tenant red 5002
topo_add_host h1 192.168.77.1
topo_add_host h2 192.168.77.2
topo_add_vm h1 b1 blue 02:00:00:00:01:01 10.0.0.1/24
topo_add_vm h1 c1 blue 02:00:00:00:01:02 10.0.0.11/24
topo_add_vm h1 r1 red 02:00:00:00:01:02 10.0.0.11/24
topo_add_vm h2 b2 blue 02:00:00:00:02:01 10.0.0.2/24
topo_finalize
topo_summary
e2e_apply_all
static_neighbours
BLUE=$(topo_tenant_segment blue)
PINGS=5
FRAME=98

e2e_step "$PINGS pings b1 -> c1 on h1"
h1_0=$(stats_snapshot h1 h1-0)
h2_0=$(stats_snapshot h2 h2-0)
topo_capture_vm_start local-r1 r1 || e2e_fail "cannot capture on r1"
ping_exact b1 "$(topo_vm_ip c1)" "$PINGS"
topo_capture_stop local-r1
e2e_expect_capture_empty local-r1 "red VM r1 (same MAC and IP as c1)"
h1_1=$(stats_snapshot h1 h1-1)
h2_1=$(stats_snapshot h2 h2-1)
expect_deltas h1 "$h1_0" "$h1_1" \
	"segment:$BLUE:local_packets=$((2 * PINGS))" "segment:$BLUE:local_bytes=$((2 * PINGS * FRAME))"
expect_deltas h2 "$h2_0" "$h2_1"

e2e_pass
