#!/usr/bin/env bash
# Forwarding pointer (NVO3 VM mobility): a silent VM (no gratuitous ARP)
# moves break-before-make from h1 to h2 while the agent of h3, where its
# peer runs, is paused (SIGSTOP): h3 keeps sending the VM's frames to h1,
# which sends them on to h2 for cluster.mobility.forward_ms instead of
# dropping them (split horizon). Every ping arrives, h1's `forwarded`
# counter rises by exactly the frames sent on (none twice: no loop), h2
# sends none on; once the pointer lapses h1 drops them again, and h3's
# agent, resumed, converges on h2. Hosts joining a segment are written as
# deltas on the hosts already in it. `ovx fdb show` shows the pointer while it
# lives, and it leaves h1's maps when it lapses (the agents' timer is 30 s:
# the lapse itself wakes h1's agent).
# FORWARD_MS=0 runs the same moves with pointers off (the test then fails:
# what a cluster without pointers loses).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

FORWARD_MS=${FORWARD_MS:-4000}
# TOPO_XDP_MODE=tc (test_cluster_forward_tc.sh): the same with TC alone.
e2e_init "test_cluster_forward${TOPO_XDP_MODE:+_$TOPO_XDP_MODE}" \
	"a silent VM that moves is reached through the old host (mode ${TOPO_XDP_MODE:-native})"
cluster_up "ovx ovx ovx" "blue:5001"
CLUSTER_INTERVAL=30

CLUSTER_MOBILITY="{forward_ms: $FORWARD_MS}"
# h3's agent stays paused longer than a short lease would live.
TTL=30
X=b1 Y=b3
XNS=$(topo_vm_ns $X) XMAC=$(topo_vm_mac $X) XIP=$(topo_vm_ip $X)
YIP=$(topo_vm_ip $Y) YMAC=$(topo_vm_mac $Y)
SEG=$(topo_tenant_segment blue)
cluster_vm_movable $X
MOVE_TTL=$TTL

# host_file HOST [X's port on HOST]: HOST's file, its own VMs but X, and X's port.
host_file() { cluster_vm_host_file "$@"; }
for h in h1 h2 h3; do
	if [[ $h == h1 ]]; then f=$(host_file h1 "$(topo_vm_port $X)"); else f=$(host_file "$h"); fi
	cluster_agent_start "$h" "$f" || e2e_fail "agent on $h: $(tail -5 "$(ovx_agent_log "$h")")"
done
e2e_expect_ping $Y "$XIP" 5
mode=$("$OVX" --netns "$(topo_host_ns h1)" show --json | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["underlay"]["xdp_mode"])')
[[ $mode == "${TOPO_XDP_MODE:-native}" ]] || e2e_fail "h1 runs mode $mode, want ${TOPO_XDP_MODE:-native}"
# Agents started one by one: each newcomer's VTEP joins the segment on the
# hosts already running, written as a delta (no timer pass yet at 30 s).
for h in h1 h2; do
	read -r applies deltas < <(/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); print(j["applies"], j["deltas"])' "/run/ovx/$(ovx_instance $h)/cluster.json")
	((applies - deltas == 1)) ||
		e2e_fail "$h applied whole $((applies - deltas)) times, want once (its start): joins are deltas"
done
e2e_ok "h1 and h2 took in the hosts that joined after them as deltas"
# Silent: neither VM asks ARP again, nor announces itself.
topo_vm_exec $Y ip neigh replace "$XIP" lladdr "$XMAC" nud permanent dev eth0
ip -n "$XNS" neigh replace "$YIP" lladdr "$YMAC" nud permanent dev xbr

x_on() { [[ $(cluster_vm_vtep_on "$1") == "$(topo_host_addr "$2")" ]]; }
# x_owner_is HOST: etcd names HOST as X's owner.
x_owner_is() {
	cluster_ovx fdb show --segment "$SEG" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sys.exit(0 if any(e["mac"] == sys.argv[1] and e["node"] == sys.argv[2]
                  for e in json.load(sys.stdin)["fdb"]) else 1)' "$XMAC" "$1"
}

