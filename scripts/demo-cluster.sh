#!/usr/bin/env bash
#
# ovx cluster demo: three hosts run `ovx agent --cluster` against etcd; the
# segment is defined once for the cluster, no host file names a remote MAC
# or a flood list; then a VM moves between hosts (make-before-break, as a
# live migration does) while a peer pings it every millisecond: nothing is
# lost. Removes everything it made when it ends.
#
#   sudo scripts/demo-cluster.sh        # OVX=path/to/ovx (default build/ovx)
#   DEMO_MOVES=N: moves (default 4)
#
#                underlay (bridge br0, 192.168.77.0/24), etcd on .250
#        +------------------+------------------+
#   h1 192.168.77.1    h2 192.168.77.2    h3 192.168.77.3     (agents)
#    b1 10.0.0.1 -- moves to h2 and back --    b3 10.0.0.3 (pings b1)
#
# Exit status 0 when everything behaved as expected, 1 otherwise.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export OVX=${OVX:-$REPO/build/ovx}
export TOPO_QUIET=1
source "$REPO/tests/e2e/lib.sh"
source "$REPO/tests/e2e/cluster_lib.sh"
MOVES=${DEMO_MOVES:-4}

e2e_init demo-cluster "three hosts as one switch under etcd; a VM moves, its ping loses nothing"
e2e_build_topology "ovx ovx ovx" "blue:5001" >/dev/null
etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" 1 || e2e_fail "etcd did not start"
e2e_info "etcd at $ETCD_ENDPOINTS (its own process, in the underlay namespace)"

e2e_step "the segment, once for the cluster: ovx cluster apply -f cluster.yaml"
cluster_write_segments "$TOPO_DIR/cluster.yaml"
sed 's/^/      /' "$TOPO_DIR/cluster.yaml"
cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" | sed 's/^/    /' || e2e_fail "cluster apply"

e2e_step "an agent per host, from a host file with its own ports only"
# Ten moves in seconds would look like a MAC flapping between hosts to
# EVPN's duplicate detection (5 moves in 180 s freeze it): this demo moves
# on purpose.
CLUSTER_MOBILITY="{freeze_moves: 100, freeze_window: 60}"
cluster_vm_movable b1
for h in h1 h2 h3; do
	if [[ $h == h1 ]]; then f=$(cluster_vm_host_file h1 "${NIC_PORT[0]}"); else f=$(cluster_vm_host_file "$h"); fi
	[[ $h == h1 ]] && sed 's/^/      /' "$f"
	cluster_agent_start "$h" "$f" || e2e_fail "agent on $h: $(tail -5 "$(ovx_agent_log "$h")")"
	e2e_ok "$h: agent synced"
done
e2e_expect_ping b3 "$(topo_vm_ip b1)" 3
e2e_ok "b3 (h3) reaches b1 (h1): h3 learnt b1's place from etcd, not from a file"
ovx_run h3 cluster status
printf '%s\n' "$OVX_OUT" | sed 's/^/    /'
cluster_ovx fdb show | sed 's/^/    /'

e2e_step "b1 moves h1 -> h2 -> h1 ... ($MOVES moves) while b3 pings it every millisecond"
topo_bg pings "$(topo_vm_ns b3)" ping -i 0.001 -W 1 "$(topo_vm_ip b1)"
sleep 0.5
from=h1
for n in $(seq 1 "$MOVES"); do
	to=$([[ $from == h1 ]] && echo h2 || echo h1)
	cluster_vm_move "$n" "$from" "$to" mbb h3
	e2e_info "move $n: b1 now on $to (h3's FDB sends its MAC to $(cluster_vm_vtep_on h3))"
	from=$to
done
sleep 0.5
topo_bg_stop pings INT
summary=$(grep -E "packets transmitted" "$(topo_bg_out pings)")
sent=$(awk '{print $1}' <<<"$summary") got=$(awk '{print $4}' <<<"$summary")
((got == sent && sent > 0)) || e2e_fail "the moves lost $((sent - got)) of $sent pings"
e2e_ok "$sent pings, none lost"

e2e_step "what the cluster saw"
ovx_run h3 cluster status
printf '%s\n' "$OVX_OUT" | sed 's/^/    /'
ovx_run h3 stats
printf '%s\n' "$OVX_OUT" | sed 's/^/    /'
e2e_pass
