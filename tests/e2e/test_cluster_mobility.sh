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
# A monitor on h3 before its agent hears the cluster agent start and apply.
H3_NS=$(topo_host_ns h3) H3_INSTANCE=$(ovx_instance h3)
MON_OUT="$TOPO_DIR/monitor-h3.json"
"$OVX" --netns "$H3_NS" --instance "$H3_INSTANCE" monitor --json agent apply \
	>"$MON_OUT" 2>"$TOPO_DIR/monitor-h3.err" </dev/null &
MON_PID=$!
TOPO_PIDS+=("$MON_PID")
stop_monitor() { [[ -n ${MON_PID:-} ]] && kill -INT "$MON_PID" 2>/dev/null && wait "$MON_PID" 2>/dev/null; MON_PID=; return 0; }
TOPO_CLEANUP_HOOKS=(stop_monitor "${TOPO_CLEANUP_HOOKS[@]}")
for _ in $(seq 50); do
	compgen -G "/run/ovx/$H3_INSTANCE/monitors/*.sock" >/dev/null && break
	sleep 0.1
done
compgen -G "/run/ovx/$H3_INSTANCE/monitors/*.sock" >/dev/null ||
	e2e_fail "the monitor on h3 does not listen: $(cat "$TOPO_DIR/monitor-h3.err")"
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

e2e_step "ovx monitor on h3 heard its cluster agent start and apply each move"
stop_monitor
events=$(/usr/bin/python3 - "$MON_OUT" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
starts = [e for e in ev if e["event"] == "agent-start" and e.get("mode") == "cluster"]
applies = [e for e in ev if e["event"] == "apply" and e.get("by") == "agent --cluster"]
errors = [e for e in applies if "error" in e]
print(len(starts), len(applies), len(errors))
PY
) || e2e_fail "monitor output is not JSON lines: $(head -3 "$MON_OUT")"
read -r starts applies errors <<<"$events"
((starts == 1)) || e2e_fail "monitor saw $starts cluster agent starts, want 1: $(cat "$MON_OUT")"
((applies >= 10)) || e2e_fail "monitor saw $applies cluster agent applies, want one per move (10)"
((errors == 0)) || e2e_fail "monitor saw $errors failed applies"
e2e_ok "1 agent-start (mode cluster), $applies applies by the cluster agent, none failed"

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