# x_pointer HOST: the seconds left on HOST's forwarding pointer for X, as
# `ovx fdb show` tells them; nothing (exit 1) when HOST has none.
x_pointer() {
	"$OVX" --netns "$(topo_host_ns "$1")" fdb show --json | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["fdb"]:
    if e["mac"] == sys.argv[1] and "forward_sec" in e:
        print(e["forward_sec"], e["vtep"])
        sys.exit(0)
sys.exit(1)' "$XMAC"
}

e2e_step "h3's agent paused; X moves h1 -> h2, break-before-make, silently"
H3_AGENT=$(ovx_agent_pid h3)
[[ -n $H3_AGENT ]] || e2e_fail "no agent pid on h3"
resume_h3() { kill -CONT "$H3_AGENT" 2>/dev/null; return 0; }
# First of the cleanup hooks: a stopped agent would never see the TERM that stops it.
TOPO_CLEANUP_HOOKS=(resume_h3 "${TOPO_CLEANUP_HOOKS[@]}")
kill -STOP "$H3_AGENT"
cluster_vm_unplug 0
host_file h1 >/dev/null
sleep 0.05
cluster_vm_plug 1 h2
host_file h2 vmx1 >/dev/null
cluster_wait "etcd names h2 as X's owner" x_owner_is h2
# h1's and h2's agents apply it (milliseconds; h1 keeps the segment for its pointer).
sleep 0.5
x_on h3 h1 || e2e_fail "h3 is not stale: it sends X to $(cluster_vm_vtep_on h3)"
e2e_ok "X bound on h2; h3 (paused) still sends X to h1"
read -r left to < <(x_pointer h1) || e2e_fail "h1's fdb show lists no forwarding pointer for X"
[[ $to == "$(topo_host_addr h2)" ]] || e2e_fail "h1's pointer for X leads to $to, not h2"
awk -v l="$left" -v h="$FORWARD_MS" 'BEGIN { exit !(l > 0 && l * 1000 < h) }' ||
	e2e_fail "h1's pointer for X has ${left}s left (hold ${FORWARD_MS} ms)"
e2e_ok "h1: ovx fdb show: X, forwarding pointer to h2, $(printf %.1f "$left")s left"

e2e_step "h3's frames for X reach X through h1's forwarding pointer"
# forwarded HOST: the counter, or "none" when HOST has no such segment
# (without pointers h1 drops the segment with its last port).
forwarded() { ovx_stat "$1" "$SEG" forwarded 2>/dev/null || echo none; }
f1=$(forwarded h1) f2=$(forwarded h2)
out=$(topo_vm_exec $Y ping -n -q -c 10 -i 0.1 -W 1 "$XIP" 2>&1)
got=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out" | head -1)
g1=$(forwarded h1) g2=$(forwarded h2)
e2e_print_seg_stats h1 "$SEG"
e2e_print_seg_stats h2 "$SEG"
x_on h3 h1 || e2e_fail "h3 converged meanwhile: the pings prove nothing"
((${got:-0} >= 10)) || e2e_fail "Y -> X through the old host: ${got:-0}/10 replies (forward_ms $FORWARD_MS)"
[[ $f1$g1$f2$g2 =~ ^[0-9]+$ ]] || e2e_fail "forwarded counters unreadable: h1 $f1 -> $g1, h2 $f2 -> $g2"
((g1 - f1 == 10)) || e2e_fail "h1 forwarded +$((g1 - f1)), want +10 (one per echo request)"
((g2 == f2)) || e2e_fail "h2 forwarded +$((g2 - f2)), want 0 (a frame sent on twice: a loop)"
e2e_ok "10/10 replies; h1 forwarded +10, h2 +0"

e2e_step "the pointer lapses: h1 drops the stale frames again (split horizon)"
sleep $((FORWARD_MS / 1000 + 1))
e2e_expect_no_ping $Y "$XIP" 3
# Long before the agents' 30 s timer: the lapse itself converged h1.
! x_pointer h1 >/dev/null || e2e_fail "h1 still holds a lapsed forwarding pointer for X"
e2e_ok "the lapsed pointer left h1's maps"

e2e_step "h3's agent resumed: it converges on h2"
kill -CONT "$H3_AGENT"
cluster_wait "h3 sends X to h2" x_on h3 h2
e2e_expect_ping $Y "$XIP" 5
e2e_pass
