#!/usr/bin/env bash
# Flooding and learning counted exactly: without static remotes, the first of
# N pings b1 -> b2 is unknown unicast on h1 (one flood copy, to h2); h2
# learns b1 from it, h1 learns b2 from the reply, and every later frame is
# unicast. A second round floods nothing and learns nothing.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

counters_topology test_counters_learning "exact flood copies and learned MACs" 0
PINGS=6
FRAME=98

e2e_step "$PINGS pings b1 (h1) -> b2 (h2), nothing learned yet"
h1_0=$(stats_snapshot h1 h1-0)
h2_0=$(stats_snapshot h2 h2-0)
ping_exact b1 "$(topo_vm_ip b2)" "$PINGS"
sleep 0.3
h1_1=$(stats_snapshot h1 h1-1)
h2_1=$(stats_snapshot h2 h2-1)
# The learned entries are FDB entries too: one more in blue on each host.
expect_deltas h1 "$h1_0" "$h1_1" \
	"segment:$BLUE:tx_packets=$PINGS" "segment:$BLUE:tx_bytes=$((PINGS * FRAME))" \
	"segment:$BLUE:rx_packets=$PINGS" "segment:$BLUE:rx_bytes=$((PINGS * FRAME))" \
	"segment:$BLUE:flood_copies=1" "segment:$BLUE:learned=1" "segment:$BLUE:fdb_entries=1"
expect_deltas h2 "$h2_0" "$h2_1" \
	"segment:$BLUE:tx_packets=$PINGS" "segment:$BLUE:tx_bytes=$((PINGS * FRAME))" \
	"segment:$BLUE:rx_packets=$PINGS" "segment:$BLUE:rx_bytes=$((PINGS * FRAME))" \
	"segment:$BLUE:learned=1" "segment:$BLUE:fdb_entries=1"

e2e_step "$PINGS more: all unicast, nothing new learned"
ping_exact b1 "$(topo_vm_ip b2)" "$PINGS"
sleep 0.3
h1_2=$(stats_snapshot h1 h1-2)
h2_2=$(stats_snapshot h2 h2-2)
for h in h1 h2; do
	before=${h}_1 after=${h}_2
	expect_deltas "$h" "${!before}" "${!after}" \
		"segment:$BLUE:tx_packets=$PINGS" "segment:$BLUE:tx_bytes=$((PINGS * FRAME))" \
		"segment:$BLUE:rx_packets=$PINGS" "segment:$BLUE:rx_bytes=$((PINGS * FRAME))"
done

e2e_pass
