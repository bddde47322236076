#!/usr/bin/env bash
# A VM moves between hosts in cluster mode and keeps its MAC and IP.
# Make-before-break, 10 moves h1 -> h2 -> h1 ...: the VM's NIC is plugged
# into the new host (a second veth on the VM's bridge), the new host binds
# the MAC (a higher MAC mobility sequence number wins everywhere), then the
# old host lets go and the old NIC is unplugged; a peer on h3 pings it every
# millisecond throughout: nothing lost. Break-before-make with a 50 ms gap:
# losses reported, bounded by the gap plus convergence.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

e2e_init test_cluster_mobility "VM moves between hosts: make-before-break loses nothing"
cluster_up "ovx ovx ovx" "blue:5001"

# Ten moves in seconds would be frozen by EVPN's default (5 in 180 s) as a
# MAC flapping between hosts; this test moves on purpose.
CLUSTER_MOBILITY="{freeze_moves: 100, freeze_window: 60}"
X=b1 Y=b3
XIP=$(topo_vm_ip $X)
cluster_vm_movable $X
for h in h1 h2 h3; do
	if [[ $h == h1 ]]; then f=$(cluster_vm_host_file h1 "${NIC_PORT[0]}"); else f=$(cluster_vm_host_file "$h"); fi
	cluster_agent_start "$h" "$f" || e2e_fail "agent on $h: $(tail -5 "$(ovx_agent_log "$h")")"
done
e2e_expect_ping $Y "$XIP" 5

move() { cluster_vm_move "$@" h3; }

e2e_step "make-before-break: 10 moves h1 <-> h2 under a 1 ms ping from h3"
topo_bg pings "$(topo_vm_ns $Y)" ping -i 0.001 -W 1 "$XIP"
sleep 0.5
from=h1
for n in $(seq 1 10); do
	to=$([[ $from == h1 ]] && echo h2 || echo h1)
	move "$n" "$from" "$to" mbb
	e2e_info "move $n: $from -> $to"
	from=$to
done
sleep 0.5
topo_bg_stop pings INT
summary=$(grep -E "packets transmitted" "$(topo_bg_out pings)")
e2e_info "$summary"
sent=$(awk '{print $1}' <<<"$summary") got=$(awk '{print $4}' <<<"$summary")
((sent > 1000)) || e2e_fail "only $sent pings sent"
((got == sent)) || e2e_fail "make-before-break lost $((sent - got)) of $sent pings"
moves=$("$OVX" --netns "$(topo_host_ns h3)" show --json >/dev/null; /usr/bin/python3 -c 'import json; print(json.load(open("/run/ovx/'"$(ovx_instance h3)"'/cluster.json"))["view"]["moves"])')
# A move between hosts that both keep the segment changes only the FDB:
# the agents write it as a delta, not as a whole apply.
deltas=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["deltas"])' \
	"/run/ovx/$(ovx_instance h3)/cluster.json")
((deltas >= 10)) || e2e_fail "h3 wrote $deltas of the moves as FDB deltas, want all 10"
e2e_ok "$sent pings, 0 lost; h3 counted $moves moves, wrote $deltas changes as FDB deltas"

e2e_step "break-before-make with a 50 ms gap: losses bounded"
topo_bg pings2 "$(topo_vm_ns $Y)" ping -i 0.001 -W 1 "$XIP"
sleep 0.5
n=11
to=$([[ $from == h1 ]] && echo h2 || echo h1)
t0=$(date +%s%N)
move "$n" "$from" "$to" bbm
t1=$(date +%s%N)
sleep 0.5
topo_bg_stop pings2 INT
summary=$(grep -E "packets transmitted" "$(topo_bg_out pings2)")
sent=$(awk '{print $1}' <<<"$summary") got=$(awk '{print $4}' <<<"$summary")
lost=$((sent - got)) window_ms=$(((t1 - t0) / 1000000))
e2e_info "$summary"
((lost <= window_ms + 20)) || e2e_fail "break-before-make lost $lost pings in a ${window_ms} ms move"
e2e_ok "lost $lost pings (1 ms apart) in a move that took ${window_ms} ms (gap 50 ms + convergence)"

e2e_pass
